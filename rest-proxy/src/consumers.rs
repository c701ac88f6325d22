//! v2 consumer instances: one librdkafka consumer per instance, named
//! within its group, closed when deleted or idle for
//! `consumer.instance.timeout.ms`.
//!
//! An instance's operations run one at a time (a per-instance lock); the
//! blocking librdkafka calls run on tokio's blocking pool. Records polled
//! but not yet handed out (a `records` read stopped at `max_bytes`) wait in
//! the instance's buffer for the next read. "Commit all" commits the offsets
//! after the records the instance returned — with `auto.commit.enable`,
//! librdkafka commits those same offsets on its interval.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};

use crate::api::v2::Format;
use crate::error::{Error, Result};
use crate::kafka::{blocking, Kafka};
use crate::ProxyConfig;

/// The settings of `POST /consumers/{group}`.
#[derive(Clone, Debug)]
pub struct InstanceConfig {
    pub name: Option<String>,
    pub format: Format,
    pub auto_offset_reset: Option<String>,
    pub auto_commit: Option<bool>,
    pub fetch_min_bytes: Option<i64>,
    pub request_timeout: Option<Duration>,
}

/// How an instance reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscription {
    None,
    Topics(Vec<String>),
    Pattern(String),
    Assigned,
}

struct State {
    buffer: VecDeque<OwnedMessage>,
    /// Next offset to commit per partition: after the last record returned.
    consumed: BTreeMap<(String, i32), i64>,
    subscription: Subscription,
}

/// One consumer instance.
pub struct Instance {
    pub group: String,
    pub name: String,
    pub format: Format,
    pub fetch_min_bytes: Option<i64>,
    pub request_timeout: Duration,
    auto_commit: bool,
    consumer: Arc<BaseConsumer>,
    state: tokio::sync::Mutex<State>,
    last_used: Mutex<Instant>,
    timeout: Duration,
}

/// An offset to commit: topic, partition, offset of the last record
/// processed, metadata.
pub type CommitOffset = (String, i32, i64, Option<String>);

/// A record handed out by `records`.
pub struct ConsumedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

fn tp_list(parts: &[(String, i32)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (t, p) in parts {
        tpl.add_partition(t, *p);
    }
    tpl
}

fn record_size(m: &OwnedMessage) -> u64 {
    (m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len)) as u64
}

impl Instance {
    fn touch(&self) {
        *self.last_used.lock() = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_used.lock().elapsed()
    }

    /// Subscribe to topics, or to a pattern (a Java regex matching whole names).
    pub async fn subscribe(&self, sub: Subscription) -> Result<()> {
        self.touch();
        let mut state = self.state.lock().await;
        if state.subscription == Subscription::Assigned {
            return Err(Error::IllegalState(
                "Subscription to topics, partitions and pattern are mutually exclusive".into(),
            ));
        }
        let consumer = self.consumer.clone();
        let names: Vec<String> = match &sub {
            Subscription::Topics(t) => t.clone(),
            Subscription::Pattern(p) => vec![format!("^({p})$")],
            _ => Vec::new(),
        };
        let empty = names.is_empty();
        blocking(move || {
            if empty {
                consumer.unsubscribe();
                return Ok(());
            }
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            consumer.subscribe(&refs).map_err(Error::from)
        })
        .await?;
        state.buffer.clear();
        state.subscription = if empty { Subscription::None } else { sub };
        Ok(())
    }

    pub async fn subscription(&self) -> Subscription {
        self.touch();
        self.state.lock().await.subscription.clone()
    }

    pub async fn unsubscribe(&self) -> Result<()> {
        self.touch();
        let mut state = self.state.lock().await;
        let consumer = self.consumer.clone();
        blocking(move || {
            consumer.unsubscribe();
            Ok(())
        })
        .await?;
        state.buffer.clear();
        state.subscription = Subscription::None;
        Ok(())
    }

