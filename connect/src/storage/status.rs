//! Connector and task states, and the topics each connector has used.
//!
//! Status-topic records (values JSON without schemas):
//! `status-connector-<name>` / `status-task-<name>-<n>` →
//! `{"state":"RUNNING","trace":null,"worker_id":"host:port","generation":3}`;
//! `status-topic-<topic>:connector-<name>` →
//! `{"topic":{"name":..,"connector":..,"task":..,"discoverTimestamp":..}}`.
//! A deleted connector's records are tombstoned.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::{json, Value as Json};

use super::kafka::KafkaLog;

/// Connect's `AbstractStatus.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Failed,
    Restarting,
    Stopped,
    Destroyed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
            State::Stopped => "STOPPED",
            State::Destroyed => "DESTROYED",
        }
    }

    fn parse(s: &str) -> Option<State> {
        Some(match s {
            "UNASSIGNED" => State::Unassigned,
            "RUNNING" => State::Running,
            "PAUSED" => State::Paused,
            "FAILED" => State::Failed,
            "RESTARTING" => State::Restarting,
            "STOPPED" => State::Stopped,
            "DESTROYED" => State::Destroyed,
            _ => return None,
        })
    }
}

/// The state of a connector or task, and where it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i32,
}

impl Status {
    pub fn new(state: State, worker_id: &str, generation: i32) -> Status {
        Status {
            state,
            trace: None,
            worker_id: worker_id.to_string(),
            generation,
        }
    }

    /// `{"state","worker_id"[,"trace"]}` as the REST API shows it.
    pub fn rest_json(&self) -> Json {
        let mut v = json!({"state": self.state.name(), "worker_id": self.worker_id});
        if let Some(t) = &self.trace {
            v["trace"] = json!(t);
        }
        v
    }

    fn record_json(&self) -> Json {
        json!({"state": self.state.name(), "trace": self.trace, "worker_id": self.worker_id, "generation": self.generation})
    }

    fn from_record(v: &Json) -> Option<Status> {
        Some(Status {
            state: State::parse(v.get("state")?.as_str()?)?,
            trace: v.get("trace").and_then(Json::as_str).map(str::to_string),
            worker_id: v
                .get("worker_id")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
            generation: v
                .get("generation")
                .and_then(Json::as_i64)
                .unwrap_or_default() as i32,
        })
    }
}

/// Statuses of all connectors and tasks, in memory or backed by the status topic.
#[derive(Default)]
pub struct StatusStore {
    connectors: RwLock<BTreeMap<String, Status>>,
    tasks: RwLock<BTreeMap<(String, u32), Status>>,
    /// connector → topic → first-seen timestamp.
    topics: RwLock<BTreeMap<String, BTreeMap<String, i64>>>,
    log: RwLock<Option<Arc<KafkaLog>>>,
}

impl StatusStore {
    pub fn new() -> Arc<StatusStore> {
        Arc::new(StatusStore::default())
    }

    pub fn attach(&self, log: Arc<KafkaLog>) {
        *self.log.write() = Some(log);
    }

