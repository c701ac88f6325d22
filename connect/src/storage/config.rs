//! Connector configs, task configs and target states, as the records of
//! Connect's config topic (values are JSON without schemas):
//!
//! | key                          | value                                              |
//! |------------------------------|----------------------------------------------------|
//! | `connector-<name>`           | `{"properties":{...}}`, tombstone on delete         |
//! | `task-<name>-<n>`            | `{"properties":{...}}`                              |
//! | `commit-<name>`              | `{"tasks":<count>}`: the task configs above apply   |
//! | `target-state-<name>`        | `{"state":"STARTED"\|"PAUSED","state.v2":"STARTED"\|"PAUSED"\|"STOPPED"}` |
//! | `restart-connector-<name>`   | `{"include-tasks":bool,"only-failed":bool}`         |
//!
//! Standalone mode applies the records in memory; distributed mode writes
//! them to the config topic and applies them as the reader reads them back,
//! so every worker builds the same [`ClusterConfigState`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value as Json};
use tokio::sync::watch;

use super::kafka::{props_from_json, KafkaLog};
use crate::config::Props;
use crate::error::Result;

/// What a connector should be doing (Connect's `TargetState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TargetState {
    #[default]
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    pub fn name(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Option<TargetState> {
        match s {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// One connector in the cluster's configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectorEntry {
    pub config: Props,
    pub target: TargetState,
    /// Task configs, by task number.
    pub tasks: Vec<Props>,
}

/// A restart requested through the REST API (distributed mode carries it in the config topic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartRequest {
    pub connector: String,
    pub include_tasks: bool,
    pub only_failed: bool,
}

/// Every connector's configuration.
#[derive(Clone, Debug, Default)]
pub struct ClusterConfigState {
    /// Records applied so far (the "config offset" workers compare when rebalancing).
    pub offset: i64,
    pub connectors: BTreeMap<String, ConnectorEntry>,
    /// Target states seen before their connector config (KIP-980 initial states).
    pending_targets: BTreeMap<String, TargetState>,
    /// Task configs written but not yet committed by `commit-<name>`.
    pending_tasks: BTreeMap<String, BTreeMap<usize, Props>>,
}

impl ClusterConfigState {
    pub fn contains(&self, name: &str) -> bool {
        self.connectors.contains_key(name)
    }

    pub fn get(&self, name: &str) -> Option<&ConnectorEntry> {
        self.connectors.get(name)
    }

    /// Apply one config-topic record; a restart request is returned for the herder.
    pub fn apply(&mut self, key: &str, value: Option<&Json>) -> Option<RestartRequest> {
        self.offset += 1;
        if let Some(name) = key.strip_prefix("connector-") {
            match value {
                Some(v) => {
                    let config = props_from_json(v.get("properties").unwrap_or(&Json::Null));
                    let pending_target = self.pending_targets.remove(name);
                    let entry = self.connectors.entry(name.to_string()).or_default();
                    entry.config = config;
                    if let Some(t) = pending_target {
                        entry.target = t;
                    }
                }
                None => {
                    self.connectors.remove(name);
                    self.pending_tasks.remove(name);
                    self.pending_targets.remove(name);
                }
            }
        } else if let Some(name) = key.strip_prefix("target-state-") {
            let state = value.and_then(|v| {
                v.get("state.v2")
                    .or_else(|| v.get("state"))
                    .and_then(Json::as_str)
                    .and_then(TargetState::parse)
            });
            match (state, self.connectors.get_mut(name)) {
                (Some(s), Some(entry)) => entry.target = s,
                (Some(s), None) => {
                    self.pending_targets.insert(name.to_string(), s);
                }
                (None, _) => {
                    self.pending_targets.remove(name);
                }
            }
        } else if let Some(rest) = key.strip_prefix("task-") {
            if let (Some((name, n)), Some(v)) = (rest.rsplit_once('-'), value) {
                if let Ok(n) = n.parse::<usize>() {
                    let config = props_from_json(v.get("properties").unwrap_or(&Json::Null));
                    self.pending_tasks
                        .entry(name.to_string())
                        .or_default()
                        .insert(n, config);
                }
            }
        } else if let Some(name) = key.strip_prefix("commit-") {
            if let Some(count) = value.and_then(|v| v.get("tasks")).and_then(Json::as_u64) {
                let pending = self.pending_tasks.remove(name).unwrap_or_default();
                let count = count as usize;
                let complete = (0..count).all(|i| pending.contains_key(&i));
                if let (true, Some(entry)) = (complete, self.connectors.get_mut(name)) {
                    entry.tasks = (0..count)
                        .filter_map(|i| pending.get(&i).cloned())
                        .collect();
                } else if !complete {
                    tracing::warn!(
                        connector = name,
                        "incomplete task configs committed; ignored"
                    );
                }
            }
        } else if let Some(name) = key.strip_prefix("restart-connector-") {
            if let Some(v) = value {
                return Some(RestartRequest {
                    connector: name.to_string(),
                    include_tasks: v
                        .get("include-tasks")
                        .and_then(Json::as_bool)
                        .unwrap_or(false),
                    only_failed: v
                        .get("only-failed")
                        .and_then(Json::as_bool)
                        .unwrap_or(false),
                });
            }
        }
        None
    }
}

/// The records that write a connector's config.
pub fn connector_record(name: &str, config: &Props) -> (String, Option<Json>) {
    (
        format!("connector-{name}"),
        Some(json!({ "properties": config })),
    )
}

pub fn target_state_record(name: &str, state: TargetState) -> (String, Option<Json>) {
    // Workers that only know STARTED/PAUSED read `state`; STOPPED shows there as PAUSED.
    let v1 = if state == TargetState::Stopped {
        TargetState::Paused
    } else {
        state
    };
    (
        format!("target-state-{name}"),
        Some(json!({"state": v1.name(), "state.v2": state.name()})),
    )
}

pub fn task_records(name: &str, tasks: &[Props]) -> Vec<(String, Option<Json>)> {
    let mut out: Vec<_> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("task-{name}-{i}"), Some(json!({ "properties": t }))))
        .collect();
    out.push((
        format!("commit-{name}"),
        Some(json!({"tasks": tasks.len()})),
    ));
    out
}

