//! `POST /v3/clusters/{c}/topics/{t}/records`: one produce request per JSON
//! object of the body. A body may hold many objects one after another
//! (streamed produce, e.g. a chunked request): each is parsed as soon as it
//! has arrived, handed to the producer in order, and answered with one JSON
//! object per line, in request order — `error_code` 200 with partition and
//! offset, or an error code and message for that record alone.
//!
//! Key and value `type`: BINARY (base64), JSON, STRING; AVRO, JSONSCHEMA,
//! PROTOBUF with `schema_id`, `schema_version` or a raw `schema` (registered
//! under `subject`, default `{topic}-key`/`-value`); no type: the subject's
//! latest schema.

use std::pin::Pin;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use futures::{Future, StreamExt};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::check_cluster;
use super::topics::existing_topic;
use crate::api::{content_type, AppState};
use crate::error::{Error, Result};
use crate::produce::{enqueue, Delivered, Record};
use crate::schemas::subject;
use crate::time;
use strom_schema_registry::schema::SchemaType;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/v3/clusters/{cluster}/topics/{topic}/records",
        post(produce_records),
    )
}

#[derive(Deserialize)]
struct ProduceRequest {
    partition_id: Option<i32>,
    #[serde(default)]
    headers: Vec<ProduceHeader>,
    key: Option<ProduceData>,
    value: Option<ProduceData>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct ProduceHeader {
    name: String,
    value: Option<String>,
}

#[derive(Deserialize)]
struct ProduceData {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    data: Value,
    schema: Option<Value>,
    schema_id: Option<i32>,
    schema_version: Option<i32>,
    subject: Option<String>,
    subject_name_strategy: Option<String>,
}

/// What the answer says about a key or value.
#[derive(Clone)]
struct DataInfo {
    kind: &'static str,
    size: usize,
    subject: Option<String>,
    schema_id: Option<i32>,
    schema_version: Option<i32>,
}

impl DataInfo {
    fn plain(kind: &'static str, size: usize) -> DataInfo {
        DataInfo {
            kind,
            size,
            subject: None,
            schema_id: None,
            schema_version: None,
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        if let Some(s) = &self.subject {
            m.insert("subject".into(), json!(s));
        }
        if let Some(id) = self.schema_id {
            m.insert("schema_id".into(), json!(id));
        }
        if let Some(v) = self.schema_version {
            m.insert("schema_version".into(), json!(v));
        }
        m.insert("size".into(), json!(self.size));
        Value::Object(m)
    }
}

type Delivery = Pin<Box<dyn Future<Output = Result<Delivered>> + Send>>;

enum Pending {
    Sent {
        delivery: Delivery,
        key: Option<DataInfo>,
        value: Option<DataInfo>,
    },
    Failed(Error),
}

fn schema_type_name(t: SchemaType) -> &'static str {
    match t {
        SchemaType::Avro => "AVRO",
        SchemaType::Json => "JSONSCHEMA",
        SchemaType::Protobuf => "PROTOBUF",
    }
}

/// BINARY, JSON and STRING data need no schema.
fn serialize_plain(kind: &str, data: Value, what: &str) -> Result<(Option<Vec<u8>>, DataInfo)> {
    let (kind, bytes): (&'static str, Option<Vec<u8>>) = match kind {
        "BINARY" => (
            "BINARY",
            match data {
                Value::Null => None,
                Value::String(s) => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(s.as_bytes())
                        .map_err(|e| {
                            Error::BadRequest(format!("{what}: data is not valid base64: {e}"))
                        })?,
                ),
                _ => {
                    return Err(Error::BadRequest(format!(
                        "{what}: BINARY data must be a base64 string"
                    )))
                }
            },
        ),
        "JSON" => (
            "JSON",
            match data {
                Value::Null => None,
                v => Some(serde_json::to_vec(&v).map_err(|e| Error::Internal(e.to_string()))?),
            },
        ),
        _ => (
            "STRING",
            match data {
                Value::Null => None,
                Value::String(s) => Some(s.into_bytes()),
                _ => {
                    return Err(Error::BadRequest(format!(
                        "{what}: STRING data must be a string"
                    )))
                }
            },
        ),
    };
    let size = bytes.as_ref().map_or(0, Vec::len);
    Ok((bytes, DataInfo::plain(kind, size)))
}

