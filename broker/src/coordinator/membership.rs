//! The classic group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and
//! the rebalance state machine behind them, after Kafka's `GroupCoordinator`
//! (`ClassicGroup` in Kafka 4).
//!
//! ```text
//!   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
//!     ▲                  ▲     │                                       │
//!     │                  │     └── no members left ──▶ Empty           │ leader's SyncGroup
//!     │                  └──── join / leave / expiry ◀── Stable ◀──────┘
//! ```
//!
//! A rebalance completes when every known member has rejoined, or when the
//! rebalance timeout (the members' largest) expires; members that did not
//! rejoin are removed. The first rebalance of an empty group is delayed by
//! `group.initial.rebalance.delay.ms` (Kafka's `InitialDelayedJoin`). Members
//! are removed when their session expires without a heartbeat, and when they
//! do not send SyncGroup within the rebalance timeout after the join.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::group::{Group, GroupState, JoinResult, Member, SyncResult};
use super::{Env, GroupCoordinator, Pending};
use crate::broker::Broker;

/// How long a new member's JoinGroup may wait before it is dropped (Kafka's
/// `NewMemberJoinTimeoutMs`).
const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// A JoinGroup request, decoded.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v4+: a member without an id gets MEMBER_ID_REQUIRED first.
    pub require_known_member_id: bool,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
}

/// A SyncGroup request, decoded.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub group_id: String,
    pub generation: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: Vec<(String, Bytes)>,
}

/// One member of a LeaveGroup request.
#[derive(Debug, Clone)]
pub struct LeavingMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

impl GroupCoordinator {
    /// JoinGroup. Blocking (may write group metadata).
    pub fn join_group(&self, broker: &Broker, req: JoinRequest) -> Pending<JoinResult> {
        let fail = |e| Pending::Ready(JoinResult::error(req.member_id.clone(), e));
        if req.group_id.is_empty() {
            return fail(ResponseError::InvalidGroupId);
        }
        if req.session_timeout_ms < self.config.min_session_timeout_ms
            || req.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return fail(ResponseError::InvalidSessionTimeout);
        }
        let mut env = Env::new(broker, &self.config);
        let mut groups = self.groups.lock();
        let outcome = if req.member_id.is_empty() {
            let group = groups
                .entry(req.group_id.clone())
                .or_insert_with(|| Group::new(&req.group_id, env.now_ms));
            new_member_join(&mut env, group, &req)
        } else {
            match groups.get_mut(&req.group_id) {
                None => fail(ResponseError::UnknownMemberId),
                Some(group) => current_member_join(&mut env, group, &req),
            }
        };
        let next = groups.get_mut(&req.group_id).and_then(|group| {
            // A zero initial delay or a now-complete join finishes here.
            expire_deadlines(&mut env, group);
            try_complete_join(&mut env, group);
            group.next_deadline()
        });
        // A refused first join leaves nothing behind.
        if groups.get(&req.group_id).is_some_and(Group::is_forgettable) {
            groups.remove(&req.group_id);
        }
        drop(groups);
        self.schedule(next);
        env.finish();
        outcome
    }

    /// SyncGroup. Blocking (the leader's sync writes group metadata).
    pub fn sync_group(&self, broker: &Broker, req: SyncRequest) -> Pending<SyncResult> {
        if req.group_id.is_empty() {
            return Pending::Ready(SyncResult::error(ResponseError::InvalidGroupId));
        }
        let mut env = Env::new(broker, &self.config);
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(&req.group_id) else {
            return Pending::Ready(SyncResult::error(ResponseError::UnknownMemberId));
        };
        let outcome = sync(&mut env, group, req);
        let next = group.next_deadline();
        drop(groups);
        self.schedule(next);
        if let Err(e) = env.writes.sync(env.broker.fsync_on_ack) {
            return Pending::Ready(SyncResult::error(e.code));
        }
        outcome
    }

    /// Heartbeat: None when all is well.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation: i32,
    ) -> Option<ResponseError> {
        if group_id.is_empty() {
            return Some(ResponseError::InvalidGroupId);
        }
        let now = std::time::Instant::now();
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(group_id) else {
            return Some(ResponseError::UnknownMemberId);
        };
        if group.is(GroupState::Dead) {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        if let Err(e) = group.validate_member(member_id, group_instance_id) {
            return Some(e);
        }
        if generation != group.generation {
            return Some(ResponseError::IllegalGeneration);
        }
        let state = group.state;
        if state == GroupState::Empty {
            return Some(ResponseError::UnknownMemberId);
        }
        if let Some(m) = group.members.get_mut(member_id) {
            m.heartbeat_deadline = Some(now + m.session_timeout());
        }
        let next = group.next_deadline();
        drop(groups);
        self.schedule(next);
        (state == GroupState::PreparingRebalance).then_some(ResponseError::RebalanceInProgress)
    }

    /// LeaveGroup: the top-level error and one error per member.
    pub fn leave_group(
        &self,
        broker: &Broker,
        group_id: &str,
        members: &[LeavingMember],
    ) -> (Option<ResponseError>, Vec<Option<ResponseError>>) {
        if group_id.is_empty() {
            return (Some(ResponseError::InvalidGroupId), vec![]);
        }
        let mut env = Env::new(broker, &self.config);
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(group_id) else {
            let errors = members
                .iter()
                .map(|_| Some(ResponseError::UnknownMemberId))
                .collect();
            return (None, errors);
        };
        if group.is(GroupState::Dead) {
            return (Some(ResponseError::CoordinatorNotAvailable), vec![]);
        }
        let mut errors = Vec::with_capacity(members.len());
        for leaving in members {
            let instance = leaving.group_instance_id.as_deref();
            let error = if leaving.member_id.is_empty() {
                // Administrative removal of a static member by instance id.
                match instance.and_then(|i| group.static_members.get(i)).cloned() {
                    Some(current) => {
                        remove_member_and_update_group(&mut env, group, &current);
                        None
                    }
                    None => Some(ResponseError::UnknownMemberId),
                }
            } else if group.pending_members.remove(&leaving.member_id).is_some() {
                try_complete_join(&mut env, group);
                None
            } else if group.static_member_fenced(instance, &leaving.member_id) {
                Some(ResponseError::FencedInstanceId)
            } else if group.members.contains_key(&leaving.member_id) {
                remove_member_and_update_group(&mut env, group, &leaving.member_id);
                None
            } else {
                Some(ResponseError::UnknownMemberId)
            };
            errors.push(error);
        }
        let next = group.next_deadline();
        drop(groups);
        self.schedule(next);
        env.finish();
        (None, errors)
    }
}

