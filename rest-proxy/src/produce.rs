//! Producing one record through the shared idempotent producer: enqueue now
//! (in request order), learn the partition and offset later. v2 and v3
//! produce share this.

use std::future::Future;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::error::{Error, Result};

/// A record as a produce request gives it (already serialized).
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Milliseconds since the epoch; `None`: the producer's clock.
    pub timestamp: Option<i64>,
}

/// Where an acknowledged record went.
#[derive(Clone, Copy, Debug)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
}

/// Hand `record` to the producer; the returned future resolves when the
/// broker acknowledged it. Records enqueued one after another keep their
/// order per partition (the producer is idempotent).
pub async fn enqueue(
    producer: &FutureProducer,
    topic: &str,
    record: &Record,
    timeout: Duration,
) -> Result<impl Future<Output = Result<Delivered>> + Send + 'static> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut fr: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
        if let Some(k) = &record.key {
            fr = fr.key(k.as_slice());
        }
        if let Some(v) = &record.value {
            fr = fr.payload(v.as_slice());
        }
        if let Some(p) = record.partition {
            fr = fr.partition(p);
        }
        if let Some(ts) = record.timestamp {
            fr = fr.timestamp(ts);
        }
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (name, value) in &record.headers {
                headers = headers.insert(Header {
                    key: name,
                    value: value.as_deref(),
                });
            }
            fr = fr.headers(headers);
        }
        match producer.send_result(fr) {
            Ok(delivery) => {
                return Ok(async move {
                    match delivery.await {
                        Ok(Ok(d)) => Ok(Delivered {
                            partition: d.partition,
                            offset: d.offset,
                            timestamp: d.timestamp.to_millis(),
                        }),
                        Ok(Err((e, _))) => Err(Error::from(e)),
                        Err(_) => Err(Error::Internal("the producer went away".to_string())),
                    }
                });
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                if Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((e, _)) => return Err(Error::from(e)),
        }
    }
}
