//! InitProducerId: a fresh producer id (epoch 0) for an idempotent producer.
//! Producer ids come from blocks reserved in the metadata log, so an id is
//! never reused, even across restarts. Transactional producers (a
//! `transactional_id`) are refused with INVALID_REQUEST: transactions are not
//! built yet.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{blocking, Ctx};

pub async fn handle(ctx: &Ctx<'_>, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let fail = |code: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(code.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if req.transactional_id.is_some() {
        return fail(ResponseError::InvalidRequest);
    }
    let broker = ctx.broker.clone();
    match blocking(move || broker.allocate_producer_id()).await {
        Ok(Ok(id)) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Ok(Err(e)) | Err(e) => fail(e.code),
    }
}