/// The configuration store: in memory, or backed by the config topic.
pub struct ConfigStore {
    state: RwLock<ClusterConfigState>,
    changes: watch::Sender<u64>,
    restarts: Mutex<Vec<RestartRequest>>,
    log: RwLock<Option<Arc<KafkaLog>>>,
    timeout: Duration,
}

impl ConfigStore {
    pub fn new() -> Arc<ConfigStore> {
        Arc::new(ConfigStore {
            state: RwLock::new(ClusterConfigState::default()),
            changes: watch::channel(0).0,
            restarts: Mutex::new(Vec::new()),
            log: RwLock::new(None),
            timeout: Duration::from_secs(30),
        })
    }

    /// Back the store with the config topic (distributed mode).
    pub fn attach(&self, log: Arc<KafkaLog>) {
        *self.log.write() = Some(log);
    }

    pub fn log(&self) -> Option<Arc<KafkaLog>> {
        self.log.read().clone()
    }

    pub fn snapshot(&self) -> ClusterConfigState {
        self.state.read().clone()
    }

    pub fn offset(&self) -> i64 {
        self.state.read().offset
    }

    /// Notified after every applied change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Apply a record as read from the config topic (or written in memory).
    pub fn apply_bytes(&self, key: &[u8], value: Option<&[u8]>) {
        let key = String::from_utf8_lossy(key);
        let value: Option<Json> = value.and_then(|v| serde_json::from_slice(v).ok());
        self.apply(&key, value.as_ref());
    }

    fn apply(&self, key: &str, value: Option<&Json>) {
        let restart = self.state.write().apply(key, value);
        if let Some(r) = restart {
            self.restarts.lock().push(r);
        }
        self.changes.send_modify(|n| *n += 1);
    }