    /// Manual assignment (`POST assignments`).
    pub async fn assign(&self, parts: Vec<(String, i32)>) -> Result<()> {
        self.touch();
        let mut state = self.state.lock().await;
        if matches!(
            state.subscription,
            Subscription::Topics(_) | Subscription::Pattern(_)
        ) {
            return Err(Error::IllegalState(
                "Subscription to topics, partitions and pattern are mutually exclusive".into(),
            ));
        }
        let consumer = self.consumer.clone();
        let empty = parts.is_empty();
        blocking(move || consumer.assign(&tp_list(&parts)).map_err(Error::from)).await?;
        state.buffer.clear();
        state.subscription = if empty {
            Subscription::None
        } else {
            Subscription::Assigned
        };
        Ok(())
    }

    /// The partitions assigned now.
    pub async fn assignment(&self) -> Result<Vec<(String, i32)>> {
        self.touch();
        let _state = self.state.lock().await;
        let consumer = self.consumer.clone();
        blocking(move || {
            let tpl = consumer.assignment().map_err(Error::from)?;
            Ok(tpl
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect())
        })
        .await
    }

    /// Seek each partition (which must be assigned) to an offset.
    pub async fn seek(&self, targets: Vec<(String, i32, Offset)>) -> Result<()> {
        self.touch();
        let mut state = self.state.lock().await;
        let consumer = self.consumer.clone();
        let timeout = self.timeout;
        let seeked: Vec<(String, i32)> = targets.iter().map(|(t, p, _)| (t.clone(), *p)).collect();
        blocking(move || {
            let assigned = consumer.assignment().map_err(Error::from)?;
            for (t, p, _) in &targets {
                if assigned.find_partition(t, *p).is_none() {
                    return Err(Error::IllegalState(format!(
                        "No current assignment for partition {t}-{p}"
                    )));
                }
            }
            for (t, p, o) in targets {
                consumer.seek(&t, p, o, timeout).map_err(Error::from)?;
            }
            Ok(())
        })
        .await?;
        state
            .buffer
            .retain(|m| !seeked.contains(&(m.topic().to_string(), m.partition())));
        Ok(())
    }

