//! v2 consumer instances: `/consumers/{group}[/instances/{instance}/...]`
//! — create, delete, subscription, assignments, positions, records, offsets.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use base64::Engine;
use rdkafka::Offset;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{media_type_format, Format};
use crate::api::{content_type, no_content, v2_json, AppState, BaseUrl, JsonBody, Params};
use crate::consumers::{InstanceConfig, Subscription};
use crate::error::{Error, Result};

pub fn routes() -> Router<AppState> {
    let inst = "/consumers/{group}/instances/{instance}";
    Router::new()
        .route("/consumers/{group}", post(create))
        .route(inst, delete(delete_instance))
        .route(
            &format!("{inst}/subscription"),
            post(subscribe).get(subscription).delete(unsubscribe),
        )
        .route(
            &format!("{inst}/assignments"),
            post(assign).get(assignments),
        )
        .route(&format!("{inst}/positions"), post(seek))
        .route(&format!("{inst}/positions/beginning"), post(seek_beginning))
        .route(&format!("{inst}/positions/end"), post(seek_end))
        .route(&format!("{inst}/records"), get(records))
        .route(&format!("{inst}/offsets"), post(commit).get(committed))
}

/// Request bodies of the consumer API are v2 media types (any embedded format).
fn require_v2(headers: &HeaderMap) -> Result<()> {
    match content_type(headers) {
        Some(ct) if media_type_format(&ct).is_some() => Ok(()),
        _ => Err(Error::UnsupportedMediaType),
    }
}

fn string_setting(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn parse_config(body: Option<Value>) -> Result<InstanceConfig> {
    let body = body.unwrap_or_else(|| json!({}));
    if !body.is_object() {
        return Err(Error::Unprocessable(
            "the body must be a JSON object".into(),
        ));
    }
    let get = |k: &str| string_setting(body.get(k));
    let format = match get("format") {
        None => Format::Binary,
        Some(f) => match Format::parse(&f.to_ascii_lowercase()) {
            Some(f) => f,
            None => return Err(Error::InvalidConsumerConfig(format!("unknown format {f}"))),
        },
    };
    let auto_commit = match get("auto.commit.enable").as_deref() {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
        Some(v) => {
            return Err(Error::InvalidConsumerConfig(format!(
                "Invalid value {v} for configuration auto.commit.enable: Expected value to be either true or false"
            )))
        }
    };
    let number = |k: &str| -> Result<Option<i64>> {
        match get(k) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                Error::InvalidConsumerConfig(format!(
                    "Invalid value {v} for configuration {k}: Not a number of type LONG"
                ))
            }),
        }
    };
    let fetch_min_bytes = number("fetch.min.bytes")?;
    let request_timeout =
        number("consumer.request.timeout.ms")?.map(|ms| Duration::from_millis(ms.max(0) as u64));
    Ok(InstanceConfig {
        name: get("name").or_else(|| get("id")),
        format,
        auto_offset_reset: get("auto.offset.reset"),
        auto_commit,
        fetch_min_bytes,
        request_timeout,
    })
}

async fn create(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(group): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    require_v2(&headers)?;
    let config = parse_config(body)?;
    if config.format.schema_type().is_some() && !proxy.schemas.configured() {
        return Err(Error::InvalidConsumerConfig(format!(
            "the {} format needs a schema registry (schema.registry.url)",
            config.format.name()
        )));
    }
    let instance = proxy.consumers.create(&proxy.kafka, &group, config).await?;
    Ok(v2_json(
        StatusCode::OK,
        &json!({
            "instance_id": instance.name,
            "base_uri": format!("{base}/consumers/{group}/instances/{}", instance.name),
        }),
    ))
}

