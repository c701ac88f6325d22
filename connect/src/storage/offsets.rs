//! Source offsets: `["<connector>",{<partition>}]` → `{<offset>}` (JSON
//! without schemas, as Connect writes them), in the standalone offsets file
//! or the distributed offsets topic.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value as Json};

use super::kafka::KafkaLog;
use super::offsets_file;
use crate::error::{Error, Result};

enum Backend {
    File(PathBuf),
    Kafka(Arc<KafkaLog>),
    Memory,
}

/// Committed source offsets of every connector.
pub struct OffsetStore {
    data: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
    backend: RwLock<Backend>,
    /// Serializes file rewrites.
    file_lock: Mutex<()>,
}

/// The key of a source partition: `["<connector>",{<partition>}]`.
pub fn offset_key(connector: &str, partition: &Json) -> Vec<u8> {
    serde_json::to_vec(&json!([connector, partition])).unwrap_or_default()
}

fn parse_key(key: &[u8]) -> Option<(String, Json)> {
    let v: Json = serde_json::from_slice(key).ok()?;
    let a = v.as_array()?;
    if a.len() != 2 {
        return None;
    }
    Some((a[0].as_str()?.to_string(), a[1].clone()))
}

impl OffsetStore {
    pub fn memory() -> Arc<OffsetStore> {
        Arc::new(OffsetStore {
            data: RwLock::new(BTreeMap::new()),
            backend: RwLock::new(Backend::Memory),
            file_lock: Mutex::new(()),
        })
    }

    /// The standalone offsets file, read now.
    pub fn file(path: PathBuf) -> Result<Arc<OffsetStore>> {
        let data = offsets_file::load(&path)?;
        tracing::info!(file = %path.display(), entries = data.len(), "read the offsets file");
        Ok(Arc::new(OffsetStore {
            data: RwLock::new(data),
            backend: RwLock::new(Backend::File(path)),
            file_lock: Mutex::new(()),
        }))
    }

    /// Back the store with the offsets topic (distributed mode).
    pub fn attach(&self, log: Arc<KafkaLog>) {
        *self.backend.write() = Backend::Kafka(log);
    }

    /// A record read from the offsets topic.
    pub fn apply_bytes(&self, key: &[u8], value: Option<&[u8]>) {
        let mut data = self.data.write();
        match value {
            Some(v) => {
                data.insert(key.to_vec(), v.to_vec());
            }
            None => {
                data.remove(key);
            }
        }
    }

    /// The committed offset of one source partition.
    pub fn get(&self, connector: &str, partition: &Json) -> Option<Json> {
        let data = self.data.read();
        if let Some(v) = data.get(&offset_key(connector, partition)) {
            return serde_json::from_slice(v).ok();
        }
        // Another writer may have serialized the partition with its keys in another order.
        data.iter()
            .filter_map(|(k, v)| parse_key(k).map(|(c, p)| (c, p, v)))
            .find(|(c, p, _)| c == connector && p == partition)
            .and_then(|(_, _, v)| serde_json::from_slice(v).ok())
    }

    /// All (partition, offset) pairs of a connector.
    pub fn connector_offsets(&self, connector: &str) -> Vec<(Json, Json)> {
        self.data
            .read()
            .iter()
            .filter_map(|(k, v)| {
                let (c, p) = parse_key(k)?;
                (c == connector).then(|| (p, serde_json::from_slice(v).unwrap_or(Json::Null)))
            })
            .filter(|(_, o)| !o.is_null())
            .collect()
    }

    /// Write offsets (`None` removes a partition's offset) and make them durable.
    pub async fn put(&self, connector: &str, entries: Vec<(Json, Option<Json>)>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let encoded: Vec<(Vec<u8>, Option<Vec<u8>>)> = entries
            .iter()
            .map(|(p, o)| {
                (
                    offset_key(connector, p),
                    o.as_ref()
                        .map(|o| serde_json::to_vec(o).unwrap_or_default()),
                )
            })
            .collect();
        let kafka = match &*self.backend.read() {
            Backend::Kafka(log) => Some(log.clone()),
            _ => None,
        };
        if let Some(log) = kafka {
            for (k, v) in &encoded {
                log.send(k, v.as_deref()).await?;
            }
        }
        {
            let mut data = self.data.write();
            for (k, v) in encoded {
                match v {
                    Some(v) => {
                        data.insert(k, v);
                    }
                    None => {
                        data.remove(&k);
                    }
                }
            }
        }
        let path = match &*self.backend.read() {
            Backend::File(p) => Some(p.clone()),
            _ => None,
        };
        if let Some(path) = path {
            let snapshot = self.data.read().clone();
            let _guard = self.file_lock.lock();
            offsets_file::save(&path, &snapshot).map_err(|e| {
                Error::Connect(format!("writing the offsets file {}: {e}", path.display()))
            })?;
        }
        Ok(())
    }

    /// Wait until offsets written by other workers are visible (distributed mode).
    pub async fn sync(&self, timeout: Duration) -> Result<()> {
        let log = match &*self.backend.read() {
            Backend::Kafka(log) => Some(log.clone()),
            _ => None,
        };
        if let Some(log) = log {
            log.read_to_end(timeout).await?;
        }
        Ok(())
    }
}

/// What a source task reads its committed offsets through.
#[derive(Clone)]
pub struct OffsetReader {
    store: Option<Arc<OffsetStore>>,
    connector: String,
    fixed: Option<(Json, Json)>,
}

impl OffsetReader {
    pub fn new(store: Arc<OffsetStore>, connector: &str) -> Self {
        OffsetReader {
            store: Some(store),
            connector: connector.to_string(),
            fixed: None,
        }
    }

    /// No offsets (tests).
    pub fn empty() -> Self {
        OffsetReader {
            store: None,
            connector: String::new(),
            fixed: None,
        }
    }

    /// One known offset (tests).
    pub fn fixed(partition: Json, offset: Json) -> Self {
        OffsetReader {
            store: None,
            connector: String::new(),
            fixed: Some((partition, offset)),
        }
    }

    pub fn offset(&self, partition: &Json) -> Option<Json> {
        if let Some((p, o)) = &self.fixed {
            return (p == partition).then(|| o.clone());
        }
        self.store.as_ref()?.get(&self.connector, partition)
    }
}