    /// Read records: until `max_bytes`, `fetch.min.bytes` reached with at
    /// least one record, at least one record when no `fetch.min.bytes` is
    /// set, or the timeout.
    pub async fn read(&self, timeout: Duration, max_bytes: u64) -> Result<Vec<ConsumedRecord>> {
        self.touch();
        let mut state = self.state.lock().await;
        let deadline = Instant::now() + timeout;
        let mut out: Vec<OwnedMessage> = Vec::new();
        let mut bytes = 0u64;
        loop {
            while let Some(m) = state.buffer.front() {
                let size = record_size(m);
                if !out.is_empty() && bytes + size > max_bytes {
                    break;
                }
                bytes += size;
                if let Some(m) = state.buffer.pop_front() {
                    out.push(m);
                }
            }
            let full = !state.buffer.is_empty() || bytes >= max_bytes;
            let enough = !out.is_empty()
                && match self.fetch_min_bytes {
                    Some(min) if min > 0 => bytes >= min as u64,
                    _ => true,
                };
            let now = Instant::now();
            if full || enough || now >= deadline {
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(200));
            let consumer = self.consumer.clone();
            let polled = blocking(move || {
                let mut got = Vec::new();
                match consumer.poll(wait) {
                    None => return Ok(got),
                    Some(r) => got.push(r.map_err(Error::from)?.detach()),
                }
                while got.len() < 1000 {
                    match consumer.poll(Duration::ZERO) {
                        None => break,
                        Some(r) => got.push(r.map_err(Error::from)?.detach()),
                    }
                }
                Ok(got)
            })
            .await;
            match polled {
                Ok(msgs) => state.buffer.extend(msgs),
                Err(e) if out.is_empty() => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "poll error after records; answering those");
                    break;
                }
            }
        }
        let mut latest: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let records: Vec<ConsumedRecord> = out
            .into_iter()
            .map(|m| {
                latest.insert((m.topic().to_string(), m.partition()), m.offset() + 1);
                ConsumedRecord {
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                }
            })
            .collect();
        if self.auto_commit && !latest.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for ((t, p), o) in &latest {
                let _ = tpl.add_partition_offset(t, *p, Offset::Offset(*o));
            }
            if let Err(e) = self.consumer.store_offsets(&tpl) {
                tracing::debug!(error = %e, "storing offsets for auto commit");
            }
        }
        state.consumed.extend(latest);
        self.touch();
        Ok(records)
    }

    /// Commit the given offsets (`offset` = the last record processed, as
    /// Confluent takes it: Kafka gets `offset + 1`), or, with `None`, the
    /// offsets after the records returned so far of the partitions assigned now.
    pub async fn commit(&self, offsets: Option<Vec<CommitOffset>>) -> Result<()> {
        self.touch();
        let state = self.state.lock().await;
        let mut tpl = TopicPartitionList::new();
        match offsets {
            Some(list) => {
                for (t, p, o, meta) in list {
                    tpl.add_partition_offset(&t, p, Offset::Offset(o + 1))
                        .map_err(Error::from)?;
                    if let (Some(m), Some(mut el)) = (meta, tpl.find_partition(&t, p)) {
                        el.set_metadata(m);
                    }
                }
            }
            None => {
                // As Java's commitSync(): only partitions assigned now.
                let consumer = self.consumer.clone();
                let assigned = blocking(move || consumer.assignment().map_err(Error::from)).await?;
                for ((t, p), o) in &state.consumed {
                    if assigned.find_partition(t, *p).is_some() {
                        tpl.add_partition_offset(t, *p, Offset::Offset(*o))
                            .map_err(Error::from)?;
                    }
                }
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let consumer = self.consumer.clone();
        blocking(move || consumer.commit(&tpl, CommitMode::Sync).map_err(Error::from)).await
    }

    /// Committed offsets (with metadata) of these partitions; partitions
    /// without one are left out.
    pub async fn committed(
        &self,
        parts: Vec<(String, i32)>,
    ) -> Result<Vec<(String, i32, i64, String)>> {
        self.touch();
        let _state = self.state.lock().await;
        let consumer = self.consumer.clone();
        let timeout = self.timeout;
        blocking(move || {
            let tpl = consumer
                .committed_offsets(tp_list(&parts), timeout)
                .map_err(Error::from)?;
            Ok(tpl
                .elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some((
                        e.topic().to_string(),
                        e.partition(),
                        o,
                        e.metadata().to_string(),
                    )),
                    _ => None,
                })
                .collect())
        })
        .await
    }

    async fn close(self: Arc<Self>) {
        let consumer = self.consumer.clone();
        drop(self);
        // Dropping the last handle closes the consumer (leaves the group): blocking.
        let _ = tokio::task::spawn_blocking(move || {
            consumer.unsubscribe();
            drop(consumer);
        })
        .await;
    }
}

/// Every live instance, by group and name.
pub struct ConsumerManager {
    instances: Mutex<HashMap<(String, String), Arc<Instance>>>,
    config: ProxyConfig,
}

impl ConsumerManager {
    pub fn new(config: &ProxyConfig) -> ConsumerManager {
        ConsumerManager {
            instances: Mutex::new(HashMap::new()),
            config: config.clone(),
        }
    }

    pub fn count(&self) -> usize {
        self.instances.lock().len()
    }

