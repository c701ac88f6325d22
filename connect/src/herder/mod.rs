//! The herder: the operations behind the REST API, and the loop that makes
//! this worker run what it should.
//!
//! Both modes share it. Standalone: one worker owns every connector and
//! task, the config store is in memory. Distributed: the group protocol
//! ([`crate::distributed`]) says which connectors and tasks this worker owns
//! and who leads; writes that Connect reserves to the leader answer
//! [`Error::NotLeader`], which the REST layer turns into a forwarded request.
//!
//! - [`validate`]: connector config validation.
//! - [`reconcile`]: the loop that starts, stops, pauses and restarts
//!   connectors and tasks after every config, assignment or restart change.
//! - [`offsets`]: KIP-875 offsets of source and sink connectors.

pub mod offsets;
pub mod reconcile;
pub mod validate;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::{json, Value as Json};
use tokio::sync::{watch, Notify};

use crate::config::{Props, WorkerConfig};
use crate::connectors::ConnectorType;
use crate::error::{Error, Result};
use crate::plugins;
use crate::runtime::{TaskId, Worker};
use crate::storage::config::{ConfigStore, RestartRequest, TargetState};
use crate::storage::offsets::OffsetStore;
use crate::storage::status::{State, StatusStore};

/// Connect's 409 while a rebalance is under way.
pub const REBALANCING: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";

/// What this worker owns, as the last rebalance decided (distributed mode).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    pub generation: i32,
    pub leader_url: String,
    pub is_leader: bool,
    pub config_offset: i64,
    pub connectors: BTreeSet<String>,
    pub tasks: BTreeSet<TaskId>,
}

/// The worker's view of its group (distributed mode).
#[derive(Default)]
pub struct Membership {
    /// `None` while a rebalance is in progress.
    pub assignment: RwLock<Option<Assignment>>,
    /// Ask the group member to rejoin (a config change needs a new assignment).
    pub rejoin: Notify,
}

/// The herder.
pub struct Herder {
    pub config: Arc<WorkerConfig>,
    pub worker: Arc<Worker>,
    pub configs: Arc<ConfigStore>,
    pub statuses: Arc<StatusStore>,
    pub offsets: Arc<OffsetStore>,
    /// This worker's REST URL, as others reach it.
    pub url: String,
    pub kafka_cluster_id: RwLock<String>,
    pub membership: Option<Arc<Membership>>,
    pub http: reqwest::Client,
    requested: AtomicU64,
    done: watch::Sender<u64>,
    wake: Notify,
}

/// The answer to a create or update: whether it created, and the connector info.
pub struct Created {
    pub created: bool,
    pub info: Json,
}

impl Herder {
    pub fn new(
        config: Arc<WorkerConfig>,
        worker: Arc<Worker>,
        configs: Arc<ConfigStore>,
        statuses: Arc<StatusStore>,
        offsets: Arc<OffsetStore>,
        url: String,
        membership: Option<Arc<Membership>>,
    ) -> Arc<Herder> {
        Arc::new(Herder {
            config,
            worker,
            configs,
            statuses,
            offsets,
            url,
            kafka_cluster_id: RwLock::new(String::new()),
            membership,
            http: reqwest::Client::new(),
            requested: AtomicU64::new(0),
            done: watch::channel(0).0,
            wake: Notify::new(),
        })
    }

    pub fn worker_id(&self) -> &str {
        self.worker.worker_id()
    }

    pub fn is_distributed(&self) -> bool {
        self.membership.is_some()
    }

    /// The current assignment: everything in standalone mode; `None` while rebalancing.
    pub fn assignment(&self) -> Option<Assignment> {
        match &self.membership {
            None => Some(Assignment {
                is_leader: true,
                ..Assignment::default()
            }),
            Some(m) => m.assignment.read().clone(),
        }
    }

    /// `Ok` when this worker may perform a leader-only write.
    pub fn check_leader(&self) -> Result<()> {
        match self.assignment() {
            Some(a) if a.is_leader => Ok(()),
            Some(a) if !a.leader_url.is_empty() => Err(Error::NotLeader(a.leader_url)),
            _ => Err(Error::Conflict(REBALANCING.to_string())),
        }
    }