/// A JoinGroup without a member id.
fn new_member_join(env: &mut Env<'_>, group: &mut Group, req: &JoinRequest) -> Pending<JoinResult> {
    let fail = |e| Pending::Ready(JoinResult::error(req.member_id.clone(), e));
    if group.is(GroupState::Dead) {
        return fail(ResponseError::CoordinatorNotAvailable);
    }
    if !group.supports_protocols(&req.protocol_type, &req.protocols) {
        return fail(ResponseError::InconsistentGroupProtocol);
    }
    if group.members.len() + group.pending_members.len() >= env.config.max_group_size {
        return fail(ResponseError::GroupMaxSizeReached);
    }
    let prefix = req
        .group_instance_id
        .as_deref()
        .unwrap_or(req.client_id.as_str());
    let new_id = format!("{prefix}-{}", Uuid::new_v4());
    if let Some(instance) = &req.group_instance_id {
        return match group.static_members.get(instance).cloned() {
            Some(old_id) => update_static_member(env, group, instance, &old_id, &new_id, req),
            None => add_member_and_rebalance(env, group, new_id, req),
        };
    }
    if req.require_known_member_id {
        // KIP-394: hand out the id and have the member join again with it.
        let deadline = env.now + Duration::from_millis(req.session_timeout_ms.max(0) as u64);
        group.pending_members.insert(new_id.clone(), deadline);
        return Pending::Ready(JoinResult::error(new_id, ResponseError::MemberIdRequired));
    }
    add_member_and_rebalance(env, group, new_id, req)
}

