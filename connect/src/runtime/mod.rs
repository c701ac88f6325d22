//! The worker: runs the connectors and tasks assigned to this process, each
//! task on the tokio runtime (its blocking calls on the blocking pool).
//!
//! - [`source`]: poll → transforms → converters → producer; source offsets
//!   committed every `offset.flush.interval.ms` once the records are acknowledged.
//! - [`sink`]: consumer in group `connect-<name>` → converters → transforms →
//!   `put`; `flush` then commit of the consumer offsets every
//!   `offset.flush.interval.ms`.
//! - [`errors`]: `errors.tolerance`, error logging, dead letter queue.

pub mod errors;
pub mod sink;
pub mod source;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{with_prefix, Props, WorkerConfig};
use crate::connectors::{ConnectorPlugin, ConnectorType};
use crate::converters::{self, Converter, HeaderConverter};
use crate::error::{Error, Result};
use crate::plugins;
use crate::storage::config::TargetState;
use crate::storage::offsets::OffsetStore;
use crate::storage::status::{State, Status, StatusStore};

/// A task: (connector, number).
pub type TaskId = (String, u32);

/// What every task runner shares.
pub struct WorkerShared {
    pub worker_id: String,
    pub config: Arc<WorkerConfig>,
    pub statuses: Arc<StatusStore>,
    pub offsets: Arc<OffsetStore>,
    pub generation: AtomicI32,
}

impl WorkerShared {
    pub fn status(&self, state: State) -> Status {
        Status::new(
            state,
            &self.worker_id,
            self.generation.load(Ordering::SeqCst),
        )
    }

    /// A task status, unless another worker has taken the task over since
    /// (Connect's `putSafe`).
    pub fn put_task_safe(&self, id: &TaskId, status: Status) {
        if let Some(cur) = self.statuses.task(&id.0, id.1) {
            if cur.worker_id != self.worker_id && cur.generation > status.generation {
                return;
            }
        }
        self.statuses.put_task(&id.0, id.1, status);
    }

    pub fn put_task(&self, id: &TaskId, state: State) {
        self.statuses.put_task(&id.0, id.1, self.status(state));
    }

    pub fn fail_task(&self, id: &TaskId, e: &Error) {
        tracing::error!(connector = %id.0, task = id.1, error = %e, "task failed");
        let mut s = self.status(State::Failed);
        s.trace = Some(errors::trace(e));
        self.put_task_safe(id, s);
    }
}

/// The converters of a connector: its own settings, else the worker's.
pub struct Converters {
    pub key: Arc<dyn Converter>,
    pub value: Arc<dyn Converter>,
    pub header: Arc<dyn HeaderConverter>,
    /// Full class names, as error reports (`__connect.errors.class.name`) give them.
    pub key_class: String,
    pub value_class: String,
    pub header_class: String,
}

impl Converters {
    pub fn for_connector(worker: &WorkerConfig, connector: &Props) -> Result<Converters> {
        let pick = |which: &str| -> (String, Props) {
            match connector
                .get(which)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
            {
                Some(class) => (
                    class.to_string(),
                    with_prefix(connector, &format!("{which}.")),
                ),
                None => worker.converter(which),
            }
        };
        let (k, kp) = pick("key.converter");
        let (v, vp) = pick("value.converter");
        let (h, hp) = pick("header.converter");
        let full = |c: &str| converters::resolve(c).unwrap_or(c.trim()).to_string();
        Ok(Converters {
            key: converters::converter(&k, &kp, true)?,
            value: converters::converter(&v, &vp, false)?,
            header: converters::header_converter(&h, &hp)?,
            key_class: full(&k),
            value_class: full(&v),
            header_class: full(&h),
        })
    }
}

/// What a running task is told.
pub struct TaskSpec {
    pub id: TaskId,
    pub plugin: Arc<dyn ConnectorPlugin>,
    pub connector_config: Props,
    pub task_config: Props,
}

struct RunningTask {
    connector_config: Props,
    task_config: Props,
    control: watch::Sender<TargetState>,
    handle: JoinHandle<()>,
}

/// A connector instance running on this worker.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningConnector {
    pub config: Props,
    pub target: TargetState,
    pub failed: bool,
}

/// The connectors and tasks this process runs.
pub struct Worker {
    pub shared: Arc<WorkerShared>,
    connectors: parking_lot::Mutex<BTreeMap<String, RunningConnector>>,
    tasks: tokio::sync::Mutex<BTreeMap<TaskId, RunningTask>>,
}

