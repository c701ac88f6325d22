//! Connect's error handling for record processing (`errors.tolerance`,
//! `errors.log.enable`, `errors.log.include.messages`, and for sinks the dead
//! letter queue `errors.deadletterqueue.topic.name` with optional
//! `__connect.errors.*` context headers).
//!
//! Failures in conversion and transformation are tolerated (the record is
//! skipped, logged and/or sent to the dead letter queue) with
//! `errors.tolerance=all`; with `none` they fail the task with
//! "Tolerance exceeded in error handler".

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::config::{Props, WorkerConfig};
use crate::error::{Error, Result};
use crate::storage::kafka::{client_config, ensure_topic};

/// Where in the pipeline an error happened (Connect's `Stage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    KafkaProduce,
    KafkaConsume,
    Task,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
            Stage::Task => "TASK_PUT",
        }
    }
}

/// The original record a failure concerns (sinks: as consumed).
pub struct Original<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The record's timestamp, kept on the dead letter queue copy.
    pub timestamp: Option<i64>,
}

struct DeadLetterQueue {
    producer: FutureProducer,
    topic: String,
    context_headers: bool,
}

/// A task's error handling.
pub struct ErrorHandler {
    connector: String,
    task: u32,
    /// `errors.retry.timeout`: `None` retries for ever (-1); zero never.
    retry_timeout: Option<Duration>,
    /// `errors.retry.delay.max.ms`.
    retry_delay_max: Duration,
    tolerate_all: bool,
    log: bool,
    log_messages: bool,
    dlq: Option<DeadLetterQueue>,
}