/// A JoinGroup with a member id.
fn current_member_join(
    env: &mut Env<'_>,
    group: &mut Group,
    req: &JoinRequest,
) -> Pending<JoinResult> {
    let member_id = req.member_id.as_str();
    let fail = |e| Pending::Ready(JoinResult::error(member_id, e));
    if group.is(GroupState::Dead) {
        return fail(ResponseError::CoordinatorNotAvailable);
    }
    if !group.supports_protocols(&req.protocol_type, &req.protocols) {
        return fail(ResponseError::InconsistentGroupProtocol);
    }
    if group.pending_members.remove(member_id).is_some() {
        return add_member_and_rebalance(env, group, member_id.to_string(), req);
    }
    let instance = req.group_instance_id.as_deref();
    if group.static_member_fenced(instance, member_id) {
        return fail(ResponseError::FencedInstanceId);
    }
    if !group.members.contains_key(member_id)
        || instance.is_some_and(|i| !group.static_members.contains_key(i))
    {
        return fail(ResponseError::UnknownMemberId);
    }
    let is_leader = group.is_leader(member_id);
    let matches = group
        .members
        .get(member_id)
        .is_some_and(|m| m.matches(&req.protocols));
    match group.state {
        GroupState::PreparingRebalance => update_member_and_rebalance(env, group, req),
        GroupState::CompletingRebalance if matches => {
            // The member lost its JoinGroup answer: give it again.
            Pending::Ready(current_generation(group, member_id, is_leader))
        }
        GroupState::CompletingRebalance => update_member_and_rebalance(env, group, req),
        // The leader rejoining forces a rebalance (its way to react to
        // metadata changes); so does a follower with new metadata (e.g. a
        // cooperative member that gave up partitions).
        GroupState::Stable if is_leader || !matches => update_member_and_rebalance(env, group, req),
        GroupState::Stable => Pending::Ready(current_generation(group, member_id, false)),
        GroupState::Empty | GroupState::Dead => fail(ResponseError::UnknownMemberId),
    }
}

/// The current generation as a JoinGroup answer.
fn current_generation(group: &Group, member_id: &str, with_members: bool) -> JoinResult {
    JoinResult {
        error: None,
        member_id: member_id.to_string(),
        generation: group.generation,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        leader: group.leader.clone().unwrap_or_default(),
        members: if with_members {
            group.current_member_metadata()
        } else {
            Vec::new()
        },
    }
}

fn add_member_and_rebalance(
    env: &mut Env<'_>,
    group: &mut Group,
    member_id: String,
    req: &JoinRequest,
) -> Pending<JoinResult> {
    let (tx, rx) = oneshot::channel();
    let member = Member {
        id: member_id,
        instance_id: req.group_instance_id.clone(),
        client_id: req.client_id.clone(),
        client_host: req.client_host.clone(),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        session_timeout_ms: req.session_timeout_ms,
        protocol_type: req.protocol_type.clone(),
        protocols: req.protocols.clone(),
        assignment: Bytes::new(),
        join_waiter: Some(tx),
        sync_waiter: None,
        is_new: true,
        heartbeat_deadline: Some(env.now + NEW_MEMBER_JOIN_TIMEOUT),
    };
    if group.is(GroupState::PreparingRebalance) && group.generation == 0 {
        group.new_member_added = true;
    }
    group.add_member(member);
    maybe_prepare_rebalance(env, group);
    Pending::Wait(rx)
}

fn update_member_and_rebalance(
    env: &mut Env<'_>,
    group: &mut Group,
    req: &JoinRequest,
) -> Pending<JoinResult> {
    let (tx, rx) = oneshot::channel();
    if let Some(m) = group.members.get_mut(&req.member_id) {
        m.protocols = req.protocols.clone();
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.session_timeout_ms = req.session_timeout_ms;
        // A previous JoinGroup of this member still waiting is superseded.
        m.join_waiter = Some(tx);
    }
    maybe_prepare_rebalance(env, group);
    Pending::Wait(rx)
}

