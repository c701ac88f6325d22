//! The metadata log: topics, partitions and topic configs as records.
//!
//! This is the single-voter form of KRaft's design: every metadata change is
//! a record appended (and fsynced) to the `__cluster_metadata-0` partition in
//! the first log dir before it takes effect, and the in-memory image is
//! rebuilt at start-up by replaying the log. Records are RecordBatch v2
//! batches whose record value is a JSON [`MetadataRecord`]. A cluster will
//! replicate the same log through a Raft quorum instead of one local file.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as BatchTimestampType,
};
use serde::{Deserialize, Serialize};
use strom_log::{CompressionType, LogConfig, PartitionLog, TimestampType};
use uuid::Uuid;

/// The metadata partition's directory name, as in KRaft.
pub const METADATA_DIR: &str = "__cluster_metadata-0";

/// One metadata change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    /// A topic was created with `partitions` partitions and these config overrides.
    Topic {
        name: String,
        topic_id: Uuid,
        partitions: i32,
        configs: BTreeMap<String, String>,
    },
    /// A topic's partition count grew to `partitions`.
    Partitions { topic_id: Uuid, partitions: i32 },
    /// A topic's config overrides were replaced by `configs`.
    Configs {
        topic_id: Uuid,
        configs: BTreeMap<String, String>,
    },
    /// A topic was deleted.
    RemoveTopic { topic_id: Uuid },
    /// Producer ids below `block_end` have been handed out (KRaft's ProducerIdsRecord).
    ProducerIds { block_end: i64 },
}

/// A topic as the metadata image knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicImage {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: i32,
    pub configs: BTreeMap<String, String>,
}

/// The in-memory image: every live topic by id.
#[derive(Debug, Default, Clone)]
pub struct MetadataImage {
    pub topics: BTreeMap<Uuid, TopicImage>,
    /// Every producer id below this has been allocated (or skipped).
    pub producer_id_block_end: i64,
}

impl MetadataImage {
    /// Apply one record.
    pub fn apply(&mut self, record: &MetadataRecord) {
        match record {
            MetadataRecord::Topic {
                name,
                topic_id,
                partitions,
                configs,
            } => {
                self.topics.insert(
                    *topic_id,
                    TopicImage {
                        name: name.clone(),
                        topic_id: *topic_id,
                        partitions: *partitions,
                        configs: configs.clone(),
                    },
                );
            }
            MetadataRecord::Partitions {
                topic_id,
                partitions,
            } => {
                if let Some(t) = self.topics.get_mut(topic_id) {
                    t.partitions = *partitions;
                }
            }
            MetadataRecord::Configs { topic_id, configs } => {
                if let Some(t) = self.topics.get_mut(topic_id) {
                    t.configs = configs.clone();
                }
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                self.topics.remove(topic_id);
            }
            MetadataRecord::ProducerIds { block_end } => {
                self.producer_id_block_end = self.producer_id_block_end.max(*block_end);
            }
        }
    }
}

/// The metadata log on disk.
pub struct MetadataLog {
    log: PartitionLog,
}

fn metadata_log_config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024 * 1024,
        segment_ms: None,
        index_interval_bytes: 4096,
        max_message_bytes: 8 * 1024 * 1024,
        message_timestamp_type: TimestampType::CreateTime,
        compression_type: CompressionType::Producer,
        flush_interval_messages: None,
        flush_interval_ms: None,
        cleanup_delete: false,
        ..LogConfig::default()
    }
}

impl MetadataLog {
    /// Open (recovering) the metadata log in `log_dir` and replay it into an image.
    pub fn open(log_dir: &Path) -> anyhow::Result<(Self, MetadataImage)> {
        let dir = log_dir.join(METADATA_DIR);
        let log = PartitionLog::open(&dir, metadata_log_config())
            .with_context(|| format!("opening metadata log {}", dir.display()))?;
        let mut image = MetadataImage::default();
        let mut offset = log.log_start_offset();
        let end = log.log_end_offset();
        while offset < end {
            let read = log.read(offset, 1 << 20, true)?;
            if read.records.is_empty() {
                break;
            }
            let mut buf = read.records.clone();
            let sets = RecordBatchDecoder::decode_all(&mut buf)
                .map_err(|e| anyhow::anyhow!("metadata log: undecodable batch: {e:#}"))?;
            for set in sets {
                for record in set.records {
                    if record.offset < offset {
                        continue;
                    }
                    offset = record.offset + 1;
                    let value = record.value.unwrap_or_default();
                    let rec: MetadataRecord =
                        serde_json::from_slice(&value).with_context(|| {
                            format!("metadata log: bad record at offset {}", record.offset)
                        })?;
                    image.apply(&rec);
                }
            }
        }
        Ok((Self { log }, image))
    }

    /// Append one record and fsync it: when this returns, the change is durable.
    pub fn append(&self, record: &MetadataRecord) -> anyhow::Result<()> {
        let value = Bytes::from(serde_json::to_vec(record)?);
        let now = now_ms();
        let rec = Record {
            transactional: false,
            control: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: BatchTimestampType::Creation,
            offset: 0,
            sequence: -1,
            timestamp: now,
            key: None,
            value: Some(value),
            headers: Default::default(),
            delete_horizon: false,
        };
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            [&rec],
            &RecordEncodeOptions {
                version: 2,
                compression: Compression::None,
            },
        )
        .map_err(|e| anyhow::anyhow!("encoding metadata record: {e:#}"))?;
        let info = self.log.append(buf.freeze())?;
        self.log.sync_to(info.last_offset)?;
        Ok(())
    }

    /// Flush and close.
    pub fn close(&self) -> anyhow::Result<()> {
        self.log.close()?;
        Ok(())
    }
}

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_after_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = Uuid::new_v4();
        {
            let (log, image) = MetadataLog::open(dir.path()).expect("open");
            assert!(image.topics.is_empty());
            log.append(&MetadataRecord::Topic {
                name: "t".into(),
                topic_id: id,
                partitions: 2,
                configs: BTreeMap::new(),
            })
            .expect("append");
            log.append(&MetadataRecord::Partitions {
                topic_id: id,
                partitions: 5,
            })
            .expect("append");
            log.append(&MetadataRecord::Configs {
                topic_id: id,
                configs: [("retention.ms".to_string(), "1000".to_string())].into(),
            })
            .expect("append");
            log.close().expect("close");
        }
        let (_log, image) = MetadataLog::open(dir.path()).expect("reopen");
        let t = &image.topics[&id];
        assert_eq!(t.partitions, 5);
        assert_eq!(t.configs["retention.ms"], "1000");
        let mut image = image;
        image.apply(&MetadataRecord::RemoveTopic { topic_id: id });
        assert!(image.topics.is_empty());
    }
}