async fn delete_instance(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
) -> Result<Response> {
    proxy.consumers.delete(&group, &instance).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct SubscriptionRequest {
    #[serde(default)]
    topics: Option<Vec<String>>,
    #[serde(default)]
    topic_pattern: Option<String>,
}

async fn subscribe(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SubscriptionRequest>,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    require_v2(&headers)?;
    let body = body.ok_or_else(|| Error::Unprocessable("a subscription is required".into()))?;
    let sub = match (body.topics, body.topic_pattern) {
        (Some(_), Some(_)) => {
            return Err(Error::IllegalState(
                "Subscription to topics and to a topic pattern are mutually exclusive".into(),
            ))
        }
        (_, Some(p)) => {
            regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| Error::Unprocessable(format!("invalid topic_pattern: {e}")))?;
            Subscription::Pattern(p)
        }
        (Some(t), None) => Subscription::Topics(t),
        (None, None) => {
            return Err(Error::Unprocessable(
                "topics or topic_pattern is required".into(),
            ))
        }
    };
    i.subscribe(sub).await?;
    Ok(no_content())
}

async fn subscription(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    let topics: Vec<String> = match i.subscription().await {
        Subscription::Topics(t) => t,
        Subscription::Pattern(p) => {
            // As Java's consumer reports it: the topics the pattern matches now.
            let re = regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| Error::Internal(e.to_string()))?;
            let md = proxy.kafka.metadata(None).await?;
            md.topics
                .iter()
                .filter(|t| !t.is_internal() && re.is_match(&t.name))
                .map(|t| t.name.clone())
                .collect()
        }
        Subscription::None | Subscription::Assigned => Vec::new(),
    };
    Ok(v2_json(StatusCode::OK, &json!({ "topics": topics })))
}

async fn unsubscribe(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
) -> Result<Response> {
    proxy
        .consumers
        .get(&group, &instance)?
        .unsubscribe()
        .await?;
    Ok(no_content())
}

#[derive(Deserialize, Serialize)]
struct TopicPartition {
    topic: String,
    partition: i32,
}

#[derive(Deserialize)]
struct PartitionsRequest {
    #[serde(default)]
    partitions: Vec<TopicPartition>,
}

async fn assign(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PartitionsRequest>,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    require_v2(&headers)?;
    let body = body.ok_or_else(|| Error::Unprocessable("partitions are required".into()))?;
    i.assign(
        body.partitions
            .into_iter()
            .map(|tp| (tp.topic, tp.partition))
            .collect(),
    )
    .await?;
    Ok(no_content())
}

async fn assignments(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    let parts: Vec<TopicPartition> = i
        .assignment()
        .await?
        .into_iter()
        .map(|(topic, partition)| TopicPartition { topic, partition })
        .collect();
    Ok(v2_json(StatusCode::OK, &json!({ "partitions": parts })))
}

#[derive(Deserialize)]
struct SeekOffset {
    topic: String,
    partition: i32,
    offset: i64,
}

#[derive(Deserialize)]
struct SeekRequest {
    #[serde(default)]
    offsets: Vec<SeekOffset>,
}

async fn seek(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SeekRequest>,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    require_v2(&headers)?;
    let body = body.ok_or_else(|| Error::Unprocessable("offsets are required".into()))?;
    let mut targets = Vec::new();
    for o in body.offsets {
        if o.offset < 0 {
            return Err(Error::Unprocessable(format!(
                "invalid offset {} for {}-{}",
                o.offset, o.topic, o.partition
            )));
        }
        targets.push((o.topic, o.partition, Offset::Offset(o.offset)));
    }
    i.seek(targets).await?;
    Ok(no_content())
}

async fn seek_to(
    proxy: AppState,
    group: String,
    instance: String,
    headers: HeaderMap,
    body: Option<PartitionsRequest>,
    to: Offset,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    require_v2(&headers)?;
    let body = body.ok_or_else(|| Error::Unprocessable("partitions are required".into()))?;
    // Resolved now to a concrete offset (librdkafka resolves logical offsets
    // lazily, which could skip records produced right after this request).
    let mut targets = Vec::with_capacity(body.partitions.len());
    for tp in body.partitions {
        let (low, high) = proxy.kafka.watermarks(&tp.topic, tp.partition).await?;
        let offset = if to == Offset::Beginning { low } else { high };
        targets.push((tp.topic, tp.partition, Offset::Offset(offset)));
    }
    i.seek(targets).await?;
    Ok(no_content())
}

async fn seek_beginning(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PartitionsRequest>,
) -> Result<Response> {
    seek_to(proxy, group, instance, headers, body, Offset::Beginning).await
}

async fn seek_end(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PartitionsRequest>,
) -> Result<Response> {
    seek_to(proxy, group, instance, headers, body, Offset::End).await
}