impl ErrorHandler {
    pub async fn from_config(
        worker: &WorkerConfig,
        connector: &str,
        task: u32,
        props: &Props,
        sink: bool,
    ) -> Result<Self> {
        let get = |k: &str| {
            props
                .get(k)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let flag = |k: &str| get(k).eq_ignore_ascii_case("true");
        let dlq_topic = get("errors.deadletterqueue.topic.name");
        let dlq = if sink && !dlq_topic.is_empty() {
            let rf: i32 = get("errors.deadletterqueue.topic.replication.factor")
                .parse()
                .unwrap_or(3);
            ensure_topic(worker, &dlq_topic, 1, rf, false).await?;
            let producer: FutureProducer = client_config(worker, "producer.")
                .set("acks", "all")
                .create()
                .map_err(|e| {
                    Error::Kafka(format!("creating the dead letter queue producer: {e}"))
                })?;
            Some(DeadLetterQueue {
                producer,
                topic: dlq_topic,
                context_headers: flag("errors.deadletterqueue.context.headers.enable"),
            })
        } else {
            None
        };
        let retry_ms: i64 = get("errors.retry.timeout").parse().unwrap_or(0);
        let delay_ms: u64 = get("errors.retry.delay.max.ms").parse().unwrap_or(60_000);
        Ok(ErrorHandler {
            connector: connector.to_string(),
            task,
            retry_timeout: (retry_ms >= 0).then(|| Duration::from_millis(retry_ms as u64)),
            retry_delay_max: Duration::from_millis(delay_ms),
            tolerate_all: get("errors.tolerance").eq_ignore_ascii_case("all"),
            log: flag("errors.log.enable"),
            log_messages: flag("errors.log.include.messages"),
            dlq,
        })
    }

    /// A handler that tolerates nothing (tests, and before a config is known).
    pub fn strict(connector: &str, task: u32) -> Self {
        ErrorHandler {
            connector: connector.to_string(),
            task,
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_secs(60),
            tolerate_all: false,
            log: false,
            log_messages: false,
            dlq: None,
        }
    }

    /// Run `op`, again while it fails with a retriable error and
    /// `errors.retry.timeout` allows (Connect's `RetryWithToleranceOperator`):
    /// waits of 300 ms doubling up to `errors.retry.delay.max.ms`, never past
    /// the timeout. The last error is returned for [`ErrorHandler::handle`].
    pub async fn retrying<T>(&self, stage: Stage, mut op: impl FnMut() -> Result<T>) -> Result<T> {
        let start = std::time::Instant::now();
        let mut delay = Duration::from_millis(300);
        loop {
            match op() {
                Err(Error::Retriable(e)) => {
                    let left = match self.retry_timeout {
                        None => Duration::MAX,
                        Some(t) => t.saturating_sub(start.elapsed()),
                    };
                    if left.is_zero() {
                        return Err(Error::Retriable(e));
                    }
                    let wait = delay.min(self.retry_delay_max).min(left);
                    tracing::warn!(connector = %self.connector, task = self.task, stage = stage.name(),
                        error = %e, ?wait, "retriable failure; trying again");
                    tokio::time::sleep(wait).await;
                    delay = delay.saturating_mul(2);
                }
                other => return other,
            }
        }
    }

    /// Handle a failed record. `Ok(())`: tolerated, skip the record.
    /// `Err`: the task must fail.
    pub async fn handle(
        &self,
        stage: Stage,
        class: &str,
        error: Error,
        original: Option<Original<'_>>,
    ) -> Result<()> {
        if self.log {
            match (&original, self.log_messages) {
                (Some(o), true) => tracing::error!(
                    connector = %self.connector, task = self.task, stage = stage.name(), class,
                    topic = o.topic, partition = o.partition, offset = o.offset,
                    key = ?o.key.map(String::from_utf8_lossy), value = ?o.value.map(String::from_utf8_lossy),
                    error = %error, "Error encountered in task"
                ),
                (Some(o), false) => tracing::error!(
                    connector = %self.connector, task = self.task, stage = stage.name(), class,
                    topic = o.topic, partition = o.partition, offset = o.offset,
                    error = %error, "Error encountered in task"
                ),
                (None, _) => tracing::error!(
                    connector = %self.connector, task = self.task, stage = stage.name(), class,
                    error = %error, "Error encountered in task"
                ),
            }
        }
        if !self.tolerate_all {
            return Err(Error::Connect(format!(
                "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\nCaused by: {}: {error}",
                exception_class(&error)
            )));
        }
        if let (Some(dlq), Some(o)) = (&self.dlq, original) {
            self.send_to_dlq(dlq, stage, class, &error, &o).await?;
        }
        Ok(())
    }

    async fn send_to_dlq(
        &self,
        dlq: &DeadLetterQueue,
        stage: Stage,
        class: &str,
        error: &Error,
        o: &Original<'_>,
    ) -> Result<()> {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &o.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        if dlq.context_headers {
            let exception = exception_class(error);
            let message = error.to_string();
            let trace = format!("{exception}: {message}");
            let pairs: Vec<(&str, String)> = vec![
                ("__connect.errors.topic", o.topic.to_string()),
                ("__connect.errors.partition", o.partition.to_string()),
                ("__connect.errors.offset", o.offset.to_string()),
                ("__connect.errors.connector.name", self.connector.clone()),
                ("__connect.errors.task.id", self.task.to_string()),
                ("__connect.errors.stage", stage.name().to_string()),
                ("__connect.errors.class.name", class.to_string()),
                (
                    "__connect.errors.exception.class.name",
                    exception.to_string(),
                ),
                ("__connect.errors.exception.message", message),
                ("__connect.errors.exception.stacktrace", trace),
            ];
            for (k, v) in &pairs {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&dlq.topic).headers(headers);
        if let Some(k) = o.key {
            record = record.key(k);
        }
        if let Some(v) = o.value {
            record = record.payload(v);
        }
        if let Some(ts) = o.timestamp {
            record = record.timestamp(ts);
        }
        dlq.producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
            .map_err(|(e, _)| {
                Error::Kafka(format!(
                    "writing to the dead letter queue {}: {e}",
                    dlq.topic
                ))
            })?;
        Ok(())
    }
}

/// The Java exception class Connect would report for an error.
pub fn exception_class(e: &Error) -> &'static str {
    match e {
        Error::Data(_) => "org.apache.kafka.connect.errors.DataException",
        Error::Config(_) => "org.apache.kafka.common.config.ConfigException",
        Error::Kafka(_) => "org.apache.kafka.common.KafkaException",
        _ => "org.apache.kafka.connect.errors.ConnectException",
    }
}

/// A failure trace for the status API: Java's first stack-trace line.
pub fn trace(e: &Error) -> String {
    let text = e.to_string();
    if text.starts_with("org.apache.kafka.") {
        text
    } else {
        format!("{}: {text}", exception_class(e))
    }
}