/// Serialize a key or value: plain types directly; AVRO, JSONSCHEMA and
/// PROTOBUF (or no type: the subject's latest schema) through the registry.
async fn serialize(
    proxy: &AppState,
    topic: &str,
    is_key: bool,
    data: ProduceData,
    what: &str,
) -> Result<(Option<Vec<u8>>, DataInfo)> {
    let kind = data.kind.as_deref().map(str::to_ascii_uppercase);
    let expected = match kind.as_deref() {
        Some(k @ ("BINARY" | "JSON" | "STRING")) => return serialize_plain(k, data.data, what),
        Some("AVRO") => Some(SchemaType::Avro),
        Some("JSONSCHEMA") => Some(SchemaType::Json),
        Some("PROTOBUF") => Some(SchemaType::Protobuf),
        None => None,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "{what}: unsupported type {other}"
            )))
        }
    };
    if let Some(strategy) = &data.subject_name_strategy {
        if !strategy.eq_ignore_ascii_case("TOPIC_NAME") {
            return Err(Error::BadRequest(format!(
                "{what}: subject_name_strategy {strategy} is not supported"
            )));
        }
    }
    let subject = data
        .subject
        .clone()
        .unwrap_or_else(|| subject(topic, is_key));
    let schemas = &proxy.schemas;
    let resolved = if let Some(id) = data.schema_id {
        schemas.by_id_in(&subject, id, expected).await?
    } else if let Some(v) = data.schema_version {
        schemas.by_version(&subject, v, expected).await?
    } else if let Some(raw) = &data.schema {
        let t = expected.ok_or_else(|| {
            Error::BadRequest(format!("{what}: type is required with a raw schema"))
        })?;
        let text = match raw {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        schemas.register(&subject, t, &text).await?
    } else {
        schemas.latest(&subject, expected).await?
    };
    let bytes = match &data.data {
        Value::Null => None,
        v => Some(match schemas.serialize(&resolved, v) {
            Ok(b) => b,
            Err(Error::InvalidSchema(m)) => {
                return Err(Error::InvalidSchema(format!("{what}: {m}")))
            }
            Err(e) => return Err(e),
        }),
    };
    let info = DataInfo {
        kind: schema_type_name(resolved.schema.schema_type()),
        size: bytes.as_ref().map_or(0, Vec::len),
        subject: resolved.subject.clone(),
        schema_id: Some(resolved.id),
        schema_version: resolved.version,
    };
    Ok((bytes, info))
}

async fn to_record(
    proxy: &AppState,
    topic: &str,
    req: ProduceRequest,
) -> Result<(Record, Option<DataInfo>, Option<DataInfo>)> {
    let mut record = Record {
        partition: req.partition_id,
        ..Record::default()
    };
    let mut key_info = None;
    let mut value_info = None;
    if let Some(k) = req.key {
        let (bytes, info) = serialize(proxy, topic, true, k, "key").await?;
        record.key = bytes;
        key_info = Some(info);
    }
    if let Some(v) = req.value {
        let (bytes, info) = serialize(proxy, topic, false, v, "value").await?;
        record.value = bytes;
        value_info = Some(info);
    }
    for h in req.headers {
        let value = match h.value {
            None => None,
            Some(v) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(v.as_bytes())
                    .map_err(|e| {
                        Error::BadRequest(format!(
                            "header {}: value is not valid base64: {e}",
                            h.name
                        ))
                    })?,
            ),
        };
        record.headers.push((h.name, value));
    }
    if let Some(ts) = req.timestamp {
        record.timestamp = Some(time::parse_millis(&ts).ok_or_else(|| {
            Error::BadRequest(format!("timestamp: not an ISO-8601 instant: {ts}"))
        })?);
    }
    Ok((record, key_info, value_info))
}

