//! The broker's shared state: the metadata image, the partitions and their
//! logs, and the operations that change them (create/delete topics, add
//! partitions, alter configs). Handlers reach everything through [`Broker`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use kafka_protocol::error::ResponseError;
use parking_lot::{Mutex, RwLock};
use strom_log::PartitionLog;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::BrokerConfig;
use crate::metadata::{MetadataImage, MetadataLog, MetadataRecord, METADATA_DIR};
use crate::topic_config::{self, BrokerDefault};

/// An error for one item of a request: a Kafka error code and a message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ResponseError,
    pub message: Option<String>,
}

impl ApiError {
    pub fn new(code: ResponseError, message: impl Into<String>) -> Self {
        Self {
            code,
            message: Some(message.into()),
        }
    }

    pub fn code(code: ResponseError) -> Self {
        Self {
            code,
            message: None,
        }
    }
}

/// One partition of a topic, led by this broker.
pub struct Partition {
    pub topic: String,
    pub index: i32,
    pub log: Arc<PartitionLog>,
}

/// A live topic.
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub partitions: RwLock<Vec<Arc<Partition>>>,
    /// Dynamic config overrides (`DYNAMIC_TOPIC_CONFIG`).
    pub configs: RwLock<BTreeMap<String, String>>,
}

impl Topic {
    /// The partition with this index, if it exists.
    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.partitions.read().get(i).cloned())
    }

    pub fn partition_count(&self) -> i32 {
        self.partitions.read().len() as i32
    }

    /// Kafka's internal topics: `__consumer_offsets` and `__transaction_state`.
    pub fn is_internal(&self) -> bool {
        matches!(
            self.name.as_str(),
            crate::coordinator::OFFSETS_TOPIC | "__transaction_state"
        )
    }
}

/// An advertised endpoint of this broker.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub listener: String,
    pub host: String,
    pub port: u16,
}

/// Everything a request handler needs.
pub struct Broker {
    pub config: BrokerConfig,
    pub cluster_id: String,
    pub node_id: i32,
    /// Advertised endpoints, one per listener name; filled in once bound.
    pub endpoints: RwLock<Vec<Endpoint>>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serializes metadata changes; holds the metadata log.
    metadata: Mutex<MetadataLog>,
    /// Broker-level defaults of topic configs.
    pub topic_defaults: BTreeMap<&'static str, BrokerDefault>,
    /// Woken on every append, for long-polling fetches.
    pub data_appended: Notify,
    /// Whether acknowledged writes are fsynced before the answer.
    pub fsync_on_ack: bool,
    /// Producer ids: the next one to hand out and the end of the reserved block.
    producer_ids: Mutex<(i64, i64)>,
    /// The group coordinator (consumer groups, committed offsets).
    pub groups: crate::coordinator::GroupCoordinator,
    /// The held lock on `<log.dir>/.lock`: one broker per data directory.
    dir_lock: Mutex<Option<std::fs::File>>,
}

/// Producer ids are reserved in blocks of this size, one metadata record each.
pub const PRODUCER_ID_BLOCK: i64 = 1000;

