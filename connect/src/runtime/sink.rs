//! Running a sink task: a consumer in group `connect-<name>` → converters →
//! transforms → `put`. Every `offset.flush.interval.ms` (and on stop) the
//! task flushes and the consumed offsets are committed to the group, so a
//! restart redelivers at most what came after the last commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;

use super::errors::{ErrorHandler, Original, Stage};
use super::{Converters, TaskId, TaskSpec, WorkerShared};
use crate::config::def::split_list;
use crate::connectors::SinkTask;
use crate::data::{ConnectRecord, Header, SinkRecord};
use crate::error::{Error, Result};
use crate::storage::config::TargetState;
use crate::storage::kafka::client_config;
use crate::storage::status::State;
use crate::transforms::TransformChain;

/// The most records one `put` receives (the consumer's `max.poll.records` default).
const MAX_BATCH: usize = 500;
/// How long to gather a batch.
const BATCH_WAIT: Duration = Duration::from_millis(100);

/// The consumer group of a sink connector.
pub fn group_id(connector: &str) -> String {
    format!("connect-{connector}")
}

/// A consumer subscription for a sink connector's `topics` / `topics.regex`.
pub fn subscription(config: &crate::config::Props) -> Vec<String> {
    let topics = split_list(config.get("topics").map(String::as_str).unwrap_or(""));
    if !topics.is_empty() {
        return topics;
    }
    match config
        .get("topics.regex")
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
    {
        // Java matches the whole topic name; librdkafka patterns start with ^.
        Some(r) => vec![format!("^({r})$")],
        None => Vec::new(),
    }
}

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
    let Some(mut task) = spec.plugin.sink_task() else {
        shared.fail_task(&id, &Error::Connect("not a sink connector".into()));
        return;
    };
    let props = spec.task_config.clone();
    let started = tokio::task::spawn_blocking(move || {
        let r = task.start(&props);
        (task, r)
    })
    .await;
    let task = match started {
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
    *runner.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    if *control.borrow() != TargetState::Paused {
        shared.put_task(&id, State::Running);
    }
    let outcome = runner.run_loop(&shared, &mut control).await;
    if outcome.is_ok() {
        if let Err(e) = runner.commit().await {
            tracing::warn!(connector = %id.0, task = id.1, error = %e, "final commit failed");
        }
    }
    let consumer = runner.consumer.clone();
    let task = runner.take_task().ok();
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(mut t) = task {
            t.stop();
        }
        consumer.unsubscribe();
        drop(consumer);
    })
    .await;
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
    consumer: Arc<StreamConsumer>,
    task: std::sync::Mutex<Option<Box<dyn SinkTask>>>,
    /// Next offset to commit, per (topic, partition).
    consumed: BTreeMap<(String, i32), i64>,
    committed: BTreeMap<(String, i32), i64>,
    last_commit: Instant,
    flush_interval: Duration,
    paused: bool,
}

