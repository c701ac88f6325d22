//! The reconcile loop: after every change of configs, assignment or restart
//! requests, make the worker run exactly what it owns, in the target state
//! its connector should be in.
//!
//! One pass:
//! 1. restart requests (`restart-connector-<name>`) for what this worker owns;
//! 2. connectors: stop those no longer owned or deleted, (re)start the owned
//!    ones whose config changed, report target-state changes; a running,
//!    started connector's task configs are regenerated and, when they
//!    differ, written (by the leader, or sent to it);
//! 3. tasks: stop those no longer owned, deleted, or reconfigured; start the
//!    owned ones not running; tell running ones their connector's target state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::{Assignment, Herder};
use crate::config::Props;
use crate::error::{Error, Result};
use crate::plugins;
use crate::runtime::{TaskId, TaskSpec};
use crate::storage::config::{ClusterConfigState, RestartRequest, TargetState};
use crate::storage::status::State;

/// Run passes until `stop` fires.
pub async fn run(herder: Arc<Herder>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut changes = herder.configs.subscribe();
    let mut last_shape: Option<BTreeMap<String, usize>> = None;
    loop {
        let ticket = herder.requested();
        if let Err(e) = pass(&herder, &mut last_shape).await {
            tracing::warn!(error = %e, "reconciling failed; retrying");
        }
        herder.mark_done(ticket);
        if herder.requested() > ticket {
            continue;
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = herder.wait_wake() => {}
            r = changes.changed() => if r.is_err() { break },
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
    herder.worker.stop_all().await;
}

fn owns_connector(a: &Assignment, distributed: bool, name: &str) -> bool {
    !distributed || a.connectors.contains(name)
}

fn owns_task(a: &Assignment, distributed: bool, id: &TaskId) -> bool {
    !distributed || a.tasks.contains(id)
}

async fn pass(
    herder: &Arc<Herder>,
    last_shape: &mut Option<BTreeMap<String, usize>>,
) -> Result<()> {
    let distributed = herder.is_distributed();
    let snap = herder.configs.snapshot();
    // Distributed: a new connector or a changed task count needs a new assignment.
    if let Some(m) = &herder.membership {
        let shape: BTreeMap<String, usize> = snap
            .connectors
            .iter()
            .map(|(n, e)| (n.clone(), e.tasks.len()))
            .collect();
        if last_shape.as_ref().is_some_and(|s| *s != shape) {
            m.rejoin.notify_one();
        }
        *last_shape = Some(shape);
    }
    let Some(assignment) = herder.assignment() else {
        // Rebalancing: eager protocol, nothing runs until the next assignment.
        let running = herder.worker.task_ids().await;
        herder.worker.stop_tasks(&running).await;
        for name in herder.worker.connector_names() {
            herder.worker.stop_connector(&name, false);
        }
        return Ok(());
    };
    if distributed && herder.configs.offset() < assignment.config_offset {
        // Not caught up with the configs the leader assigned from; the reader will get there.
        return Ok(());
    }
    herder.worker.set_generation(assignment.generation);

    for r in herder.configs.take_restarts() {
        restart(herder, &snap, &assignment, &r).await;
    }

    // Connectors.
    for name in herder.worker.connector_names() {
        let deleted = !snap.contains(&name);
        if deleted || !owns_connector(&assignment, distributed, &name) {
            herder.worker.stop_connector(&name, deleted);
        }
    }
    let mut task_updates: Vec<(String, Vec<Props>)> = Vec::new();
    for (name, entry) in &snap.connectors {
        if !owns_connector(&assignment, distributed, name) {
            continue;
        }
        let running = herder.worker.connector(name);
        let plugin = match &running {
            Some(r) if r.config == entry.config && r.target == entry.target => {
                if r.failed {
                    continue;
                }
                entry
                    .config
                    .get("connector.class")
                    .and_then(|c| plugins::connector(c))
            }
            _ => herder
                .worker
                .start_connector(name, &entry.config, entry.target),
        };
        let Some(plugin) = plugin else { continue };
        if entry.target == TargetState::Stopped {
            continue;
        }
        let max_tasks: usize = entry
            .config
            .get("tasks.max")
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(1);
        let config = entry.config.clone();
        let generated =
            tokio::task::spawn_blocking(move || plugin.task_configs(&config, max_tasks))
                .await
                .map_err(|e| Error::Connect(e.to_string()))?;
        match generated {
            Ok(tasks) => {
                // A connector whose task configs failed before (its database
                // was away) and now work again runs again.
                if herder
                    .statuses
                    .connector(name)
                    .is_some_and(|s| s.state == State::Failed)
                {
                    let target = if entry.target == TargetState::Paused {
                        State::Paused
                    } else {
                        State::Running
                    };
                    herder
                        .statuses
                        .put_connector(name, herder.worker.shared.status(target));
                }
                let tasks: Vec<Props> = tasks.into_iter().take(max_tasks.max(1)).collect();
                if tasks != entry.tasks {
                    task_updates.push((name.clone(), tasks));
                }
            }
            Err(e) => {
                let mut s = herder.worker.shared.status(State::Failed);
                s.trace = Some(crate::runtime::errors::trace(&e));
                herder.statuses.put_connector(name, s);
            }
        }
    }
    for (name, tasks) in task_updates {
        publish_task_configs(herder, &assignment, &name, tasks).await;
    }

    // Tasks.
    let mut desired: BTreeMap<TaskId, (Props, Props, TargetState)> = BTreeMap::new();
    for (name, entry) in &snap.connectors {
        if entry.target == TargetState::Stopped {
            continue;
        }
        for (i, t) in entry.tasks.iter().enumerate() {
            let id = (name.clone(), i as u32);
            if owns_task(&assignment, distributed, &id) {
                desired.insert(id, (entry.config.clone(), t.clone(), entry.target));
            }
        }
    }
    let mut to_stop = Vec::new();
    for id in herder.worker.task_ids().await {
        match (desired.get(&id), herder.worker.task_configs(&id).await) {
            (Some((cc, tc, _)), Some((rc, rt))) if *cc == rc && *tc == rt => {}
            _ => to_stop.push(id),
        }
    }
    herder.worker.stop_tasks(&to_stop).await;
    for id in &to_stop {
        if !snap.contains(&id.0) {
            // Deleted: no status should outlive the connector.
            herder.statuses.remove_connector(&id.0);
        }
    }
    let running: BTreeSet<TaskId> = herder.worker.task_ids().await.into_iter().collect();
    for (id, (cc, tc, target)) in desired {
        if running.contains(&id) {
            herder.worker.set_task_target(&id, target).await;
            continue;
        }
        let Some(plugin) = cc
            .get("connector.class")
            .and_then(|c| plugins::connector(c))
        else {
            continue;
        };
        herder
            .worker
            .start_task(
                TaskSpec {
                    id,
                    plugin,
                    connector_config: cc,
                    task_config: tc,
                },
                target,
            )
            .await;
    }
    // Statuses of tasks a connector no longer has.
    for (name, entry) in &snap.connectors {
        if owns_connector(&assignment, distributed, name) {
            herder
                .statuses
                .remove_tasks_from(name, entry.tasks.len() as u32);
        }
    }
    Ok(())
}

async fn restart(
    herder: &Arc<Herder>,
    snap: &ClusterConfigState,
    a: &Assignment,
    r: &RestartRequest,
) {
    let distributed = herder.is_distributed();
    let Some(entry) = snap.get(&r.connector) else {
        return;
    };
    if owns_connector(a, distributed, &r.connector) {
        let failed = herder
            .statuses
            .connector(&r.connector)
            .is_some_and(|s| s.state == State::Failed);
        if !r.only_failed || failed {
            tracing::info!(connector = %r.connector, "restarting connector");
            herder.worker.restart_connector(&r.connector);
        }
    }
    if !r.include_tasks {
        return;
    }
    let mut ids = Vec::new();
    for i in 0..entry.tasks.len() as u32 {
        let id = (r.connector.clone(), i);
        if !owns_task(a, distributed, &id) {
            continue;
        }
        let failed = herder
            .statuses
            .task(&r.connector, i)
            .is_some_and(|s| s.state == State::Failed);
        if !r.only_failed || failed {
            herder.statuses.put_task(
                &r.connector,
                i,
                herder.worker.shared.status(State::Restarting),
            );
            ids.push(id);
        }
    }
    // Stopped here; the task pass of this same reconcile starts them again.
    herder.worker.stop_tasks(&ids).await;
}

/// New task configs: written directly by the leader (or a standalone worker),
/// sent to the leader otherwise (`POST /connectors/{c}/tasks`).
async fn publish_task_configs(herder: &Arc<Herder>, a: &Assignment, name: &str, tasks: Vec<Props>) {
    if a.is_leader {
        if let Err(e) = herder.configs.put_task_configs(name, &tasks).await {
            tracing::warn!(connector = name, error = %e, "writing task configs failed");
        } else {
            herder.poke();
            if let Some(m) = &herder.membership {
                m.rejoin.notify_one();
            }
        }
        return;
    }
    let url = format!(
        "{}/connectors/{}/tasks?forward=true",
        a.leader_url.trim_end_matches('/'),
        name
    );
    let sent = herder
        .http
        .post(&url)
        .json(&tasks)
        .timeout(Duration::from_secs(30))
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            tracing::warn!(connector = name, status = %r.status(), "the leader refused task configs")
        }
        Err(e) => {
            tracing::warn!(connector = name, error = %e, "sending task configs to the leader failed")
        }
    }
}