/// A static member rejoined without its member id: it gets a new id, the old
/// one is fenced. No rebalance when the group is Stable and the protocol the
/// group would choose stays the same.
fn update_static_member(
    env: &mut Env<'_>,
    group: &mut Group,
    instance_id: &str,
    old_id: &str,
    new_id: &str,
    req: &JoinRequest,
) -> Pending<JoinResult> {
    let current_leader = group.leader.clone().unwrap_or_default();
    group.replace_static_member(instance_id, old_id, new_id);
    let (tx, rx) = oneshot::channel();
    if let Some(m) = group.members.get_mut(new_id) {
        m.protocols = req.protocols.clone();
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.session_timeout_ms = req.session_timeout_ms;
        m.client_id = req.client_id.clone();
        m.client_host = req.client_host.clone();
        m.heartbeat_deadline = Some(env.now + m.session_timeout());
        m.join_waiter = Some(tx);
    }
    match group.state {
        GroupState::Stable => {
            if group.select_protocol() == group.protocol_name {
                let assignment: HashMap<String, Bytes> = group
                    .members
                    .values()
                    .map(|m| (m.id.clone(), m.assignment.clone()))
                    .collect();
                let result = match env.store_group(group, &assignment) {
                    Ok(()) => JoinResult {
                        // The old leader id: the current leader must not take
                        // this answer as a reason to assign again.
                        leader: current_leader,
                        ..current_generation(group, new_id, false)
                    },
                    Err(e) => JoinResult::error(new_id, e.code),
                };
                if let Some(tx) = group
                    .members
                    .get_mut(new_id)
                    .and_then(|m| m.join_waiter.take())
                {
                    let _ = tx.send(result);
                }
            } else {
                maybe_prepare_rebalance(env, group);
            }
        }
        GroupState::CompletingRebalance => prepare_rebalance(env, group),
        GroupState::PreparingRebalance | GroupState::Empty | GroupState::Dead => {}
    }
    Pending::Wait(rx)
}

fn sync(env: &mut Env<'_>, group: &mut Group, req: SyncRequest) -> Pending<SyncResult> {
    let fail = |e| Pending::Ready(SyncResult::error(e));
    if group.is(GroupState::Dead) {
        return fail(ResponseError::CoordinatorNotAvailable);
    }
    if let Err(e) = group.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
        return fail(e);
    }
    if req.generation != group.generation {
        return fail(ResponseError::IllegalGeneration);
    }
    if req
        .protocol_type
        .as_ref()
        .is_some_and(|t| group.protocol_type.as_ref() != Some(t))
        || req
            .protocol_name
            .as_ref()
            .is_some_and(|p| group.protocol_name.as_ref() != Some(p))
    {
        return fail(ResponseError::InconsistentGroupProtocol);
    }
    match group.state {
        GroupState::Empty | GroupState::Dead => fail(ResponseError::UnknownMemberId),
        GroupState::PreparingRebalance => fail(ResponseError::RebalanceInProgress),
        GroupState::CompletingRebalance => {
            let (tx, rx) = oneshot::channel();
            if let Some(m) = group.members.get_mut(&req.member_id) {
                m.sync_waiter = Some(tx);
            }
            group.pending_sync.remove(&req.member_id);
            if group.pending_sync.is_empty() {
                group.sync_deadline = None;
            }
            if group.is_leader(&req.member_id) {
                let mut assignment: HashMap<String, Bytes> = req
                    .assignments
                    .into_iter()
                    .filter(|(id, _)| group.members.contains_key(id))
                    .collect();
                for id in group.members.keys() {
                    assignment.entry(id.clone()).or_default();
                }
                match env.store_group(group, &assignment) {
                    Ok(()) => {
                        propagate_assignment(env, group, &assignment);
                        group.transition(GroupState::Stable, env.now_ms);
                    }
                    Err(e) => {
                        reset_and_propagate_assignment_error(group, e.code);
                        maybe_prepare_rebalance(env, group);
                    }
                }
            }
            Pending::Wait(rx)
        }
        GroupState::Stable => {
            group.pending_sync.remove(&req.member_id);
            if group.pending_sync.is_empty() {
                group.sync_deadline = None;
            }
            let Some(m) = group.members.get_mut(&req.member_id) else {
                return fail(ResponseError::UnknownMemberId);
            };
            m.heartbeat_deadline = Some(env.now + m.session_timeout());
            Pending::Ready(SyncResult {
                error: None,
                protocol_type: group.protocol_type.clone(),
                protocol_name: group.protocol_name.clone(),
                assignment: m.assignment.clone(),
            })
        }
    }
}