    /// Create an instance; 40902 when the name is taken in this group.
    pub async fn create(
        &self,
        kafka: &Kafka,
        group: &str,
        config: InstanceConfig,
    ) -> Result<Arc<Instance>> {
        let name = config.name.clone().unwrap_or_else(|| {
            let id = if self.config.id.is_empty() {
                String::new()
            } else {
                format!("{}-", self.config.id)
            };
            format!("rest-consumer-{id}{}", uuid::Uuid::new_v4())
        });
        if name.is_empty() {
            return Err(Error::InvalidConsumerConfig("name may not be empty".into()));
        }
        let key = (group.to_string(), name.clone());
        if self.instances.lock().contains_key(&key) {
            return Err(Error::ConsumerAlreadyExists);
        }
        let mut cc = kafka.base_config();
        cc.set("group.id", group)
            .set("client.id", format!("{}-{name}", "strom-rest-proxy"))
            .set("enable.auto.offset.store", "false")
            .set(
                "enable.auto.commit",
                if config.auto_commit.unwrap_or(true) {
                    "true"
                } else {
                    "false"
                },
            )
            .set("partition.assignment.strategy", "range");
        if let Some(reset) = &config.auto_offset_reset {
            let value = match reset.to_ascii_lowercase().as_str() {
                "earliest" | "smallest" => "earliest",
                "latest" | "largest" => "latest",
                "none" => "error",
                other => {
                    return Err(Error::InvalidConsumerConfig(format!(
                        "Invalid value {other} for configuration auto.offset.reset: String must be one of: latest, earliest, none"
                    )))
                }
            };
            cc.set("auto.offset.reset", value);
        }
        for (k, v) in self.config.client_props("consumer.") {
            cc.set(k, v);
        }
        let consumer: BaseConsumer = cc
            .create()
            .map_err(|e| Error::InvalidConsumerConfig(e.to_string()))?;
        let request_timeout = config
            .request_timeout
            .unwrap_or(self.config.consumer_request_timeout);
        let instance = Arc::new(Instance {
            group: group.to_string(),
            name: name.clone(),
            format: config.format,
            fetch_min_bytes: config.fetch_min_bytes,
            request_timeout,
            auto_commit: config.auto_commit.unwrap_or(true),
            consumer: Arc::new(consumer),
            state: tokio::sync::Mutex::new(State {
                buffer: VecDeque::new(),
                consumed: BTreeMap::new(),
                subscription: Subscription::None,
            }),
            last_used: Mutex::new(Instant::now()),
            timeout: kafka.timeout,
        });
        let mut map = self.instances.lock();
        if map.contains_key(&key) {
            return Err(Error::ConsumerAlreadyExists);
        }
        map.insert(key, instance.clone());
        Ok(instance)
    }

    /// The instance, or 40403.
    pub fn get(&self, group: &str, name: &str) -> Result<Arc<Instance>> {
        self.instances
            .lock()
            .get(&(group.to_string(), name.to_string()))
            .cloned()
            .ok_or(Error::ConsumerInstanceNotFound)
    }

    /// Remove and close an instance, or 40403.
    pub async fn delete(&self, group: &str, name: &str) -> Result<()> {
        let instance = self
            .instances
            .lock()
            .remove(&(group.to_string(), name.to_string()))
            .ok_or(Error::ConsumerInstanceNotFound)?;
        instance.close().await;
        Ok(())
    }

    /// Close instances idle for longer than `consumer.instance.timeout.ms`.
    pub async fn expire_idle(&self) {
        let timeout = self.config.consumer_instance_timeout;
        let expired: Vec<Arc<Instance>> = {
            let mut map = self.instances.lock();
            let keys: Vec<(String, String)> = map
                .iter()
                .filter(|(_, i)| i.idle_for() > timeout)
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter().filter_map(|k| map.remove(k)).collect()
        };
        for i in expired {
            tracing::info!(group = %i.group, instance = %i.name, "consumer instance expired");
            i.close().await;
        }
    }

    /// Close every instance (shutdown).
    pub async fn close_all(&self) {
        let all: Vec<Arc<Instance>> = self.instances.lock().drain().map(|(_, i)| i).collect();
        for i in all {
            i.close().await;
        }
    }
}