/// Kafka's topic-name rule.
pub fn validate_topic_name(name: &str) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::new(ResponseError::InvalidTopicException, m));
    if name.is_empty() {
        return bad("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return bad("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > 249 {
        return bad(format!(
            "Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

impl Broker {
    /// Open the broker's state from its log dirs: metadata replay, then every partition log.
    pub fn open(config: BrokerConfig) -> anyhow::Result<Self> {
        let log_dir = config
            .log_dirs
            .first()
            .context("log.dirs is empty")?
            .clone();
        std::fs::create_dir_all(&log_dir)
            .with_context(|| format!("creating log dir {}", log_dir.display()))?;
        let dir_lock = lock_log_dir(&log_dir)?;
        let cluster_id = ensure_meta_properties(&log_dir, config.node_id)?;
        let (metadata_log, image) = MetadataLog::open(&log_dir)?;
        let topic_defaults = topic_config::broker_defaults(&config.props)?;
        let fsync_on_ack = !config.page_cache_flush_policy();
        let broker = Self {
            node_id: config.node_id,
            cluster_id,
            endpoints: RwLock::new(Vec::new()),
            topics: RwLock::new(BTreeMap::new()),
            metadata: Mutex::new(metadata_log),
            topic_defaults,
            data_appended: Notify::new(),
            fsync_on_ack,
            producer_ids: Mutex::new((image.producer_id_block_end, image.producer_id_block_end)),
            groups: crate::coordinator::GroupCoordinator::new(&config),
            dir_lock: Mutex::new(Some(dir_lock)),
            config,
        };
        broker.load_topics(&image)?;
        Ok(broker)
    }

    fn log_dir(&self) -> &Path {
        // `open` checked that there is at least one.
        self.config
            .log_dirs
            .first()
            .map(PathBuf::as_path)
            .unwrap_or(Path::new("."))
    }

    fn load_topics(&self, image: &MetadataImage) -> anyhow::Result<()> {
        remove_orphan_dirs(self.log_dir(), image)?;
        for t in image.topics.values() {
            let topic = Arc::new(Topic {
                name: t.name.clone(),
                id: t.topic_id,
                partitions: RwLock::new(Vec::new()),
                configs: RwLock::new(t.configs.clone()),
            });
            self.open_partitions(&topic, t.partitions)?;
            self.topics.write().insert(t.name.clone(), topic);
        }
        Ok(())
    }

    /// Open (creating or recovering) partition logs of `topic` up to `count`.
    fn open_partitions(&self, topic: &Topic, count: i32) -> anyhow::Result<()> {
        let log_config = self.log_config_for(&topic.configs.read());
        let mut parts = topic.partitions.write();
        for index in parts.len() as i32..count {
            let dir = self.log_dir().join(format!("{}-{}", topic.name, index));
            let log = PartitionLog::open(&dir, log_config.clone())
                .with_context(|| format!("opening {}", dir.display()))?;
            write_partition_metadata(&dir, topic.id)?;
            parts.push(Arc::new(Partition {
                topic: topic.name.clone(),
                index,
                log: Arc::new(log),
            }));
        }
        Ok(())
    }

    /// The effective config values of a topic with these overrides.
    pub fn effective_configs(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        topic_config::effective(&self.topic_defaults, overrides)
    }

    fn log_config_for(&self, overrides: &BTreeMap<String, String>) -> strom_log::LogConfig {
        topic_config::log_config(
            &self.effective_configs(overrides),
            self.config.page_cache_flush_policy(),
        )
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().get(name).cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.topics.read().values().find(|t| t.id == id).cloned()
    }

    /// All live topics, by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics.read().values().cloned().collect()
    }

    /// Check a CreateTopics item without creating anything; returns the
    /// resolved partition count and replication factor.
    pub fn check_new_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &BTreeMap<String, String>,
    ) -> Result<(i32, i16), ApiError> {
        validate_topic_name(name)?;
        let topics = self.topics.read();
        if topics.contains_key(name) {
            return Err(ApiError::new(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{name}' already exists."),
            ));
        }
        let norm = |s: &str| s.replace('.', "_");
        if let Some(other) = topics.keys().find(|t| norm(t) == norm(name)) {
            return Err(ApiError::new(
                ResponseError::InvalidTopicException,
                format!("Topic '{name}' collides with existing topic: {other}"),
            ));
        }
        drop(topics);
        let partitions = if partitions == -1 {
            self.config.num_partitions()
        } else {
            partitions
        };
        if partitions <= 0 {
            return Err(ApiError::new(
                ResponseError::InvalidPartitions,
                "Number of partitions must be larger than 0.",
            ));
        }
        let rf = if replication_factor == -1 {
            self.config.default_replication_factor()
        } else {
            replication_factor
        };
        if rf <= 0 {
            return Err(ApiError::new(
                ResponseError::InvalidReplicationFactor,
                "Replication factor must be larger than 0.",
            ));
        }
        if rf > 1 {
            return Err(ApiError::new(
                ResponseError::InvalidReplicationFactor,
                format!("Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only 1 broker(s) are registered."),
            ));
        }
        topic_config::validate_overrides(configs)
            .map_err(|m| ApiError::new(ResponseError::InvalidConfig, m))?;
        Ok((partitions, rf))
    }

    /// Create a topic (after [`Self::check_new_topic`] passed). Blocking I/O.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, ApiError> {
        let metadata = self.metadata.lock();
        // Re-check under the metadata lock: two creates may race.
        let (partitions, _replication_factor) =
            self.check_new_topic(name, partitions, replication_factor, &configs)?;
        let topic_id = Uuid::new_v4();
        metadata
            .append(&MetadataRecord::Topic {
                name: name.to_string(),
                topic_id,
                partitions,
                configs: configs.clone(),
            })
            .map_err(storage_error)?;
        let topic = Arc::new(Topic {
            name: name.to_string(),
            id: topic_id,
            partitions: RwLock::new(Vec::new()),
            configs: RwLock::new(configs),
        });
        self.open_partitions(&topic, partitions)
            .map_err(storage_error)?;
        self.topics.write().insert(name.to_string(), topic.clone());
        tracing::info!(topic = name, partitions, "created topic");
        Ok(topic)
    }

    /// Create `name` with the broker defaults if auto-creation is on.
    pub fn auto_create_topic(&self, name: &str) -> Result<Arc<Topic>, ApiError> {
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        match self.create_topic(name, -1, -1, BTreeMap::new()) {
            Err(e) if e.code == ResponseError::TopicAlreadyExists => self
                .topic(name)
                .ok_or_else(|| ApiError::code(ResponseError::UnknownTopicOrPartition)),
            other => other,
        }
    }

    /// Delete a topic and its data. Blocking I/O.
    pub fn delete_topic(&self, topic: &Arc<Topic>) -> Result<(), ApiError> {
        let metadata = self.metadata.lock();
        if self.topic(&topic.name).map(|t| t.id) != Some(topic.id) {
            return Err(ApiError::code(ResponseError::UnknownTopicOrPartition));
        }
        metadata
            .append(&MetadataRecord::RemoveTopic { topic_id: topic.id })
            .map_err(storage_error)?;
        self.topics.write().remove(&topic.name);
        for p in topic.partitions.read().iter() {
            if let Err(e) = p.log.delete() {
                tracing::warn!(topic = %topic.name, partition = p.index, error = %e, "deleting partition data");
            }
        }
        tracing::info!(topic = %topic.name, "deleted topic");
        Ok(())
    }

    /// Grow a topic to `count` partitions. Blocking I/O.
    pub fn create_partitions(
        &self,
        topic: &Arc<Topic>,
        count: i32,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let metadata = self.metadata.lock();
        let current = topic.partition_count();
        if count < current {
            return Err(ApiError::new(
                ResponseError::InvalidPartitions,
                format!("Topic currently has {current} partitions, which is higher than the requested {count}."),
            ));
        }
        if count == current {
            return Err(ApiError::new(
                ResponseError::InvalidPartitions,
                format!("Topic already has {current} partitions."),
            ));
        }
        if validate_only {
            return Ok(());
        }
        metadata
            .append(&MetadataRecord::Partitions {
                topic_id: topic.id,
                partitions: count,
            })
            .map_err(storage_error)?;
        self.open_partitions(topic, count).map_err(storage_error)?;
        Ok(())
    }

    /// Replace a topic's config overrides. Blocking I/O.
    pub fn set_topic_configs(
        &self,
        topic: &Arc<Topic>,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        topic_config::validate_overrides(&configs)
            .map_err(|m| ApiError::new(ResponseError::InvalidConfig, m))?;
        if validate_only {
            return Ok(());
        }
        let metadata = self.metadata.lock();
        metadata
            .append(&MetadataRecord::Configs {
                topic_id: topic.id,
                configs: configs.clone(),
            })
            .map_err(storage_error)?;
        let log_config = self.log_config_for(&configs);
        *topic.configs.write() = configs;
        for p in topic.partitions.read().iter() {
            p.log.update_config(log_config.clone());
        }
        Ok(())
    }

    /// A new producer id for InitProducerId. Blocking I/O when a new block
    /// must be reserved in the metadata log: ids are never handed out twice,
    /// across restarts too.
    pub fn allocate_producer_id(&self) -> Result<i64, ApiError> {
        let mut ids = self.producer_ids.lock();
        if ids.0 >= ids.1 {
            let block_end = ids.1 + PRODUCER_ID_BLOCK;
            self.metadata
                .lock()
                .append(&MetadataRecord::ProducerIds { block_end })
                .map_err(storage_error)?;
            ids.1 = block_end;
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    /// Every partition of every topic.
    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.topics
            .read()
            .values()
            .flat_map(|t| t.partitions.read().clone())
            .collect()
    }

    /// Flush and close every log (clean shutdown).
    pub fn close(&self) -> anyhow::Result<()> {
        for p in self.all_partitions() {
            p.log.close()?;
        }
        self.metadata.lock().close()?;
        // Release the data directory for the next broker.
        self.dir_lock.lock().take();
        Ok(())
    }
}

/// A storage failure during a metadata change.
fn storage_error(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "storage error");
    ApiError::new(ResponseError::KafkaStorageError, e.to_string())
}

/// Take the exclusive lock on `<log.dir>/.lock`, as Kafka does, so two
/// brokers never write the same data directory.
fn lock_log_dir(log_dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = log_dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "Failed to acquire lock on file .lock in {}. A Kafka instance in another process or thread is using this directory.",
            log_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Read or create `meta.properties` (cluster id, node id), as `kafka-storage.sh format` would.
fn ensure_meta_properties(log_dir: &Path, node_id: i32) -> anyhow::Result<String> {
    let path = log_dir.join("meta.properties");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let props = crate::config::parse_properties(&text);
        if let Some(stored) = props.get("node.id") {
            if stored != &node_id.to_string() {
                anyhow::bail!(
                    "{}: stored node.id {stored} does not match configured node.id {node_id}",
                    path.display()
                );
            }
        }
        if let Some(id) = props.get("cluster.id") {
            return Ok(id.clone());
        }
    }
    let cluster_id = base64url(Uuid::new_v4().as_bytes());
    let text =
        format!("#\n#Written by Strom\nversion=1\ncluster.id={cluster_id}\nnode.id={node_id}\n");
    let tmp = log_dir.join("meta.properties.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(cluster_id)
}

/// Kafka's `partition.metadata` file: the topic id the directory belongs to.
fn write_partition_metadata(dir: &Path, topic_id: Uuid) -> anyhow::Result<()> {
    let path = dir.join("partition.metadata");
    let text = format!("version: 0\ntopic_id: {}\n", base64url(topic_id.as_bytes()));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text)?;
    }
    Ok(())
}

/// Remove partition directories that belong to no live topic (a crash between
/// a delete's metadata record and its directory removal, or a topic recreated
/// under the same name).
fn remove_orphan_dirs(log_dir: &Path, image: &MetadataImage) -> anyhow::Result<()> {
    let live: BTreeMap<String, String> = image
        .topics
        .values()
        .flat_map(|t| {
            (0..t.partitions).map(move |p| {
                (
                    format!("{}-{}", t.name, p),
                    base64url(t.topic_id.as_bytes()),
                )
            })
        })
        .collect();
    let Ok(entries) = std::fs::read_dir(log_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name == METADATA_DIR || !entry.path().is_dir() {
            continue;
        }
        let Some((_, suffix)) = name.rsplit_once('-') else {
            continue;
        };
        if suffix.parse::<u32>().is_err() {
            continue;
        }
        let keep = match live.get(&name) {
            Some(id) => std::fs::read_to_string(entry.path().join("partition.metadata"))
                .map(|t| t.contains(id.as_str()))
                .unwrap_or(true),
            None => false,
        };
        if !keep {
            tracing::info!(dir = %entry.path().display(), "removing data of a deleted topic");
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

/// URL-safe base64 without padding, as Kafka prints UUIDs (cluster and topic ids).
pub fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        for bad in ["", ".", "..", "a b", "ü", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_broker_per_data_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Broker::open(BrokerConfig::local(dir.path(), 0)).expect("first opens");
        let second = Broker::open(BrokerConfig::local(dir.path(), 0));
        assert!(second.is_err(), "second broker on the same dir must fail");
        first.close().expect("close");
        let third = Broker::open(BrokerConfig::local(dir.path(), 0)).expect("reopens after close");
        third.close().expect("close");
    }

    #[test]
    fn producer_ids_are_never_reused_across_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = Broker::open(BrokerConfig::local(dir.path(), 0)).expect("open");
        let first = b.allocate_producer_id().expect("id");
        let second = b.allocate_producer_id().expect("id");
        assert_eq!(second, first + 1);
        b.close().expect("close");
        let b = Broker::open(BrokerConfig::local(dir.path(), 0)).expect("reopen");
        let third = b.allocate_producer_id().expect("id");
        assert!(third > second, "{third} after {second}");
        b.close().expect("close");
    }

    #[test]
    fn base64_matches_kafka() {
        assert_eq!(base64url(&[0u8; 16]), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
    }
}