fn propagate_assignment(env: &Env<'_>, group: &mut Group, assignment: &HashMap<String, Bytes>) {
    let protocol_type = group.protocol_type.clone();
    let protocol_name = group.protocol_name.clone();
    for m in group.members.values_mut() {
        m.assignment = assignment.get(&m.id).cloned().unwrap_or_default();
        if let Some(tx) = m.sync_waiter.take() {
            let _ = tx.send(SyncResult {
                error: None,
                protocol_type: protocol_type.clone(),
                protocol_name: protocol_name.clone(),
                assignment: m.assignment.clone(),
            });
            m.heartbeat_deadline = Some(env.now + m.session_timeout());
        }
    }
}

fn reset_and_propagate_assignment_error(group: &mut Group, error: ResponseError) {
    for m in group.members.values_mut() {
        m.assignment = Bytes::new();
        if let Some(tx) = m.sync_waiter.take() {
            let _ = tx.send(SyncResult::error(error));
        }
    }
}

fn maybe_prepare_rebalance(env: &mut Env<'_>, group: &mut Group) {
    if matches!(
        group.state,
        GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
    ) {
        prepare_rebalance(env, group);
    }
}

pub(super) fn prepare_rebalance(env: &mut Env<'_>, group: &mut Group) {
    if group.is(GroupState::CompletingRebalance) {
        // Members waiting in SyncGroup learn to rejoin.
        reset_and_propagate_assignment_error(group, ResponseError::RebalanceInProgress);
    }
    group.sync_deadline = None;
    let rebalance_timeout = group.rebalance_timeout();
    if group.is(GroupState::Empty) {
        let delay = env.config.initial_rebalance_delay;
        group.initial_delay = Some(super::group::InitialDelay {
            delay,
            remaining: rebalance_timeout.saturating_sub(delay),
        });
        group.new_member_added = false;
        group.join_deadline = Some(env.now + delay);
    } else {
        group.initial_delay = None;
        group.join_deadline = Some(env.now + rebalance_timeout);
    }
    group.transition(GroupState::PreparingRebalance, env.now_ms);
    tracing::debug!(group = %group.id, generation = group.generation, "preparing to rebalance");
}

/// Complete the join phase if every member has rejoined (not while the
/// initial delay runs: that one only ends by its timer).
pub(super) fn try_complete_join(env: &mut Env<'_>, group: &mut Group) {
    if group.is(GroupState::PreparingRebalance)
        && group.initial_delay.is_none()
        && group.all_members_joined()
    {
        complete_join(env, group);
    }
}

/// Kafka's `onCompleteJoin`.
fn complete_join(env: &mut Env<'_>, group: &mut Group) {
    group.join_deadline = None;
    group.initial_delay = None;
    let not_rejoined: Vec<String> = group
        .members
        .values()
        .filter(|m| !m.awaiting_join() && m.instance_id.is_none())
        .map(|m| m.id.clone())
        .collect();
    for id in not_rejoined {
        tracing::debug!(group = %group.id, member = %id, "removing a member that did not rejoin");
        group.remove_member(&id);
    }
    if !group.maybe_elect_new_joined_leader() && !group.members.is_empty() {
        // Only static members that have not rejoined: wait another round.
        group.join_deadline = Some(env.now + group.rebalance_timeout());
        return;
    }
    group.generation += 1;
    group.pending_sync.clear();
    if group.members.is_empty() {
        group.protocol_name = None;
        group.subscribed_topics = group.compute_subscribed_topics();
        group.transition(GroupState::Empty, env.now_ms);
        tracing::info!(group = %group.id, generation = group.generation, "group is now empty");
        if let Err(e) = env.store_group(group, &HashMap::new()) {
            tracing::warn!(group = %group.id, error = ?e.message, "could not store group metadata");
        }
        return;
    }
    group.protocol_name = group.select_protocol();
    group.subscribed_topics = group.compute_subscribed_topics();
    group.transition(GroupState::CompletingRebalance, env.now_ms);
    tracing::info!(
        group = %group.id,
        generation = group.generation,
        members = group.members.len(),
        protocol = ?group.protocol_name,
        "group rebalanced"
    );
    let leader = group.leader.clone().unwrap_or_default();
    let all = group.current_member_metadata();
    let ids: Vec<String> = group.members.keys().cloned().collect();
    for id in ids {
        let result = JoinResult {
            members: if id == leader {
                all.clone()
            } else {
                Vec::new()
            },
            ..current_generation(group, &id, false)
        };
        if let Some(m) = group.members.get_mut(&id) {
            if let Some(tx) = m.join_waiter.take() {
                let _ = tx.send(result);
            }
            m.heartbeat_deadline = Some(env.now + m.session_timeout());
            m.is_new = false;
        }
        group.pending_sync.insert(id);
    }
    group.sync_deadline = Some(env.now + group.rebalance_timeout());
}

