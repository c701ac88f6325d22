//! Running a source task: poll → transforms → converters → producer.
//!
//! Offsets are at-least-once as in Connect: a poll's records are all
//! acknowledged by Kafka before their source offsets become committable, and
//! committable offsets are written every `offset.flush.interval.ms` and when
//! the task stops. A worker killed between two commits re-sends the records
//! after the last committed offset: duplicates are possible, loss is not.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value as Json;
use tokio::sync::watch;

use super::errors::{ErrorHandler, Stage};
use super::{wait_while_paused, Converters, TaskId, TaskSpec, WorkerShared};
use crate::connectors::SourceTask;
use crate::error::{Error, Result};
use crate::storage::config::TargetState;
use crate::storage::kafka::client_config;
use crate::storage::offsets::OffsetReader;
use crate::storage::status::State;
use crate::transforms::TransformChain;

/// How long an idle task waits before polling again.
const IDLE_POLL: Duration = Duration::from_millis(100);

pub async fn run(
    shared: Arc<WorkerShared>,
    spec: TaskSpec,
    mut control: watch::Receiver<TargetState>,
) {
    let id = spec.id.clone();
    let mut runner = match Runner::new(&shared, &spec).await {
        Ok(r) => r,
        Err(e) => {
            shared.fail_task(&id, &e);
            return;
        }
    };
    let task = spec.plugin.source_task();
    let Some(mut task) = task else {
        shared.fail_task(&id, &Error::Connect("not a source connector".into()));
        return;
    };
    let reader = OffsetReader::new(shared.offsets.clone(), &id.0);
    let props = spec.task_config.clone();
    let started = tokio::task::spawn_blocking(move || {
        let r = task.start(&props, reader);
        (task, r)
    })
    .await;
    let mut task = match started {
        Ok((task, Ok(()))) => task,
        Ok((_, Err(e))) => {
            shared.fail_task(&id, &e);
            return;
        }
        Err(e) => {
            shared.fail_task(&id, &Error::Connect(e.to_string()));
            return;
        }
    };
    if *control.borrow() != TargetState::Paused {
        shared.put_task(&id, State::Running);
    }
    let outcome = runner.run_loop(&shared, &mut task, &mut control).await;
    // Commit what was acknowledged, even when stopping after a failure elsewhere.
    if let Err(e) = runner.commit(&shared).await {
        tracing::warn!(connector = %id.0, task = id.1, error = %e, "committing offsets on stop failed");
    }
    let _ = tokio::task::spawn_blocking(move || task.stop()).await;
    match outcome {
        Ok(()) => shared.put_task_safe(&id, shared.status(State::Unassigned)),
        Err(e) => shared.fail_task(&id, &e),
    }
}

struct Runner {
    id: TaskId,
    converters: Converters,
    transforms: TransformChain,
    errors: ErrorHandler,
    producer: FutureProducer,
    /// Acknowledged but not yet committed: partition → offset.
    pending: BTreeMap<String, (Json, Json)>,
    last_commit: Instant,
    flush_interval: Duration,
}

impl Runner {
    async fn new(shared: &WorkerShared, spec: &TaskSpec) -> Result<Runner> {
        let converters = Converters::for_connector(&shared.config, &spec.connector_config)?;
        let transforms = TransformChain::from_config(&spec.connector_config)?;
        let errors = ErrorHandler::from_config(
            &shared.config,
            &spec.id.0,
            spec.id.1,
            &spec.connector_config,
            false,
        )
        .await?;
        let producer: FutureProducer = client_config(&shared.config, "producer.")
            .set(
                "client.id",
                format!("connector-producer-{}-{}", spec.id.0, spec.id.1),
            )
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("partitioner", "murmur2_random")
            .set("message.timeout.ms", "2147483647")
            .create()
            .map_err(|e| Error::Kafka(format!("creating the producer: {e}")))?;
        Ok(Runner {
            id: spec.id.clone(),
            converters,
            transforms,
            errors,
            producer,
            pending: BTreeMap::new(),
            last_commit: Instant::now(),
            flush_interval: shared.config.offset_flush_interval,
        })
    }

