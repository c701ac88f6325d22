//! A compacted topic used as a log of keyed records (distributed mode's
//! config, offsets and status topics): created if missing, written through
//! an idempotent producer, and read from the beginning by a reader task that
//! hands every record to the owning store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Props, WorkerConfig};
use crate::error::{Error, Result};

/// What the reader does with each record: (key, value or tombstone).
pub type Apply = Arc<dyn Fn(&[u8], Option<&[u8]>) + Send + Sync>;

/// Client settings for the worker's own clients.
pub fn client_config(config: &WorkerConfig, prefix: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in config.client_props(prefix) {
        c.set(k, v);
    }
    c
}

/// Create `topic` (compacted) unless it exists.
pub async fn ensure_topic(
    config: &WorkerConfig,
    topic: &str,
    partitions: i32,
    replication_factor: i32,
    compacted: bool,
) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(config, "admin.")
        .create()
        .map_err(|e| Error::Kafka(format!("creating the admin client: {e}")))?;
    let mut new_topic = NewTopic::new(
        topic,
        partitions.max(1),
        TopicReplication::Fixed(replication_factor),
    );
    if compacted {
        new_topic = new_topic.set("cleanup.policy", "compact");
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let mut result = admin.create_topics([&new_topic], &opts).await;
    if let Ok(r) = &result {
        // A replication factor above the broker count: retry with the broker's default.
        if r.iter()
            .any(|t| matches!(t, Err((_, RDKafkaErrorCode::InvalidReplicationFactor))))
        {
            let mut fallback = NewTopic::new(topic, partitions.max(1), TopicReplication::Fixed(-1));
            if compacted {
                fallback = fallback.set("cleanup.policy", "compact");
            }
            result = admin.create_topics([&fallback], &opts).await;
        }
    }
    match result {
        Ok(results) => {
            for r in results {
                match r {
                    Ok(_) => tracing::info!(%topic, "created topic"),
                    Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((t, code)) => {
                        return Err(Error::Kafka(format!("creating topic {t}: {code}")));
                    }
                }
            }
            Ok(())
        }
        Err(e) => Err(Error::Kafka(format!("creating topic {topic}: {e}"))),
    }
}

/// A topic read from the beginning into a store, and written through a producer.
pub struct KafkaLog {
    topic: String,
    producer: FutureProducer,
    consumer: Arc<StreamConsumer>,
    partitions: Vec<i32>,
    /// Next offset to read, per partition.
    positions: watch::Receiver<BTreeMap<i32, i64>>,
    stop: watch::Sender<bool>,
    reader: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl KafkaLog {
    /// Make sure the topic exists, start reading it, and read it to its end.
    pub async fn start(
        config: &WorkerConfig,
        topic: &str,
        partitions: i32,
        replication_factor: i32,
        apply: Apply,
    ) -> Result<Arc<KafkaLog>> {
        ensure_topic(config, topic, partitions, replication_factor, true).await?;
        let producer: FutureProducer = client_config(config, "producer.")
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "0")
            .set("partitioner", "murmur2_random")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(|e| Error::Kafka(format!("creating the producer: {e}")))?;
        let consumer: StreamConsumer = client_config(config, "consumer.")
            .set("group.id", format!("strom-connect-reader-{topic}"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "50")
            .set("allow.auto.create.topics", "false")
            .create()
            .map_err(|e| Error::Kafka(format!("creating the reader: {e}")))?;
        let consumer = Arc::new(consumer);
        let partition_ids = {
            let c = consumer.clone();
            let t = topic.to_string();
            tokio::task::spawn_blocking(move || -> Result<Vec<i32>> {
                let md = c
                    .fetch_metadata(Some(&t), Duration::from_secs(30))
                    .map_err(|e| Error::Kafka(format!("metadata of {t}: {e}")))?;
                Ok(md
                    .topics()
                    .iter()
                    .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                    .collect())
            })
            .await
            .map_err(|e| Error::Kafka(e.to_string()))??
        };
        if partition_ids.is_empty() {
            return Err(Error::Kafka(format!("topic {topic} has no partitions")));
        }
        let mut tpl = TopicPartitionList::new();
        for p in &partition_ids {
            tpl.add_partition_offset(topic, *p, Offset::Beginning)
                .map_err(|e| Error::Kafka(e.to_string()))?;
        }
        consumer
            .assign(&tpl)
            .map_err(|e| Error::Kafka(format!("assigning {topic}: {e}")))?;
        let (pos_tx, positions) = watch::channel(BTreeMap::new());
        let (stop, stop_rx) = watch::channel(false);
        let reader = tokio::spawn(read_loop(consumer.clone(), apply, pos_tx, stop_rx));
        let log = Arc::new(KafkaLog {
            topic: topic.to_string(),
            producer,
            consumer,
            partitions: partition_ids,
            positions,
            stop,
            reader: parking_lot::Mutex::new(Some(reader)),
        });
        log.read_to_end(Duration::from_secs(60)).await?;
        Ok(log)
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Append one record; returns (partition, offset) once acknowledged.
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64)> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        match self
            .producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
        {
            Ok(d) => Ok((d.partition, d.offset)),
            Err((e, _)) => Err(Error::Kafka(format!("writing to {}: {e}", self.topic))),
        }
    }