impl Runner {
    fn take_task(&self) -> Result<Box<dyn SinkTask>> {
        self.task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| Error::Connect("task missing".into()))
    }

    fn put_back(&self, task: Box<dyn SinkTask>) {
        *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    async fn new(shared: &WorkerShared, spec: &TaskSpec) -> Result<Runner> {
        let converters = Converters::for_connector(&shared.config, &spec.connector_config)?;
        let transforms = TransformChain::from_config(&spec.connector_config)?;
        let errors = ErrorHandler::from_config(
            &shared.config,
            &spec.id.0,
            spec.id.1,
            &spec.connector_config,
            true,
        )
        .await?;
        let mut client = client_config(&shared.config, "consumer.");
        if client.get("auto.offset.reset").is_none() {
            client.set("auto.offset.reset", "earliest");
        }
        let consumer: StreamConsumer = client
            .set("group.id", group_id(&spec.id.0))
            .set(
                "client.id",
                format!("connector-consumer-{}-{}", spec.id.0, spec.id.1),
            )
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("partition.assignment.strategy", "range")
            .set("fetch.wait.max.ms", "100")
            .create()
            .map_err(|e| Error::Kafka(format!("creating the consumer: {e}")))?;
        let topics = subscription(&spec.connector_config);
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&refs)
            .map_err(|e| Error::Kafka(format!("subscribing to {topics:?}: {e}")))?;
        Ok(Runner {
            id: spec.id.clone(),
            converters,
            transforms,
            errors,
            consumer: Arc::new(consumer),
            task: std::sync::Mutex::new(None),
            consumed: BTreeMap::new(),
            committed: BTreeMap::new(),
            last_commit: Instant::now(),
            flush_interval: shared.config.offset_flush_interval,
            paused: false,
        })
    }

    fn set_paused(&mut self, shared: &WorkerShared, paused: bool) {
        if let Ok(assignment) = self.consumer.assignment() {
            let r = if paused {
                self.consumer.pause(&assignment)
            } else {
                self.consumer.resume(&assignment)
            };
            if let Err(e) = r {
                tracing::debug!(error = %e, "pausing/resuming partitions");
            }
        }
        if paused != self.paused {
            self.paused = paused;
            shared.put_task(
                &self.id,
                if paused {
                    State::Paused
                } else {
                    State::Running
                },
            );
        }
    }

    async fn run_loop(
        &mut self,
        shared: &WorkerShared,
        control: &mut watch::Receiver<TargetState>,
    ) -> Result<()> {
        loop {
            let target = *control.borrow_and_update();
            match target {
                TargetState::Stopped => return Ok(()),
                TargetState::Paused => self.set_paused(shared, true),
                TargetState::Started => {
                    if self.paused {
                        self.set_paused(shared, false);
                    }
                }
            }
            let mut batch: Vec<OwnedMessage> = Vec::new();
            let deadline = tokio::time::sleep(BATCH_WAIT);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    biased;
                    _ = control.changed() => break,
                    m = self.consumer.recv() => match m {
                        Ok(m) => {
                            batch.push(m.detach());
                            if batch.len() >= MAX_BATCH {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "consumer error");
                        }
                    },
                    _ = &mut deadline => break,
                }
            }
            if !batch.is_empty() {
                self.deliver(shared, batch, control).await?;
            }
            if self.last_commit.elapsed() >= self.flush_interval {
                self.commit().await?;
            }
        }
    }

    /// Convert a batch and put it to the task; a retriable failure puts the
    /// same records again after the task's backoff (until the connector
    /// stops). The batch's offsets count as consumed only once it is put.
    async fn deliver(
        &mut self,
        shared: &WorkerShared,
        batch: Vec<OwnedMessage>,
        control: &mut watch::Receiver<TargetState>,
    ) -> Result<()> {
        let mut records = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        for m in &batch {
            positions.push(((m.topic().to_string(), m.partition()), m.offset() + 1));
            if let Some(r) = self.convert(m).await? {
                shared
                    .statuses
                    .put_topic(&self.id.0, self.id.1, &r.original_topic);
                records.push(r);
            }
        }
        while !records.is_empty() {
            let task = self.take_task()?;
            let (task, back, result) = tokio::task::spawn_blocking(move || {
                let mut task = task;
                let r = task.put(&records);
                (task, records, r)
            })
            .await
            .map_err(|e| Error::Connect(e.to_string()))?;
            records = back;
            let backoff = task.retry_backoff();
            self.put_back(task);
            match result {
                Ok(()) => break,
                Err(Error::Retriable(e)) => {
                    tracing::warn!(connector = %self.id.0, task = self.id.1, error = %e, ?backoff,
                        "retriable failure; the records will be put again");
                    let sleep = tokio::time::sleep(backoff);
                    tokio::pin!(sleep);
                    loop {
                        tokio::select! {
                            _ = &mut sleep => break,
                            changed = control.changed() => {
                                if changed.is_err() || *control.borrow() == TargetState::Stopped {
                                    return Ok(());
                                }
                            }
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        self.consumed.extend(positions);
        Ok(())
    }

    /// Convert and transform one consumed message; `None` when it is dropped
    /// (filtered, or failed and tolerated).
    async fn convert(&self, m: &OwnedMessage) -> Result<Option<SinkRecord>> {
        let topic = m.topic();
        let raw_headers: Vec<(String, Option<Vec<u8>>)> = m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        let original = || Original {
            topic,
            partition: m.partition(),
            offset: m.offset(),
            key: m.key(),
            value: m.payload(),
            headers: raw_headers.clone(),
            timestamp: m.timestamp().to_millis(),
        };
        let (key_schema, key) = match self
            .errors
            .retrying(Stage::KeyConverter, || {
                self.converters.key.to_connect(topic, m.key())
            })
            .await
        {
            Ok(k) => k,
            Err(e) => {
                self.errors
                    .handle(
                        Stage::KeyConverter,
                        &self.converters.key_class,
                        e,
                        Some(original()),
                    )
                    .await?;
                return Ok(None);
            }
        };
        let (value_schema, value) = match self
            .errors
            .retrying(Stage::ValueConverter, || {
                self.converters.value.to_connect(topic, m.payload())
            })
            .await
        {
            Ok(v) => v,
            Err(e) => {
                self.errors
                    .handle(
                        Stage::ValueConverter,
                        &self.converters.value_class,
                        e,
                        Some(original()),
                    )
                    .await?;
                return Ok(None);
            }
        };
        let mut headers = Vec::with_capacity(raw_headers.len());
        for (k, v) in &raw_headers {
            match self
                .converters
                .header
                .header_to_connect(topic, k, v.as_deref())
            {
                Ok((schema, value)) => headers.push(Header {
                    key: k.clone(),
                    schema,
                    value,
                }),
                Err(e) => {
                    self.errors
                        .handle(
                            Stage::HeaderConverter,
                            &self.converters.header_class,
                            e,
                            Some(original()),
                        )
                        .await?;
                    return Ok(None);
                }
            }
        }
        let record = ConnectRecord {
            topic: topic.to_string(),
            kafka_partition: Some(m.partition()),
            key_schema,
            key,
            value_schema,
            value,
            timestamp: m.timestamp().to_millis(),
            headers,
        };
        match self.transforms.apply_sink(record, m.offset()) {
            Ok(Some(record)) => Ok(Some(SinkRecord {
                record,
                kafka_offset: m.offset(),
                original_partition: m.partition(),
                original_topic: topic.to_string(),
            })),
            Ok(None) => Ok(None),
            Err((class, e)) => {
                self.errors
                    .handle(Stage::Transformation, &class, e, Some(original()))
                    .await?;
                Ok(None)
            }
        }
    }

    /// Flush the task, then commit the consumed offsets of assigned partitions.
    async fn commit(&mut self) -> Result<()> {
        self.last_commit = Instant::now();
        if self.consumed == self.committed {
            return Ok(());
        }
        let offsets = self.consumed.clone();
        let mut task = self.take_task()?;
        let consumer = self.consumer.clone();
        let (task, result) = tokio::task::spawn_blocking(move || {
            let flushed = task.flush(&offsets);
            let committed = flushed.map(|()| {
                let assigned = consumer.assignment().unwrap_or_default();
                let mut tpl = TopicPartitionList::new();
                for ((t, p), o) in &offsets {
                    if assigned.find_partition(t, *p).is_some() {
                        let _ = tpl.add_partition_offset(t, *p, Offset::Offset(*o));
                    }
                }
                if tpl.count() > 0 {
                    if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
                        tracing::warn!(error = %e, "committing sink offsets failed; they will be retried");
                        return false;
                    }
                }
                true
            });
            (task, committed)
        })
        .await
        .map_err(|e| Error::Connect(e.to_string()))?;
        self.put_back(task);
        if result? {
            self.committed = self.consumed.clone();
        }
        Ok(())
    }
}
