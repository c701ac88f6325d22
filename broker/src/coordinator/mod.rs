//! The group coordinator: classic consumer groups (Kafka's group protocol
//! before KIP-848) and committed offsets, kept in `__consumer_offsets`.
//!
//! This broker coordinates every group (single node). The parts:
//! - [`group`]: a group and its members, the data Kafka's `GroupMetadata` holds.
//! - [`membership`]: JoinGroup / SyncGroup / Heartbeat / LeaveGroup and the
//!   rebalance state machine (Empty → PreparingRebalance → CompletingRebalance
//!   → Stable), session expiry, static membership.
//! - [`offsets`]: OffsetCommit / OffsetFetch / OffsetDelete, offset retention.
//! - [`records`]: the key and value formats of `__consumer_offsets` records.
//! - [`store`]: the topic itself, appends and fsyncs, and the replay at start-up.
//!
//! All state sits behind one lock. Operations that may write run on blocking
//! threads: they append to the group's partition while holding the lock (so
//! the log's order is the order applied in memory) and fsync after releasing
//! it. A JoinGroup or SyncGroup that must wait for other members gets a
//! [`Pending::Wait`]; a timer task acts on deadlines (session timeouts,
//! rebalance timeouts, the initial rebalance delay) and expires old offsets.

pub mod group;
pub mod membership;
pub mod offsets;
pub mod records;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

use crate::broker::{ApiError, Broker};
use crate::config::BrokerConfig;
use group::{Group, GroupState};
use store::Writes;

pub use records::OFFSETS_TOPIC;

/// The coordinator's settings, Kafka's broker properties of the same names.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms` (3000).
    pub initial_rebalance_delay: Duration,
    /// `group.min.session.timeout.ms` (6000).
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (1800000).
    pub max_session_timeout_ms: i32,
    /// `group.max.size` (unbounded).
    pub max_group_size: usize,
    /// `offsets.topic.num.partitions` (50).
    pub offsets_partitions: i32,
    /// `offsets.topic.segment.bytes` (100 MiB).
    pub offsets_segment_bytes: i64,
    /// `offsets.retention.minutes` (7 days).
    pub offsets_retention: Duration,
    /// `offsets.retention.check.interval.ms` (10 minutes).
    pub retention_check_interval: Duration,
    /// `offset.metadata.max.bytes` (4096).
    pub max_metadata_bytes: usize,
}