/// Remove a member (its session expired, or it left) and rebalance.
fn remove_member_and_update_group(env: &mut Env<'_>, group: &mut Group, member_id: &str) {
    let Some(mut member) = group.remove_member(member_id) else {
        return;
    };
    // A new member timing out in JoinGroup is told to retry.
    if let Some(tx) = member.join_waiter.take() {
        let _ = tx.send(JoinResult::error(member_id, ResponseError::UnknownMemberId));
    }
    if let Some(tx) = member.sync_waiter.take() {
        let _ = tx.send(SyncResult::error(ResponseError::UnknownMemberId));
    }
    match group.state {
        GroupState::Stable | GroupState::CompletingRebalance => {
            // As Kafka's tryCompleteElseWatch: when no member is left (or every
            // one left has already rejoined) the join completes now, so the
            // last member's LeaveGroup leaves an Empty group behind at once.
            maybe_prepare_rebalance(env, group);
            try_complete_join(env, group);
        }
        GroupState::PreparingRebalance => try_complete_join(env, group),
        GroupState::Empty | GroupState::Dead => {}
    }
}

/// Act on every deadline of `group` that has passed: expired sessions and
/// MEMBER_ID_REQUIRED ids, the end of the join phase, members that never synced.
pub(super) fn expire_deadlines(env: &mut Env<'_>, group: &mut Group) {
    let now = env.now;
    let expired_pending: Vec<String> = group
        .pending_members
        .iter()
        .filter(|(_, deadline)| **deadline <= now)
        .map(|(id, _)| id.clone())
        .collect();
    if !expired_pending.is_empty() {
        for id in &expired_pending {
            group.pending_members.remove(id);
        }
        try_complete_join(env, group);
    }

    let expired: Vec<(String, bool)> = group
        .members
        .values()
        .filter(|m| m.heartbeat_deadline.is_some_and(|d| d <= now))
        .map(|m| {
            (
                m.id.clone(),
                m.is_new || !(m.awaiting_join() || m.awaiting_sync()),
            )
        })
        .collect();
    for (id, remove) in expired {
        if remove {
            tracing::info!(group = %group.id, member = %id, "member session expired");
            remove_member_and_update_group(env, group, &id);
        } else if let Some(m) = group.members.get_mut(&id) {
            // Waiting in a rebalance satisfies the heartbeat; the rebalance
            // and sync timeouts bound that wait.
            m.heartbeat_deadline = None;
        }
    }

    if group.is(GroupState::PreparingRebalance) && group.join_deadline.is_some_and(|d| d <= now) {
        match group.initial_delay {
            Some(initial) if group.new_member_added && !initial.remaining.is_zero() => {
                group.new_member_added = false;
                let delay = initial.delay.min(initial.remaining);
                group.initial_delay = Some(super::group::InitialDelay {
                    delay: initial.delay,
                    remaining: initial.remaining.saturating_sub(delay),
                });
                group.join_deadline = Some(now + delay);
            }
            _ => complete_join(env, group),
        }
    }

    if group.sync_deadline.is_some_and(|d| d <= now) {
        group.sync_deadline = None;
        if matches!(
            group.state,
            GroupState::CompletingRebalance | GroupState::Stable
        ) && !group.pending_sync.is_empty()
        {
            let missing: Vec<String> = group.pending_sync.drain().collect();
            for id in missing {
                tracing::info!(group = %group.id, member = %id, "member did not sync in time");
                if let Some(mut m) = group.remove_member(&id) {
                    if let Some(tx) = m.join_waiter.take() {
                        let _ = tx.send(JoinResult::error(&id, ResponseError::UnknownMemberId));
                    }
                }
            }
            prepare_rebalance(env, group);
            try_complete_join(env, group);
        }
    }
}
