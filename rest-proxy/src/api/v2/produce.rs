//! v2 produce: `POST /topics/{t}` and `POST /topics/{t}/partitions/{p}`,
//! embedded format from the `Content-Type`.
//!
//! Schema-based formats (`avro`, `jsonschema`, `protobuf`) take
//! `key_schema`/`value_schema` (registered under `{topic}-key`/`-value`) or
//! `key_schema_id`/`value_schema_id`; the answer names the ids used.
//!
//! Every record is handed to the producer in request order, then the answer
//! waits for all of them: one `offsets` entry per record, with its
//! partition and offset, or an `error_code` and `error`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::topics::{partition_id, produce_topic};
use super::{body_format, Format};
use crate::api::{v2_json, AppState, JsonBody};
use crate::error::{Error, Result};
use crate::produce::{enqueue, Record};
use crate::schemas::{subject, Resolved};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/topics/{topic}", post(produce_to_topic))
        .route(
            "/topics/{topic}/partitions/{partition}",
            post(produce_to_partition),
        )
}

#[derive(Deserialize)]
pub struct ProduceRequest {
    #[serde(default)]
    pub records: Vec<ProduceRecord>,
    #[serde(default)]
    pub key_schema: Option<Value>,
    #[serde(default)]
    pub key_schema_id: Option<i32>,
    #[serde(default)]
    pub value_schema: Option<Value>,
    #[serde(default)]
    pub value_schema_id: Option<i32>,
}

#[derive(Deserialize)]
pub struct ProduceRecord {
    #[serde(default)]
    pub key: Option<Value>,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub partition: Option<i32>,
}

#[derive(Serialize)]
struct PartitionOffset {
    partition: Option<i32>,
    offset: Option<i64>,
    error_code: Option<i32>,
    error: Option<String>,
}

#[derive(Serialize)]
struct ProduceResponse {
    key_schema_id: Option<i32>,
    value_schema_id: Option<i32>,
    offsets: Vec<PartitionOffset>,
}

async fn produce_to_topic(
    State(proxy): State<AppState>,
    Path(topic): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ProduceRequest>,
) -> Result<Response> {
    let format = body_format(&headers, Format::Binary)?;
    produce_topic(&proxy, &topic).await?;
    produce(&proxy, &topic, None, format, body).await
}

async fn produce_to_partition(
    State(proxy): State<AppState>,
    Path((topic, partition)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ProduceRequest>,
) -> Result<Response> {
    let format = body_format(&headers, Format::Binary)?;
    let meta = produce_topic(&proxy, &topic).await?;
    let id = partition_id(&meta, &partition)?;
    produce(&proxy, &topic, Some(id), format, body).await
}

/// Serialize one key or value in an embedded format (`schema` for the schema-based ones).
pub fn serialize(
    proxy: &AppState,
    format: Format,
    schema: Option<&Resolved>,
    data: Option<Value>,
    what: &str,
) -> Result<Option<Vec<u8>>> {
    let data = match data {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    match format {
        Format::Binary => match data {
            Value::String(s) => base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map(Some)
                .map_err(|e| Error::Unprocessable(format!("{what} is not valid base64: {e}"))),
            _ => Err(Error::Unprocessable(format!(
                "{what} must be a base64 string in the binary format"
            ))),
        },
        Format::Json => serde_json::to_vec(&data)
            .map(Some)
            .map_err(|e| Error::Internal(e.to_string())),
        Format::Avro | Format::JsonSchema | Format::Protobuf => {
            let schema = schema.ok_or_else(|| Error::Internal(format!("{what}: no schema")))?;
            match proxy.schemas.serialize(schema, &data) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(Error::InvalidSchema(m)) => Err(Error::InvalidSchema(format!("{what}: {m}"))),
                Err(e) => Err(e),
            }
        }
    }
}

/// The key or value schema of a schema-based produce: by id, or registered
/// under the topic's subject; `missing` when records need one and none is given.
async fn request_schema(
    proxy: &AppState,
    topic: &str,
    format: Format,
    is_key: bool,
    id: Option<i32>,
    text: Option<Value>,
    needed: bool,
) -> Result<Option<Resolved>> {
    let Some(t) = format.schema_type() else {
        return Ok(None);
    };
    let subject = subject(topic, is_key);
    if let Some(id) = id {
        // v2 takes any registered id of the format's type, whatever its subjects.
        return proxy.schemas.by_id(id, Some(t)).await.map(Some);
    }
    match text {
        Some(Value::Null) | None if needed => Err(if is_key {
            Error::KeySchemaMissing
        } else {
            Error::ValueSchemaMissing
        }),
        Some(Value::Null) | None => Ok(None),
        Some(Value::String(text)) => proxy.schemas.register(&subject, t, &text).await.map(Some),
        Some(other) => proxy
            .schemas
            .register(&subject, t, &other.to_string())
            .await
            .map(Some),
    }
}

async fn produce(
    proxy: &AppState,
    topic: &str,
    partition: Option<i32>,
    format: Format,
    body: Option<ProduceRequest>,
) -> Result<Response> {
    let body = body.ok_or_else(|| Error::Unprocessable("records may not be empty".into()))?;
    if body.records.is_empty() {
        return Err(Error::Unprocessable("records may not be empty".into()));
    }
    let has = |v: &Option<Value>| v.as_ref().is_some_and(|v| !v.is_null());
    let key_schema = request_schema(
        proxy,
        topic,
        format,
        true,
        body.key_schema_id,
        body.key_schema,
        body.records.iter().any(|r| has(&r.key)),
    )
    .await?;
    let value_schema = request_schema(
        proxy,
        topic,
        format,
        false,
        body.value_schema_id,
        body.value_schema,
        body.records.iter().any(|r| has(&r.value)),
    )
    .await?;
    // Convert everything first: a bad record fails the request before anything is sent.
    let mut records = Vec::with_capacity(body.records.len());
    for (i, r) in body.records.into_iter().enumerate() {
        records.push(Record {
            partition: partition.or(r.partition),
            key: serialize(
                proxy,
                format,
                key_schema.as_ref(),
                r.key,
                &format!("records[{i}].key"),
            )?,
            value: serialize(
                proxy,
                format,
                value_schema.as_ref(),
                r.value,
                &format!("records[{i}].value"),
            )?,
            headers: Vec::new(),
            timestamp: None,
        });
    }
    let mut pending = Vec::with_capacity(records.len());
    for r in &records {
        pending.push(enqueue(&proxy.kafka.producer, topic, r, proxy.kafka.timeout).await);
    }
    let mut offsets = Vec::with_capacity(pending.len());
    let (mut ok, mut failed) = (0u64, 0u64);
    for p in pending {
        let result = match p {
            Ok(fut) => fut.await,
            Err(e) => Err(e),
        };
        offsets.push(match result {
            Ok(d) => {
                ok += 1;
                PartitionOffset {
                    partition: Some(d.partition),
                    offset: Some(d.offset),
                    error_code: None,
                    error: None,
                }
            }
            Err(e) => {
                failed += 1;
                PartitionOffset {
                    partition: None,
                    offset: None,
                    error_code: Some(e.status_and_code().1),
                    error: Some(e.to_string()),
                }
            }
        });
    }
    proxy.metrics.produced(false, ok);
    proxy.metrics.produce_errors(failed);
    Ok(v2_json(
        StatusCode::OK,
        &ProduceResponse {
            key_schema_id: key_schema.map(|s| s.id),
            value_schema_id: value_schema.map(|s| s.id),
            offsets,
        },
    ))
}