async fn produce_records(
    State(proxy): State<AppState>,
    Path((cluster, topic)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    if content_type(&headers).as_deref() != Some("application/json") {
        return Err(Error::UnsupportedMediaType);
    }
    let cluster_id = check_cluster(&proxy, &cluster).await?;
    existing_topic(&proxy, &topic).await?;

    let (tx, rx) = mpsc::channel::<Pending>(1024);
    tokio::spawn(read_requests(proxy.clone(), topic.clone(), body, tx));

    let answer = futures::stream::unfold(
        (rx, proxy, cluster_id, topic),
        |(mut rx, proxy, cluster_id, topic)| async move {
            let pending = rx.recv().await?;
            let line = answer_line(&proxy, &cluster_id, &topic, pending).await;
            Some((
                Ok::<_, std::convert::Infallible>(line),
                (rx, proxy, cluster_id, topic),
            ))
        },
    );
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::api::V3_JSON),
        )],
        Body::from_stream(answer),
    )
        .into_response())
}

async fn answer_line(proxy: &AppState, cluster_id: &str, topic: &str, pending: Pending) -> Vec<u8> {
    let value = match pending {
        Pending::Failed(e) => {
            proxy.metrics.produce_errors(1);
            serde_json::to_value(e.body()).unwrap_or(Value::Null)
        }
        Pending::Sent {
            delivery,
            key,
            value,
        } => match delivery.await {
            Err(e) => {
                proxy.metrics.produce_errors(1);
                serde_json::to_value(e.body()).unwrap_or(Value::Null)
            }
            Ok(d) => {
                proxy.metrics.produced(true, 1);
                let mut m = Map::new();
                m.insert("error_code".into(), json!(200));
                m.insert("cluster_id".into(), json!(cluster_id));
                m.insert("topic_name".into(), json!(topic));
                m.insert("partition_id".into(), json!(d.partition));
                m.insert("offset".into(), json!(d.offset));
                if let Some(ts) = d.timestamp {
                    m.insert("timestamp".into(), json!(time::format_millis(ts)));
                }
                if let Some(k) = key {
                    m.insert("key".into(), k.to_json());
                }
                if let Some(v) = value {
                    m.insert("value".into(), v.to_json());
                }
                Value::Object(m)
            }
        },
    };
    let mut line = serde_json::to_vec(&value).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Read the body as it arrives, one JSON object after another, and hand each
/// record to the producer in order.
async fn read_requests(proxy: AppState, topic: String, body: Body, tx: mpsc::Sender<Pending>) {
    let max = proxy.config.max_request_bytes;
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let mut eof = false;
    loop {
        let mut consumed = 0;
        let mut fatal = None;
        let mut parsed = Vec::new();
        {
            let mut it = serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
            loop {
                match it.next() {
                    Some(Ok(v)) => {
                        consumed = it.byte_offset();
                        parsed.push(v);
                    }
                    Some(Err(e)) if e.is_eof() && !eof => break,
                    Some(Err(e)) => {
                        fatal = Some(Error::BadRequest(format!("Unexpected JSON input: {e}")));
                        break;
                    }
                    None => {
                        consumed = it.byte_offset();
                        break;
                    }
                }
            }
        }
        buf.drain(..consumed);
        for v in parsed {
            seen += 1;
            let request = serde_json::from_value::<ProduceRequest>(v)
                .map_err(|e| Error::BadRequest(format!("Invalid produce request: {e}")));
            let converted = match request {
                Ok(r) => to_record(&proxy, &topic, r).await,
                Err(e) => Err(e),
            };
            let pending = match converted {
                Err(e) => Pending::Failed(e),
                Ok((record, key, value)) => {
                    match enqueue(&proxy.kafka.producer, &topic, &record, proxy.kafka.timeout).await
                    {
                        Ok(delivery) => Pending::Sent {
                            delivery: Box::pin(delivery),
                            key,
                            value,
                        },
                        Err(e) => Pending::Failed(e),
                    }
                }
            };
            if tx.send(pending).await.is_err() {
                return; // the client went away
            }
        }
        if let Some(e) = fatal {
            let _ = tx.send(Pending::Failed(e)).await;
            return;
        }
        if eof {
            if seen == 0 {
                let _ = tx
                    .send(Pending::Failed(Error::BadRequest(
                        "Null input provided. Data is required.".into(),
                    )))
                    .await;
            }
            return;
        }
        if buf.len() > max {
            let _ = tx.send(Pending::Failed(Error::BodyTooLarge)).await;
            return;
        }
        match stream.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            Some(Err(e)) => {
                let _ = tx
                    .send(Pending::Failed(Error::BadRequest(format!(
                        "reading the request failed: {e}"
                    ))))
                    .await;
                return;
            }
            None => eof = true,
        }
    }
}