    async fn run_loop(
        &mut self,
        shared: &WorkerShared,
        task: &mut Box<dyn SourceTask>,
        control: &mut watch::Receiver<TargetState>,
    ) -> Result<()> {
        loop {
            if !wait_while_paused(shared, &self.id, control, |_| {}).await {
                return Ok(());
            }
            let mut owned = std::mem::replace(task, Box::new(NoTask));
            let (returned, polled) = tokio::task::spawn_blocking(move || {
                let r = owned.poll();
                (owned, r)
            })
            .await
            .map_err(|e| Error::Connect(e.to_string()))?;
            *task = returned;
            let records = match polled {
                Ok(records) => records,
                // Connect's RetriableException from poll: poll again later.
                Err(Error::Retriable(e)) => {
                    tracing::warn!(connector = %self.id.0, task = self.id.1, error = %e,
                        "retriable failure polling the task; polling again");
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            if records.is_empty() {
                if self.last_commit.elapsed() >= self.flush_interval {
                    self.commit(shared).await?;
                }
                tokio::select! {
                    _ = control.changed() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
                continue;
            }
            self.send(shared, records).await?;
            if self.last_commit.elapsed() >= self.flush_interval {
                self.commit(shared).await?;
            }
        }
    }

    /// Transform, convert and produce a poll's records; wait for their acknowledgements.
    async fn send(
        &mut self,
        shared: &WorkerShared,
        records: Vec<crate::data::SourceRecord>,
    ) -> Result<()> {
        let mut deliveries = Vec::with_capacity(records.len());
        let mut offsets = Vec::with_capacity(records.len());
        for r in records {
            offsets.push((
                Json::Object(r.source_partition.clone()),
                Json::Object(r.source_offset.clone()),
            ));
            let record = match self.transforms.apply(r.record) {
                Ok(Some(rec)) => rec,
                Ok(None) => continue,
                Err((class, e)) => {
                    self.errors
                        .handle(Stage::Transformation, &class, e, None)
                        .await?;
                    continue;
                }
            };
            let key = match self
                .errors
                .retrying(Stage::KeyConverter, || {
                    self.converters.key.to_bytes(
                        &record.topic,
                        record.key_schema.as_ref(),
                        &record.key,
                    )
                })
                .await
            {
                Ok(k) => k,
                Err(e) => {
                    self.errors
                        .handle(Stage::KeyConverter, &self.converters.key_class, e, None)
                        .await?;
                    continue;
                }
            };
            let value = match self
                .errors
                .retrying(Stage::ValueConverter, || {
                    self.converters.value.to_bytes(
                        &record.topic,
                        record.value_schema.as_ref(),
                        &record.value,
                    )
                })
                .await
            {
                Ok(v) => v,
                Err(e) => {
                    self.errors
                        .handle(Stage::ValueConverter, &self.converters.value_class, e, None)
                        .await?;
                    continue;
                }
            };
            let mut headers = OwnedHeaders::new();
            let mut header_failed = false;
            for h in &record.headers {
                match self.converters.header.header_to_bytes(
                    &record.topic,
                    &h.key,
                    h.schema.as_ref(),
                    &h.value,
                ) {
                    Ok(bytes) => {
                        headers = headers.insert(Header {
                            key: &h.key,
                            value: bytes.as_deref(),
                        });
                    }
                    Err(e) => {
                        self.errors
                            .handle(
                                Stage::HeaderConverter,
                                &self.converters.header_class,
                                e,
                                None,
                            )
                            .await?;
                        header_failed = true;
                        break;
                    }
                }
            }
            if header_failed {
                continue;
            }
            shared
                .statuses
                .put_topic(&self.id.0, self.id.1, &record.topic);
            let mut fr: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&record.topic).headers(headers);
            if let Some(k) = &key {
                fr = fr.key(k.as_slice());
            }
            if let Some(v) = &value {
                fr = fr.payload(v.as_slice());
            }
            if let Some(p) = record.kafka_partition {
                fr = fr.partition(p);
            }
            if let Some(ts) = record.timestamp {
                fr = fr.timestamp(ts);
            }
            let delivery = loop {
                match self.producer.send_result(fr) {
                    Ok(d) => break d,
                    Err((e, back))
                        if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) =>
                    {
                        fr = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => {
                        return Err(Error::Kafka(format!(
                            "Unrecoverable exception from producer send: {e}"
                        )))
                    }
                }
            };
            deliveries.push(delivery);
        }
        for d in futures::future::join_all(deliveries).await {
            match d {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    return Err(Error::Kafka(format!(
                        "Unrecoverable exception from producer send callback: {e}"
                    )))
                }
                Err(_) => return Err(Error::Kafka("the producer was closed".into())),
            }
        }
        for (p, o) in offsets {
            if p.as_object().is_some_and(|m| !m.is_empty()) {
                self.pending.insert(p.to_string(), (p, o));
            }
        }
        Ok(())
    }

    async fn commit(&mut self, shared: &WorkerShared) -> Result<()> {
        self.last_commit = Instant::now();
        if self.pending.is_empty() {
            return Ok(());
        }
        let entries: Vec<(Json, Option<Json>)> = std::mem::take(&mut self.pending)
            .into_values()
            .map(|(p, o)| (p, Some(o)))
            .collect();
        let timeout = shared
            .config
            .offset_flush_timeout
            .max(Duration::from_secs(5));
        match tokio::time::timeout(timeout, shared.offsets.put(&self.id.0, entries)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Connect("Timed out while committing offsets".into())),
        }
    }
}

/// Placeholder while the real task is on the blocking pool.
struct NoTask;

impl SourceTask for NoTask {
    fn start(&mut self, _: &crate::config::Props, _: OffsetReader) -> Result<()> {
        Ok(())
    }
    fn poll(&mut self) -> Result<Vec<crate::data::SourceRecord>> {
        Ok(Vec::new())
    }
    fn stop(&mut self) {}
}