    fn publish(&self, key: String, value: Option<Json>) {
        let Some(log) = self.log.read().clone() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            let bytes = value.map(|v| serde_json::to_vec(&v).unwrap_or_default());
            if let Err(e) = log.send(key.as_bytes(), bytes.as_deref()).await {
                tracing::warn!(error = %e, %key, "writing status failed");
            }
        });
    }

    pub fn put_connector(&self, name: &str, status: Status) {
        self.publish(
            format!("status-connector-{name}"),
            Some(status.record_json()),
        );
        self.connectors.write().insert(name.to_string(), status);
    }

    pub fn put_task(&self, connector: &str, task: u32, status: Status) {
        self.publish(
            format!("status-task-{connector}-{task}"),
            Some(status.record_json()),
        );
        self.tasks
            .write()
            .insert((connector.to_string(), task), status);
    }

    pub fn connector(&self, name: &str) -> Option<Status> {
        self.connectors.read().get(name).cloned()
    }

    pub fn task(&self, connector: &str, task: u32) -> Option<Status> {
        self.tasks
            .read()
            .get(&(connector.to_string(), task))
            .cloned()
    }

    /// All task statuses of a connector, by task number.
    pub fn tasks(&self, connector: &str) -> Vec<(u32, Status)> {
        self.tasks
            .read()
            .iter()
            .filter(|((c, _), _)| c == connector)
            .map(|((_, t), s)| (*t, s.clone()))
            .collect()
    }

    /// Forget task statuses numbered `count` and above (a connector now has fewer tasks).
    pub fn remove_tasks_from(&self, connector: &str, count: u32) {
        let gone: Vec<u32> = self
            .tasks(connector)
            .into_iter()
            .map(|(t, _)| t)
            .filter(|t| *t >= count)
            .collect();
        for t in gone {
            self.publish(format!("status-task-{connector}-{t}"), None);
            self.tasks.write().remove(&(connector.to_string(), t));
        }
    }

    /// A deleted connector: tombstone its statuses and topics.
    pub fn remove_connector(&self, name: &str) {
        self.remove_tasks_from(name, 0);
        self.publish(format!("status-connector-{name}"), None);
        self.connectors.write().remove(name);
        let topics: Vec<String> = self
            .topics
            .read()
            .get(name)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for t in topics {
            self.publish(format!("status-topic-{t}:connector-{name}"), None);
        }
        self.topics.write().remove(name);
    }

    /// Record that a task used `topic` (first use only).
    pub fn put_topic(&self, connector: &str, task: u32, topic: &str) {
        if self
            .topics
            .read()
            .get(connector)
            .is_some_and(|t| t.contains_key(topic))
        {
            return;
        }
        let now = now_ms();
        self.publish(
            format!("status-topic-{topic}:connector-{connector}"),
            Some(json!({"topic": {"name": topic, "connector": connector, "task": task, "discoverTimestamp": now}})),
        );
        self.topics
            .write()
            .entry(connector.to_string())
            .or_default()
            .insert(topic.to_string(), now);
    }

    pub fn topics(&self, connector: &str) -> BTreeSet<String> {
        self.topics
            .read()
            .get(connector)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub fn reset_topics(&self, connector: &str) {
        for t in self.topics(connector) {
            self.publish(format!("status-topic-{t}:connector-{connector}"), None);
        }
        self.topics.write().remove(connector);
    }

    /// Apply a record read from the status topic (written by any worker).
    pub fn apply_bytes(&self, key: &[u8], value: Option<&[u8]>) {
        let key = String::from_utf8_lossy(key);
        let value: Option<Json> = value.and_then(|v| serde_json::from_slice(v).ok());
        if let Some(name) = key.strip_prefix("status-connector-") {
            match value.as_ref().and_then(Status::from_record) {
                Some(s) => {
                    self.connectors.write().insert(name.to_string(), s);
                }
                None => {
                    self.connectors.write().remove(name);
                }
            }
        } else if let Some(rest) = key.strip_prefix("status-task-") {
            if let Some((name, n)) = rest.rsplit_once('-') {
                if let Ok(n) = n.parse::<u32>() {
                    match value.as_ref().and_then(Status::from_record) {
                        Some(s) => {
                            self.tasks.write().insert((name.to_string(), n), s);
                        }
                        None => {
                            self.tasks.write().remove(&(name.to_string(), n));
                        }
                    }
                }
            }
        } else if let Some(rest) = key.strip_prefix("status-topic-") {
            if let Some((topic, connector)) = rest.split_once(":connector-") {
                let mut topics = self.topics.write();
                match value {
                    Some(v) => {
                        let ts = v["topic"]["discoverTimestamp"].as_i64().unwrap_or_default();
                        topics
                            .entry(connector.to_string())
                            .or_default()
                            .insert(topic.to_string(), ts);
                    }
                    None => {
                        if let Some(t) = topics.get_mut(connector) {
                            t.remove(topic);
                        }
                    }
                }
            }
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