    /// Append and wait until the reader has applied the record.
    pub async fn send_and_read_back(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<()> {
        let (partition, offset) = self.send(key, value).await?;
        self.wait_for(partition, offset + 1, timeout).await
    }

    async fn wait_for(&self, partition: i32, next: i64, timeout: Duration) -> Result<()> {
        let mut rx = self.positions.clone();
        let waited = tokio::time::timeout(timeout, async move {
            rx.wait_for(|p| p.get(&partition).copied().unwrap_or(0) >= next)
                .await
                .map(|_| ())
        })
        .await;
        match waited {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::Kafka(format!("the {} reader stopped", self.topic))),
            Err(_) => Err(Error::Kafka(format!(
                "timed out reading {} to offset {next} of partition {partition}",
                self.topic
            ))),
        }
    }

    /// Wait until everything written to the topic so far has been applied.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<()> {
        let ends = {
            let c = self.consumer.clone();
            let topic = self.topic.clone();
            let parts = self.partitions.clone();
            tokio::task::spawn_blocking(move || -> Result<Vec<(i32, i64)>> {
                parts
                    .iter()
                    .map(|p| {
                        c.fetch_watermarks(&topic, *p, Duration::from_secs(10))
                            .map(|(_, high)| (*p, high))
                            .map_err(|e| Error::Kafka(format!("end offsets of {topic}: {e}")))
                    })
                    .collect()
            })
            .await
            .map_err(|e| Error::Kafka(e.to_string()))??
        };
        for (p, high) in ends {
            if high > 0 {
                self.wait_for(p, high, timeout).await?;
            }
        }
        Ok(())
    }

    /// The number of records applied so far (all partitions): Connect's "config offset".
    pub fn applied(&self) -> i64 {
        self.positions.borrow().values().sum()
    }

    pub async fn close(&self) {
        let _ = self.stop.send(true);
        let handle = self.reader.lock().take();
        if let Some(h) = handle {
            let _ = h.await;
        }
    }
}

async fn read_loop(
    consumer: Arc<StreamConsumer>,
    apply: Apply,
    positions: watch::Sender<BTreeMap<i32, i64>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let msg = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return,
            m = consumer.recv() => m,
        };
        match msg {
            Ok(m) => {
                if let Some(key) = m.key() {
                    apply(key, m.payload());
                }
                let (p, o) = (m.partition(), m.offset());
                positions.send_modify(|map| {
                    map.insert(p, o + 1);
                });
            }
            Err(e) => {
                tracing::debug!(error = %e, "reader error");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A JSON object's string properties (Connect's `{"properties": {...}}`).
pub fn props_from_json(v: &serde_json::Value) -> Props {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