impl GroupConfig {
    pub fn from_broker(config: &BrokerConfig) -> Self {
        let get = |key: &str, default: i64| -> i64 {
            config
                .props
                .get(key)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
        Self {
            initial_rebalance_delay: ms(get("group.initial.rebalance.delay.ms", 3000)),
            min_session_timeout_ms: get("group.min.session.timeout.ms", 6000) as i32,
            max_session_timeout_ms: get("group.max.session.timeout.ms", 1_800_000) as i32,
            max_group_size: get("group.max.size", i32::MAX as i64).max(1) as usize,
            offsets_partitions: get("offsets.topic.num.partitions", 50).clamp(1, 10_000) as i32,
            offsets_segment_bytes: get("offsets.topic.segment.bytes", 104_857_600).max(1024),
            offsets_retention: ms(get("offsets.retention.minutes", 10_080).saturating_mul(60_000)),
            retention_check_interval: ms(get("offsets.retention.check.interval.ms", 600_000))
                .max(Duration::from_millis(10)),
            max_metadata_bytes: get("offset.metadata.max.bytes", 4096).max(0) as usize,
        }
    }
}

/// An answer that is ready now, or one that comes when the group gets there.
pub enum Pending<T> {
    Ready(T),
    Wait(oneshot::Receiver<T>),
}

impl<T> Pending<T> {
    /// The answer; `if_dropped` if the waiter was dropped unanswered (a
    /// superseded request).
    pub async fn resolve(self, if_dropped: impl FnOnce() -> T) -> T {
        match self {
            Pending::Ready(t) => t,
            Pending::Wait(rx) => rx.await.unwrap_or_else(|_| if_dropped()),
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What one operation on the coordinator works with.
pub(crate) struct Env<'a> {
    pub broker: &'a Broker,
    pub config: &'a GroupConfig,
    pub now: Instant,
    pub now_ms: i64,
    pub writes: Writes,
}

impl<'a> Env<'a> {
    fn new(broker: &'a Broker, config: &'a GroupConfig) -> Self {
        Self {
            broker,
            config,
            now: Instant::now(),
            now_ms: now_ms(),
            writes: Writes::default(),
        }
    }

    /// Write the group's metadata (with these assignments) to its partition.
    fn store_group(
        &mut self,
        group: &mut Group,
        assignment: &HashMap<String, Bytes>,
    ) -> Result<(), ApiError> {
        let value = records::group_value(&group.to_value(assignment));
        store::append(
            self.broker,
            self.config,
            &group.id,
            vec![(records::group_key(&group.id), Some(value))],
            self.now_ms,
            &mut self.writes,
        )?;
        group.stored = true;
        Ok(())
    }

    /// Make this operation's writes durable; failures are logged (the
    /// in-memory state already moved on, as Kafka's does).
    fn finish(self) {
        if let Err(e) = self.writes.sync(self.broker.fsync_on_ack) {
            tracing::warn!(error = ?e.message, "group metadata write not durable");
        }
    }
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub state: GroupState,
    pub protocol_type: String,
    /// The protocol in use (only when Stable, as Kafka).
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as ListGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

/// The coordinator of every group.
pub struct GroupCoordinator {
    config: GroupConfig,
    groups: Mutex<HashMap<String, Group>>,
    /// Wakes the timer task when a deadline earlier than its next wake appears.
    wake: Notify,
    /// When the timer task will wake next (None while it is working).
    scheduled: Mutex<Option<Instant>>,
    timer: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCoordinator {
    pub fn new(config: &BrokerConfig) -> Self {
        Self {
            config: GroupConfig::from_broker(config),
            groups: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            scheduled: Mutex::new(None),
            timer: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// Load groups and offsets from `__consumer_offsets`, then start the
    /// timer task. Call once, before serving.
    pub async fn start(broker: &Arc<Broker>) -> anyhow::Result<()> {
        let b = broker.clone();
        tokio::task::spawn_blocking(move || b.groups.load(&b)).await??;
        let handle = tokio::spawn(timer_loop(broker.clone()));
        if let Some(old) = broker.groups.timer.lock().replace(handle) {
            old.abort();
        }
        Ok(())
    }

    /// Stop the timer task (broker shutdown).
    pub fn stop(&self) {
        if let Some(handle) = self.timer.lock().take() {
            handle.abort();
        }
    }

    /// Rebuild groups and committed offsets from `__consumer_offsets`. Blocking.
    pub fn load(&self, broker: &Broker) -> anyhow::Result<()> {
        let mut groups = HashMap::new();
        store::replay(broker, &mut groups, now_ms())?;
        *self.groups.lock() = groups;
        Ok(())
    }

    /// Make sure `__consumer_offsets` exists (FindCoordinator). Blocking.
    pub fn ensure_offsets_topic(&self, broker: &Broker) -> Result<(), ApiError> {
        store::offsets_topic(broker, &self.config).map(|_| ())
    }

    /// Tell the timer task about a deadline.
    fn schedule(&self, deadline: Option<Instant>) {
        let Some(at) = deadline else { return };
        let scheduled = *self.scheduled.lock();
        if scheduled.is_none_or(|s| at < s) {
            self.wake.notify_one();
        }
    }

    /// Act on every deadline that has passed; the next deadline. Blocking.
    fn tick(&self, broker: &Broker) -> Option<Instant> {
        *self.scheduled.lock() = None;
        let mut env = Env::new(broker, &self.config);
        let mut groups = self.groups.lock();
        let mut next: Option<Instant> = None;
        for group in groups.values_mut() {
            if group.next_deadline().is_some_and(|d| d <= env.now) {
                membership::expire_deadlines(&mut env, group);
            }
            if let Some(d) = group.next_deadline() {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        }
        // E.g. a MEMBER_ID_REQUIRED id that was never used, in a new group.
        groups.retain(|_, g| !g.is_forgettable());
        drop(groups);
        env.finish();
        next
    }

    /// DescribeGroups for one group; None if it does not exist.
    pub fn describe_group(&self, group_id: &str) -> Option<GroupDescription> {
        let groups = self.groups.lock();
        let group = groups.get(group_id)?;
        if group.is(GroupState::Dead) {
            return None;
        }
        let stable = group.is(GroupState::Stable);
        let protocol = if stable {
            group.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let members = group
            .members
            .values()
            .map(|m| MemberDescription {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: if stable {
                    m.metadata(&protocol)
                } else {
                    Bytes::new()
                },
                assignment: if stable {
                    m.assignment.clone()
                } else {
                    Bytes::new()
                },
            })
            .collect();
        Some(GroupDescription {
            state: group.state,
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol,
            members,
        })
    }

    /// Every group, sorted by id.
    pub fn list_groups(&self) -> Vec<GroupListing> {
        let groups = self.groups.lock();
        let mut out: Vec<GroupListing> = groups
            .values()
            .filter(|g| !g.is(GroupState::Dead))
            .map(|g| GroupListing {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state,
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DeleteGroups: only empty groups; their offsets and metadata get
    /// tombstones. One result per id. Blocking.
    pub fn delete_groups(&self, broker: &Broker, group_ids: &[String]) -> Vec<Option<ApiError>> {
        let mut env = Env::new(broker, &self.config);
        let mut groups = self.groups.lock();
        let mut results = Vec::with_capacity(group_ids.len());
        let mut deleted = HashSet::new();
        for id in group_ids {
            let result = match groups.get(id) {
                None => Some(ApiError::code(ResponseError::GroupIdNotFound)),
                Some(_) if deleted.contains(id) => {
                    Some(ApiError::code(ResponseError::GroupIdNotFound))
                }
                Some(g) if g.is(GroupState::Dead) => {
                    Some(ApiError::code(ResponseError::GroupIdNotFound))
                }
                Some(g) if !g.is(GroupState::Empty) => {
                    Some(ApiError::code(ResponseError::NonEmptyGroup))
                }
                Some(g) => {
                    let mut tombstones: Vec<(Bytes, Option<Bytes>)> = g
                        .offsets
                        .keys()
                        .map(|(t, p)| (records::offset_key(id, t, *p), None))
                        .collect();
                    tombstones.push((records::group_key(id), None));
                    match store::append(
                        broker,
                        &self.config,
                        id,
                        tombstones,
                        env.now_ms,
                        &mut env.writes,
                    ) {
                        Ok(()) => {
                            groups.remove(id);
                            deleted.insert(id.clone());
                            tracing::info!(group = %id, "deleted group");
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
            };
            results.push(result);
        }
        drop(groups);
        if let Err(e) = env.writes.sync(broker.fsync_on_ack) {
            for r in results.iter_mut().filter(|r| r.is_none()) {
                *r = Some(e.clone());
            }
        }
        results
    }
}

/// The coordinator's timer: deadlines of every group, and the periodic
/// offset retention check.
async fn timer_loop(broker: Arc<Broker>) {
    let check_every = broker.groups.config.retention_check_interval;
    let mut next_retention = Instant::now() + check_every;
    loop {
        let b = broker.clone();
        let next = tokio::task::spawn_blocking(move || b.groups.tick(&b))
            .await
            .unwrap_or(None);
        let wake_at = next.map_or(next_retention, |n| n.min(next_retention));
        *broker.groups.scheduled.lock() = Some(wake_at);
        tokio::select! {
            _ = tokio::time::sleep_until(wake_at.into()) => {}
            _ = broker.groups.wake.notified() => {}
        }
        if Instant::now() >= next_retention {
            let b = broker.clone();
            let _ = tokio::task::spawn_blocking(move || b.groups.expire_offsets(&b)).await;
            next_retention = Instant::now() + check_every;
        }
    }
}