impl Worker {
    pub fn new(shared: Arc<WorkerShared>) -> Arc<Worker> {
        Arc::new(Worker {
            shared,
            connectors: parking_lot::Mutex::new(BTreeMap::new()),
            tasks: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    pub fn worker_id(&self) -> &str {
        &self.shared.worker_id
    }

    pub fn set_generation(&self, generation: i32) {
        self.shared.generation.store(generation, Ordering::SeqCst);
    }

    pub fn connector(&self, name: &str) -> Option<RunningConnector> {
        self.connectors.lock().get(name).cloned()
    }

    pub fn connector_names(&self) -> Vec<String> {
        self.connectors.lock().keys().cloned().collect()
    }

    /// Start (or reconfigure) a connector instance: check its config and
    /// report its state. Returns the plugin when it runs.
    pub fn start_connector(
        &self,
        name: &str,
        config: &Props,
        target: TargetState,
    ) -> Option<Arc<dyn ConnectorPlugin>> {
        let class = config.get("connector.class").cloned().unwrap_or_default();
        let result = plugins::connector(&class)
            .ok_or_else(|| Error::Connect(format!("Failed to find any class that implements Connector and which name matches {class}")))
            .and_then(|p| {
                let def = p.config_def();
                def.parse(config).map_err(Error::Config)?;
                Ok(p)
            });
        let state = match target {
            TargetState::Started => State::Running,
            TargetState::Paused => State::Paused,
            TargetState::Stopped => State::Stopped,
        };
        match result {
            Ok(p) => {
                self.shared
                    .statuses
                    .put_connector(name, self.shared.status(state));
                self.connectors.lock().insert(
                    name.to_string(),
                    RunningConnector {
                        config: config.clone(),
                        target,
                        failed: false,
                    },
                );
                Some(p)
            }
            Err(e) => {
                let mut s = self.shared.status(State::Failed);
                s.trace = Some(errors::trace(&e));
                self.shared.statuses.put_connector(name, s);
                self.connectors.lock().insert(
                    name.to_string(),
                    RunningConnector {
                        config: config.clone(),
                        target,
                        failed: true,
                    },
                );
                None
            }
        }
    }

    /// Stop a connector instance; `deleted`: its statuses go too.
    pub fn stop_connector(&self, name: &str, deleted: bool) {
        if self.connectors.lock().remove(name).is_some() && !deleted {
            self.shared
                .statuses
                .put_connector(name, self.shared.status(State::Unassigned));
        }
    }

    /// Mark a connector as restarting and start it again.
    pub fn restart_connector(&self, name: &str) -> Option<Arc<dyn ConnectorPlugin>> {
        let running = self.connector(name)?;
        self.shared
            .statuses
            .put_connector(name, self.shared.status(State::Restarting));
        self.connectors.lock().remove(name);
        self.start_connector(name, &running.config, running.target)
    }

    pub async fn task_ids(&self) -> Vec<TaskId> {
        self.tasks.lock().await.keys().cloned().collect()
    }

    /// The configs a running task was started with.
    pub async fn task_configs(&self, id: &TaskId) -> Option<(Props, Props)> {
        self.tasks
            .lock()
            .await
            .get(id)
            .map(|t| (t.connector_config.clone(), t.task_config.clone()))
    }

    pub async fn start_task(&self, spec: TaskSpec, target: TargetState) {
        let id = spec.id.clone();
        let (control, control_rx) = watch::channel(target);
        let shared = self.shared.clone();
        let connector_config = spec.connector_config.clone();
        let task_config = spec.task_config.clone();
        tracing::info!(connector = %id.0, task = id.1, "starting task");
        let handle = match spec.plugin.connector_type() {
            ConnectorType::Source => tokio::spawn(source::run(shared, spec, control_rx)),
            ConnectorType::Sink => tokio::spawn(sink::run(shared, spec, control_rx)),
        };
        self.tasks.lock().await.insert(
            id,
            RunningTask {
                connector_config,
                task_config,
                control,
                handle,
            },
        );
    }

    /// Tell a running task its connector's target state.
    pub async fn set_task_target(&self, id: &TaskId, target: TargetState) {
        if let Some(t) = self.tasks.lock().await.get(id) {
            t.control.send_if_modified(|cur| {
                let changed = *cur != target;
                *cur = target;
                changed
            });
        }
    }

    /// Stop a task and wait for it (up to `task.shutdown.graceful.timeout.ms`).
    pub async fn stop_task(&self, id: &TaskId) {
        let Some(t) = self.tasks.lock().await.remove(id) else {
            return;
        };
        tracing::info!(connector = %id.0, task = id.1, "stopping task");
        let _ = t.control.send(TargetState::Stopped);
        let mut handle = t.handle;
        let timeout = self.shared.config.task_shutdown_timeout;
        if tokio::time::timeout(timeout, &mut handle).await.is_err() {
            tracing::warn!(connector = %id.0, task = id.1, "graceful stop of task failed; aborting it");
            handle.abort();
        }
    }

    /// Stop several tasks concurrently.
    pub async fn stop_tasks(&self, ids: &[TaskId]) {
        futures::future::join_all(ids.iter().map(|id| self.stop_task(id))).await;
    }

    /// Stop everything (worker shutdown).
    pub async fn stop_all(&self) {
        let ids = self.task_ids().await;
        self.stop_tasks(&ids).await;
        for name in self.connector_names() {
            self.stop_connector(&name, false);
        }
    }
}

/// Wait while paused; `false` when the task must stop.
pub(crate) async fn wait_while_paused(
    shared: &WorkerShared,
    id: &TaskId,
    control: &mut watch::Receiver<TargetState>,
    on_pause: impl Fn(bool),
) -> bool {
    let target = *control.borrow();
    match target {
        TargetState::Started => true,
        TargetState::Stopped => false,
        TargetState::Paused => {
            shared.put_task(id, State::Paused);
            on_pause(true);
            let outcome = control
                .wait_for(|t| *t != TargetState::Paused)
                .await
                .map(|t| *t)
                .unwrap_or(TargetState::Stopped);
            if outcome == TargetState::Started {
                shared.put_task(id, State::Running);
                on_pause(false);
                true
            } else {
                false
            }
        }
    }
}
