//! FindCoordinator (v0–v6): this broker coordinates every group and every
//! transactional id. Before answering for a group, `__consumer_offsets` is
//! created if it does not exist yet (as Kafka does on first use).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::metadata::this_broker;
use super::{blocking, Ctx};
use crate::broker::ApiError;

/// Kafka's `CoordinatorType`.
const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;

pub async fn handle(ctx: &Ctx<'_>, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let version = ctx.version();
    let result = match req.key_type {
        GROUP => {
            let b = ctx.broker.clone();
            match blocking(move || b.groups.ensure_offsets_topic(&b)).await {
                Ok(r) => r,
                Err(e) => Err(e),
            }
        }
        TRANSACTION => Ok(()),
        other => Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!("Unknown coordinator type {other}"),
        )),
    };
    let (host, port) = this_broker(ctx.broker, ctx.listener);
    let node = BrokerId(ctx.broker.node_id);
    if version >= 4 {
        let coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let c = Coordinator::default().with_key(key);
                match &result {
                    Ok(()) => c
                        .with_node_id(node)
                        .with_host(StrBytes::from_string(host.clone()))
                        .with_port(port),
                    Err(e) => c
                        .with_node_id(BrokerId(-1))
                        .with_host(StrBytes::default())
                        .with_port(-1)
                        .with_error_code(e.code.code())
                        .with_error_message(e.message.clone().map(StrBytes::from_string)),
                }
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let resp = match &result {
        Ok(()) => FindCoordinatorResponse::default()
            .with_node_id(node)
            .with_host(StrBytes::from_string(host))
            .with_port(port),
        Err(e) => FindCoordinatorResponse::default()
            .with_node_id(BrokerId(-1))
            .with_host(StrBytes::default())
            .with_port(-1)
            .with_error_code(e.code.code()),
    };
    if version >= 1 {
        let message = result.err().and_then(|e| e.message);
        return resp.with_error_message(message.map(StrBytes::from_string));
    }
    resp
}