    /// Ask the reconcile loop for a pass and wait until one that started after this call ends.
    pub async fn reconcile_now(&self) {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake.notify_one();
        let mut rx = self.done.subscribe();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            rx.wait_for(|d| *d >= ticket),
        )
        .await;
    }

    /// Wake the reconcile loop without waiting.
    pub fn poke(&self) {
        self.requested.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn exists(&self, name: &str) -> Result<crate::storage::config::ConnectorEntry> {
        self.configs
            .snapshot()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("Connector {name} not found")))
    }

    /// `source` / `sink` / `unknown` for a config.
    pub fn connector_type(config: &Props) -> &'static str {
        config
            .get("connector.class")
            .and_then(|c| plugins::connector(c))
            .map(|p| p.connector_type().name())
            .unwrap_or("unknown")
    }

    // ---- reads ----

    pub fn connectors(&self) -> Vec<String> {
        self.configs.snapshot().connectors.keys().cloned().collect()
    }

    /// `{"name","config","tasks":[{"connector","task"}],"type"}`.
    pub fn connector_info(&self, name: &str) -> Result<Json> {
        let entry = self.exists(name)?;
        Ok(json!({
            "name": name,
            "config": entry.config,
            "tasks": (0..entry.tasks.len()).map(|t| json!({"connector": name, "task": t})).collect::<Vec<_>>(),
            "type": Self::connector_type(&entry.config),
        }))
    }

    pub fn connector_config(&self, name: &str) -> Result<Props> {
        Ok(self.exists(name)?.config)
    }

    /// `[{"id":{"connector","task"},"config":{...}}]`.
    pub fn task_configs(&self, name: &str) -> Result<Json> {
        let entry = self.exists(name)?;
        Ok(Json::Array(
            entry
                .tasks
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"id": {"connector": name, "task": i}, "config": t}))
                .collect(),
        ))
    }

    /// `{"<name>-<n>": {...}}` (the deprecated `tasks-config` endpoint).
    pub fn tasks_config_map(&self, name: &str) -> Result<Json> {
        let entry = self.exists(name)?;
        Ok(Json::Object(
            entry
                .tasks
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("{name}-{i}"), json!(t)))
                .collect(),
        ))
    }

    /// `{"name","connector":{"state","worker_id"[,"trace"]},"tasks":[...],"type"}`.
    pub fn connector_status(&self, name: &str) -> Result<Json> {
        let status = self
            .statuses
            .connector(name)
            .ok_or_else(|| Error::NotFound(format!("No status found for connector {name}")))?;
        let config = self
            .configs
            .snapshot()
            .get(name)
            .map(|e| e.config.clone())
            .unwrap_or_default();
        let tasks: Vec<Json> = self
            .statuses
            .tasks(name)
            .into_iter()
            .map(|(t, s)| {
                let mut v = s.rest_json();
                v["id"] = json!(t);
                v
            })
            .collect();
        Ok(json!({
            "name": name,
            "connector": status.rest_json(),
            "tasks": tasks,
            "type": Self::connector_type(&config),
        }))
    }

    pub fn task_status(&self, name: &str, task: u32) -> Result<Json> {
        let s = self
            .statuses
            .task(name, task)
            .ok_or_else(|| Error::NotFound(format!("No status found for task {name}-{task}")))?;
        let mut v = json!({"id": task});
        if let (Some(o), Json::Object(extra)) = (v.as_object_mut(), s.rest_json()) {
            o.extend(extra);
        }
        Ok(v)
    }

    pub fn active_topics(&self, name: &str) -> Result<Json> {
        if !self.config.topic_tracking {
            return Err(Error::Forbidden("Topic tracking is disabled.".into()));
        }
        let topics: Vec<String> = self.statuses.topics(name).into_iter().collect();
        Ok(json!({ name: {"topics": topics} }))
    }

    pub fn reset_active_topics(&self, name: &str) -> Result<()> {
        if !self.config.topic_tracking {
            return Err(Error::Forbidden("Topic tracking is disabled.".into()));
        }
        if !self.config.topic_tracking_reset {
            return Err(Error::Forbidden("Topic tracking reset is disabled.".into()));
        }
        self.statuses.reset_topics(name);
        Ok(())
    }

    // ---- writes ----

    /// Create (or, with `allow_replace`, update) a connector after validating its config.
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial: Option<TargetState>,
    ) -> Result<Created> {
        let infos = validate::validate(&config)?;
        if infos.error_count() > 0 {
            return Err(Error::BadRequest(validate::invalid_config_message(&infos)));
        }
        self.check_leader()?;
        let exists = self.configs.snapshot().contains(name);
        if exists && !allow_replace {
            return Err(Error::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        self.configs
            .put_connector_config(name, &config, if exists { None } else { initial })
            .await?;
        self.after_config_change().await;
        Ok(Created {
            created: !exists,
            info: self.connector_info(name)?,
        })
    }

    /// KIP-477: merge `patch` into the config (`null` removes a key).
    pub async fn patch_connector_config(
        &self,
        name: &str,
        patch: serde_json::Map<String, Json>,
    ) -> Result<Json> {
        let mut config = self.exists(name)?.config;
        for (k, v) in patch {
            match v {
                Json::Null => {
                    config.remove(&k);
                }
                Json::String(s) => {
                    config.insert(k, s);
                }
                other => {
                    config.insert(k, other.to_string());
                }
            }
        }
        if let Some(n) = config.get("name") {
            if n != name {
                return Err(Error::BadRequest(format!(
                    "Connector name configuration ({n}) doesn't match connector name in the URL ({name})"
                )));
            }
        }
        config.insert("name".into(), name.to_string());
        Ok(self
            .put_connector_config(name, config, true, None)
            .await?
            .info)
    }

    pub async fn delete_connector(&self, name: &str) -> Result<()> {
        self.exists(name)?;
        self.check_leader()?;
        self.configs.remove_connector(name).await?;
        self.statuses.remove_connector(name);
        self.after_config_change().await;
        Ok(())
    }

    pub async fn pause_connector(&self, name: &str) -> Result<()> {
        if !self.configs.snapshot().contains(name) {
            return Err(Error::NotFound(format!("Unknown connector {name}")));
        }
        self.configs
            .put_target_state(name, TargetState::Paused)
            .await?;
        self.after_target_change().await;
        Ok(())
    }

    pub async fn resume_connector(&self, name: &str) -> Result<()> {
        if !self.configs.snapshot().contains(name) {
            return Err(Error::NotFound(format!("Unknown connector {name}")));
        }
        self.configs
            .put_target_state(name, TargetState::Started)
            .await?;
        self.after_target_change().await;
        Ok(())
    }

    /// KIP-875 stop: no tasks, target state STOPPED.
    pub async fn stop_connector(&self, name: &str) -> Result<()> {
        if !self.configs.snapshot().contains(name) {
            return Err(Error::NotFound(format!("Unknown connector: {name}")));
        }
        self.check_leader()?;
        self.configs.put_task_configs(name, &[]).await?;
        self.configs
            .put_target_state(name, TargetState::Stopped)
            .await?;
        self.after_config_change().await;
        Ok(())
    }

    /// `POST /connectors/{c}/restart`. `Ok(None)`: the connector alone
    /// (204); `Ok(Some(state))`: the plan with RESTARTING marks (202).
    pub async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<Option<Json>> {
        if !self.configs.snapshot().contains(name) {
            return Err(Error::NotFound(format!("Unknown connector: {name}")));
        }
        self.check_leader()?;
        let request = RestartRequest {
            connector: name.to_string(),
            include_tasks,
            only_failed,
        };
        let plan = if !include_tasks && !only_failed {
            None
        } else {
            let mut state = self
                .connector_status(name)
                .map_err(|_| Error::NotFound(format!("Status for connector {name} not found")))?;
            let connector_restarts = !only_failed || state["connector"]["state"] == "FAILED";
            if connector_restarts {
                state["connector"]["state"] = json!("RESTARTING");
            }
            if let Some(tasks) = state["tasks"].as_array_mut() {
                for t in tasks {
                    if include_tasks && (!only_failed || t["state"] == "FAILED") {
                        t["state"] = json!("RESTARTING");
                    }
                }
            }
            Some(state)
        };
        self.configs.put_restart_request(&request).await?;
        if !self.is_distributed() {
            self.reconcile_now().await;
        }
        Ok(plan)
    }

    /// `POST /connectors/{c}/tasks/{t}/restart`: here if this worker runs the
    /// task, else on the worker that does.
    pub async fn restart_task(&self, name: &str, task: u32) -> Result<()> {
        let entry = self.exists(name)?;
        if task as usize >= entry.tasks.len() {
            return Err(Error::NotFound(format!("Task {name}-{task} not found")));
        }
        let id: TaskId = (name.to_string(), task);
        let owned = match self.assignment() {
            None => return Err(Error::Conflict(REBALANCING.to_string())),
            Some(a) => !self.is_distributed() || a.tasks.contains(&id),
        };
        if !owned {
            let owner = self
                .statuses
                .task(name, task)
                .map(|s| s.worker_id)
                .filter(|w| !w.is_empty() && w != self.worker_id())
                .ok_or_else(|| Error::Conflict(REBALANCING.to_string()))?;
            return Err(Error::NotLeader(format!("http://{owner}")));
        }
        self.worker.shared.statuses.put_task(
            name,
            task,
            self.worker.shared.status(State::Restarting),
        );
        self.worker.stop_task(&id).await;
        self.reconcile_now().await;
        Ok(())
    }

    /// Internal (distributed): task configs sent by the worker running the connector.
    pub async fn put_task_configs(&self, name: &str, tasks: Vec<Props>) -> Result<()> {
        if !self.is_distributed() {
            return Err(Error::Connect(
                "Kafka Connect in standalone mode does not support externally setting task configurations.".into(),
            ));
        }
        self.exists(name)?;
        self.check_leader()?;
        self.configs.put_task_configs(name, &tasks).await?;
        self.after_config_change().await;
        Ok(())
    }

    /// Standalone: run the change now, so answers show the new tasks.
    /// Distributed: a rebalance hands the change out.
    async fn after_config_change(&self) {
        match &self.membership {
            None => self.reconcile_now().await,
            Some(m) => m.rejoin.notify_one(),
        }
    }

    async fn after_target_change(&self) {
        if self.membership.is_none() {
            self.reconcile_now().await;
        }
    }

    /// The type of a connector that exists.
    pub fn plugin_type(&self, name: &str) -> Result<ConnectorType> {
        let entry = self.exists(name)?;
        entry
            .config
            .get("connector.class")
            .and_then(|c| plugins::connector(c))
            .map(|p| p.connector_type())
            .ok_or_else(|| Error::Connect(format!("Connector {name} has an unknown class")))
    }

    pub(crate) fn requested(&self) -> u64 {
        self.requested.load(Ordering::SeqCst)
    }

    pub(crate) fn mark_done(&self, ticket: u64) {
        self.done.send_modify(|d| *d = (*d).max(ticket));
    }

    pub(crate) async fn wait_wake(&self) {
        self.wake.notified().await
    }
}