    /// Restart requests read since the last call.
    pub fn take_restarts(&self) -> Vec<RestartRequest> {
        std::mem::take(&mut *self.restarts.lock())
    }

    /// Write records in order; return once they are applied here.
    pub async fn write(&self, records: Vec<(String, Option<Json>)>) -> Result<()> {
        let log = self.log();
        match log {
            None => {
                for (k, v) in records {
                    self.apply(&k, v.as_ref());
                }
                Ok(())
            }
            Some(log) => {
                let n = records.len();
                for (i, (k, v)) in records.into_iter().enumerate() {
                    let bytes = v.map(|v| serde_json::to_vec(&v).unwrap_or_default());
                    if i + 1 == n {
                        log.send_and_read_back(k.as_bytes(), bytes.as_deref(), self.timeout)
                            .await?;
                    } else {
                        log.send(k.as_bytes(), bytes.as_deref()).await?;
                    }
                }
                Ok(())
            }
        }
    }

    pub async fn put_connector_config(
        &self,
        name: &str,
        config: &Props,
        initial: Option<TargetState>,
    ) -> Result<()> {
        let mut records = Vec::new();
        if let Some(t) = initial {
            records.push(target_state_record(name, t));
        }
        records.push(connector_record(name, config));
        self.write(records).await
    }

    pub async fn remove_connector(&self, name: &str) -> Result<()> {
        self.write(vec![
            (format!("connector-{name}"), None),
            (format!("target-state-{name}"), None),
        ])
        .await
    }

    pub async fn put_task_configs(&self, name: &str, tasks: &[Props]) -> Result<()> {
        self.write(task_records(name, tasks)).await
    }

    pub async fn put_target_state(&self, name: &str, state: TargetState) -> Result<()> {
        self.write(vec![target_state_record(name, state)]).await
    }

    pub async fn put_restart_request(&self, r: &RestartRequest) -> Result<()> {
        self.write(vec![(
            format!("restart-connector-{}", r.connector),
            Some(json!({"include-tasks": r.include_tasks, "only-failed": r.only_failed})),
        )])
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_build_the_state() {
        let mut s = ClusterConfigState::default();
        let mut cfg = Props::new();
        cfg.insert("connector.class".into(), "FileStreamSource".into());
        let (k, v) = target_state_record("my-conn", TargetState::Stopped);
        s.apply(&k, v.as_ref());
        let (k, v) = connector_record("my-conn", &cfg);
        s.apply(&k, v.as_ref());
        assert_eq!(s.get("my-conn").unwrap().target, TargetState::Stopped);
        let mut t = Props::new();
        t.insert("file".into(), "x".into());
        let records = task_records("my-conn", &[t.clone(), t.clone()]);
        assert_eq!(records[0].0, "task-my-conn-0");
        assert_eq!(records[2].0, "commit-my-conn");
        assert_eq!(records[2].1, Some(json!({"tasks": 2})));
        for (k, v) in &records[..2] {
            s.apply(k, v.as_ref());
        }
        assert!(
            s.get("my-conn").unwrap().tasks.is_empty(),
            "not applied before the commit"
        );
        s.apply(&records[2].0, records[2].1.as_ref());
        assert_eq!(s.get("my-conn").unwrap().tasks.len(), 2);
        let (k, v) = target_state_record("my-conn", TargetState::Paused);
        assert_eq!(v, Some(json!({"state":"PAUSED","state.v2":"PAUSED"})));
        s.apply(&k, v.as_ref());
        assert_eq!(s.get("my-conn").unwrap().target, TargetState::Paused);
        let r = s.apply(
            "restart-connector-my-conn",
            Some(&json!({"include-tasks": true, "only-failed": false})),
        );
        assert!(r.unwrap().include_tasks);
        s.apply("connector-my-conn", None);
        assert!(!s.contains("my-conn"));
        assert_eq!(s.offset, 8);
    }
}