/// The format a `records` request asks for (`Accept`), and the content
/// type to answer with. Without an embedded format, binary (as Confluent
/// picks its binary reader for `application/vnd.kafka.v2+json`).
fn accepted_format(headers: &HeaderMap) -> Result<(Format, &'static str)> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    let mut any = false;
    for part in accept.split(',') {
        let media = part.split(';').next().unwrap_or("").trim();
        if media == "*/*" || media == "application/*" || media.is_empty() {
            any = true;
            continue;
        }
        match media_type_format(media) {
            Some(Some(f)) => {
                let ct = f.media_type();
                return Ok((f, ct));
            }
            Some(None) => return Ok((Format::Binary, super::super::V2_JSON)),
            None => {}
        }
    }
    if any {
        Ok((Format::Binary, super::super::V2_JSON))
    } else {
        Err(Error::NotAcceptable)
    }
}

async fn deserialize(proxy: &AppState, format: Format, bytes: Option<Vec<u8>>) -> Result<Value> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    match format {
        Format::Binary => Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )),
        Format::Json => serde_json::from_slice(&bytes).map_err(|e| Error::Kafka {
            message: format!("Error deserializing a JSON record: {e}"),
            retriable: false,
        }),
        Format::Avro | Format::JsonSchema | Format::Protobuf => {
            let t = format.schema_type().ok_or(Error::ConsumerFormatMismatch)?;
            proxy.schemas.deserialize(&bytes, t).await
        }
    }
}

async fn records(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    let (format, ct) = accepted_format(&headers)?;
    if format != i.format {
        return Err(Error::ConsumerFormatMismatch);
    }
    let num = |k: &str| -> Result<i64> {
        match params.get(k) {
            None => Ok(-1),
            Some(v) => v
                .parse()
                .map_err(|_| Error::BadRequest(format!("{k}: not a number: {v}"))),
        }
    };
    let timeout_param = num("timeout")?;
    let max_bytes_param = num("max_bytes")?;
    let mut timeout = i.request_timeout;
    if timeout_param >= 0 {
        timeout = timeout.min(Duration::from_millis(timeout_param as u64));
    }
    let mut max_bytes = proxy.config.consumer_request_max_bytes;
    if max_bytes_param > 0 {
        max_bytes = max_bytes.min(max_bytes_param as u64);
    }
    let records = i.read(timeout, max_bytes).await?;
    proxy.metrics.consumed(records.len() as u64);
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        out.push(json!({
            "topic": r.topic,
            "key": deserialize(&proxy, format, r.key).await?,
            "value": deserialize(&proxy, format, r.value).await?,
            "partition": r.partition,
            "offset": r.offset,
        }));
    }
    let body = serde_json::to_vec(&out).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
struct CommitOffset {
    topic: String,
    partition: i32,
    offset: i64,
    #[serde(default)]
    metadata: Option<String>,
}

#[derive(Deserialize)]
struct CommitRequest {
    #[serde(default)]
    offsets: Option<Vec<CommitOffset>>,
}

async fn commit(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CommitRequest>,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    if body.is_some() {
        require_v2(&headers)?;
    }
    let offsets = body.and_then(|b| b.offsets).map(|list| {
        list.into_iter()
            .map(|o| (o.topic, o.partition, o.offset, o.metadata))
            .collect()
    });
    i.commit(offsets).await?;
    Ok(v2_json(StatusCode::OK, &json!([])))
}

async fn committed(
    State(proxy): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    JsonBody(body): JsonBody<PartitionsRequest>,
) -> Result<Response> {
    let i = proxy.consumers.get(&group, &instance)?;
    let body = body.ok_or(Error::PartitionNotFound)?;
    let parts = body
        .partitions
        .into_iter()
        .map(|tp| (tp.topic, tp.partition))
        .collect();
    let offsets: Vec<Value> = i
        .committed(parts)
        .await?
        .into_iter()
        .map(|(topic, partition, offset, metadata)| {
            json!({"topic": topic, "partition": partition, "offset": offset, "metadata": metadata})
        })
        .collect();
    Ok(v2_json(StatusCode::OK, &json!({ "offsets": offsets })))
}
