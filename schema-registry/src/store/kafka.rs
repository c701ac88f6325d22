//! The Kafka side of the store: the single-partition compacted `_schemas`
//! topic, a producer for writes, and a reader task that consumes the topic
//! from the beginning into the [`Image`].
//!
//! A write is acknowledged only once the reader has applied it: produce, note
//! the offset, wait until the reader is past it (`kafkastore.timeout.ms`, else
//! 50002). The end of the topic is found as Confluent finds it: write a NOOP
//! record and wait until it has been read back.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
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

use super::image::Image;
use super::records::{Key, Record};
use crate::config::RegistryConfig;
use crate::error::{Error, Result};

/// The `_schemas` topic: writer and reader.
pub struct KafkaStore {
    topic: String,
    producer: FutureProducer,
    /// The next offset the reader will apply (= last applied + 1).
    applied: watch::Receiver<i64>,
    stop: watch::Sender<bool>,
    reader: parking_lot::Mutex<Option<JoinHandle<()>>>,
    timeout: Duration,
}

impl KafkaStore {
    /// Make sure the topic exists (creating it compacted with one partition),
    /// start the reader, and read the topic to its end.
    pub async fn start(config: &RegistryConfig, image: Arc<RwLock<Image>>) -> Result<KafkaStore> {
        ensure_topic(config).await?;
        let producer: FutureProducer = client_config(config)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "0")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(|e| Error::Store(format!("creating the producer: {e}")))?;
        let consumer: StreamConsumer = client_config(config)
            .set("group.id", format!("{}-reader", config.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "50")
            .set("allow.auto.create.topics", "false")
            .create()
            .map_err(|e| Error::Store(format!("creating the reader: {e}")))?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&config.topic, 0, Offset::Beginning)
            .map_err(|e| Error::Store(e.to_string()))?;
        consumer
            .assign(&assignment)
            .map_err(|e| Error::Store(format!("assigning {}-0: {e}", config.topic)))?;

        let (applied_tx, applied) = watch::channel(0i64);
        let (stop, stop_rx) = watch::channel(false);
        let reader = tokio::spawn(read_loop(consumer, image, applied_tx, stop_rx));
        let store = KafkaStore {
            topic: config.topic.clone(),
            producer,
            applied,
            stop,
            reader: parking_lot::Mutex::new(Some(reader)),
            timeout: config.store_timeout,
        };
        // Read everything written so far before serving.
        match tokio::time::timeout(config.init_timeout, store.sync_with(config.init_timeout)).await
        {
            Ok(r) => r?,
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "reading {} to its end took longer than kafkastore.init.timeout.ms",
                    config.topic
                )))
            }
        }
        tracing::info!(topic = %config.topic, next_offset = *store.applied.borrow(), "read the schemas topic to its end");
        Ok(store)
    }

    /// Append records in order and wait until the reader has applied the last one.
    pub async fn put(&self, records: &[Record]) -> Result<()> {
        let mut last = None;
        for r in records {
            last = Some(self.produce(r, self.timeout).await?);
        }
        if let Some(offset) = last {
            self.wait_for(offset, self.timeout).await?;
        }
        Ok(())
    }

    /// Write a NOOP and wait until it has been read back: afterwards the image
    /// holds everything written to the topic before this call.
    pub async fn sync(&self) -> Result<()> {
        self.sync_with(self.timeout).await
    }

    async fn sync_with(&self, timeout: Duration) -> Result<()> {
        let offset = self.produce(&Record::tombstone(Key::Noop), timeout).await?;
        self.wait_for(offset, timeout).await
    }

    async fn produce(&self, record: &Record, timeout: Duration) -> Result<i64> {
        let key = record.key.to_bytes();
        let mut fr: FutureRecord<'_, Vec<u8>, Vec<u8>> =
            FutureRecord::to(&self.topic).partition(0).key(&key);
        if let Some(v) = &record.value {
            fr = fr.payload(v);
        }
        let sent =
            tokio::time::timeout(timeout, self.producer.send(fr, Timeout::After(timeout))).await;
        match sent {
            Err(_) => Err(Error::Timeout(format!(
                "Write to the Kafka store timed out while waiting for {timeout:?}"
            ))),
            Ok(Err((e, _))) => Err(Error::Store(format!(
                "Error while writing to the Kafka store: {e}"
            ))),
            Ok(Ok(delivery)) => Ok(delivery.offset),
        }
    }

    /// Wait until the reader has applied `offset`.
    async fn wait_for(&self, offset: i64, timeout: Duration) -> Result<()> {
        let mut rx = self.applied.clone();
        let waited = tokio::time::timeout(timeout, async {
            rx.wait_for(|next| *next > offset).await.map(|_| ())
        })
        .await;
        match waited {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::Store("the schemas topic reader stopped".to_string())),
            Err(_) => Err(Error::Timeout(format!(
                "Write to the Kafka store timed out while waiting for the reader to reach offset {offset}"
            ))),
        }
    }

    /// Stop the reader.
    pub async fn close(&self) {
        let _ = self.stop.send(true);
        let reader = self.reader.lock().take();
        if let Some(r) = reader {
            let _ = r.await;
        }
    }
}

fn client_config(config: &RegistryConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.bootstrap_servers)
        .set("client.id", "strom-schema-registry")
        .set("log_level", "4");
    c
}

async fn read_loop(
    consumer: StreamConsumer,
    image: Arc<RwLock<Image>>,
    applied: watch::Sender<i64>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let msg = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            m = consumer.recv() => m,
        };
        match msg {
            Ok(m) => {
                let offset = m.offset();
                if let Some(key) = m.key() {
                    image.write().apply(key, m.payload());
                } else {
                    tracing::warn!(offset, "skipping _schemas record without a key");
                }
                applied.send_replace(offset + 1);
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the schemas topic");
                tokio::select! {
                    biased;
                    _ = stop.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
}

/// Create the topic (compacted, one partition) unless it exists; refuse a
/// topic that has more than one partition or is not compacted, as Confluent does.
async fn ensure_topic(config: &RegistryConfig) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(config)
        .create()
        .map_err(|e| Error::Store(format!("creating the admin client: {e}")))?;
    let admin = Arc::new(admin);
    let timeout = config.init_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    // Metadata for all topics: asking for the one topic could auto-create it.
    let (exists, partitions, brokers) = loop {
        let a = admin.clone();
        let topic = config.topic.clone();
        let t = Duration::from_secs(5).min(timeout);
        let r = tokio::task::spawn_blocking(move || {
            a.inner().fetch_metadata(None, t).map(|md| {
                let found = md.topics().iter().find(|tm| tm.name() == topic);
                (
                    found.is_some(),
                    found.map(|tm| tm.partitions().len()).unwrap_or(0),
                    md.brokers().len(),
                )
            })
        })
        .await
        .map_err(|e| Error::Store(e.to_string()))?;
        match r {
            Ok(v) => break v,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::info!(error = %e, "waiting for the Kafka cluster");
            }
            Err(e) => return Err(Error::Store(format!("fetching metadata: {e}"))),
        }
    };
    if exists {
        if partitions != 1 {
            return Err(Error::Config(format!(
                "The schema topic {} should have only 1 partition but has {partitions}.",
                config.topic
            )));
        }
        let opts = AdminOptions::new().request_timeout(Some(timeout));
        let configs = admin
            .describe_configs(&[ResourceSpecifier::Topic(&config.topic)], &opts)
            .await
            .map_err(|e| Error::Store(format!("describing {}: {e}", config.topic)))?;
        for c in configs.into_iter().flatten() {
            if let Some(policy) = c.get("cleanup.policy").and_then(|e| e.value.clone()) {
                if !policy.split(',').any(|p| p.trim() == "compact") {
                    return Err(Error::Config(format!(
                        "The retention policy of the schema topic {} is incorrect. You must configure the topic to 'compact' cleanup policy to avoid Kafka deleting your schemas after a week.",
                        config.topic
                    )));
                }
            }
        }
        return Ok(());
    }
    let rf = config
        .topic_replication_factor
        .min(brokers.max(1) as i32)
        .max(1);
    if rf < config.topic_replication_factor {
        tracing::warn!(
            wanted = config.topic_replication_factor,
            brokers,
            "creating the schemas topic with fewer replicas than kafkastore.topic.replication.factor"
        );
    }
    let topic = NewTopic::new(&config.topic, 1, TopicReplication::Fixed(rf))
        .set("cleanup.policy", "compact");
    let opts = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin
        .create_topics(&[topic], &opts)
        .await
        .map_err(|e| Error::Store(format!("creating {}: {e}", config.topic)))?;
    for r in results {
        match r {
            Ok(_) => tracing::info!(topic = %config.topic, "created the schemas topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(Error::Store(format!("creating {t}: {e}"))),
        }
    }
    Ok(())
}
