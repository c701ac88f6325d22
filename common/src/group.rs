//! Membership in a Kafka group with a custom protocol type.
//!
//! The classic group protocol as Kafka's own `AbstractCoordinator` runs it,
//! kept generic so that any service can elect a leader or split work:
//!
//! 1. FindCoordinator for the group id (through any bootstrap server).
//! 2. JoinGroup with this member's protocols (name + metadata bytes). The
//!    first join of a new member is answered `MEMBER_ID_REQUIRED` with an id,
//!    and the member joins again with it (KIP-394).
//! 3. The member the coordinator names group leader computes one assignment
//!    per member from everyone's metadata ([`GroupProtocol::assign`]); every
//!    member sends SyncGroup and receives its own assignment bytes
//!    ([`GroupProtocol::on_assigned`]).
//! 4. Heartbeats every `heartbeat_interval`; `REBALANCE_IN_PROGRESS`,
//!    `UNKNOWN_MEMBER_ID` or `ILLEGAL_GENERATION` mean rejoin
//!    ([`GroupProtocol::on_revoked`] first); a lost connection means finding
//!    the coordinator again.
//! 5. LeaveGroup when [`GroupMember::leave`] is called, so the others
//!    rebalance at once instead of after the session timeout.
//!
//! The schema registry uses protocol type `sr` (one protocol `v0` whose
//! metadata is the instance's JSON identity); Connect will use `connect`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::GroupId;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::kafka::{ConnectionError, KafkaConnection};

const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const NOT_COORDINATOR: i16 = 16;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const MEMBER_ID_REQUIRED: i16 = 79;

const FIND_COORDINATOR_VERSION: i16 = 3;
const JOIN_GROUP_VERSION: i16 = 5;
const SYNC_GROUP_VERSION: i16 = 3;
const HEARTBEAT_VERSION: i16 = 3;
const LEAVE_GROUP_VERSION: i16 = 3;

/// How a member takes part in its group.
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// `host:port[,host:port...]`: where to ask for the coordinator.
    pub bootstrap_servers: String,
    pub group_id: String,
    /// The group's protocol type (`sr`, `connect`, ...). All members must agree.
    pub protocol_type: String,
    pub client_id: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub heartbeat_interval: Duration,
    /// Timeout for connecting and for requests other than JoinGroup.
    pub request_timeout: Duration,
    /// Wait between retries after an error.
    pub retry_backoff: Duration,
}

impl GroupConfig {
    /// Kafka's defaults: 10 s session, 5 min rebalance, 3 s heartbeats.
    pub fn new(bootstrap_servers: &str, group_id: &str, protocol_type: &str) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.to_string(),
            group_id: group_id.to_string(),
            protocol_type: protocol_type.to_string(),
            client_id: format!("strom-{protocol_type}"),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(300),
            heartbeat_interval: Duration::from_secs(3),
            request_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// A member of the group as the group leader sees it.
#[derive(Clone, Debug)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

/// The outcome of a completed rebalance, for this member.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub generation_id: i32,
    pub member_id: String,
    /// The group leader's member id (the one that computed the assignments).
    pub leader_id: String,
    /// The protocol the coordinator selected.
    pub protocol: String,
    /// This member's assignment bytes, as the group leader computed them.
    pub assignment: Bytes,
}

/// What a service plugs into [`GroupMember`].
pub trait GroupProtocol: Send + Sync + 'static {
    /// This member's protocols, in order of preference: (name, metadata).
    /// Asked before every JoinGroup.
    fn protocols(&self) -> Vec<(String, Bytes)>;

    /// Called on the group leader only: the assignment bytes for each member
    /// id, given every member's metadata for the selected `protocol`.
    fn assign(&self, protocol: &str, members: &[MemberMetadata]) -> BTreeMap<String, Bytes>;

    /// A rebalance completed; `assignment` is this member's part.
    fn on_assigned(&self, assignment: Assignment);

    /// This member's assignment is no longer valid (a rebalance started, the
    /// member was removed, or the coordinator is unreachable).
    fn on_revoked(&self);
}

/// Why a step of the protocol failed; all of them lead to a retry.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error("{api} failed with error code {code}")]
    Kafka { api: &'static str, code: i16 },
    #[error("no bootstrap server reachable: {0}")]
    NoBroker(String),
}

/// A running membership: a background task that joins, syncs and heartbeats
/// until [`GroupMember::leave`] is called.
pub struct GroupMember {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl GroupMember {
    /// Start taking part in the group.
    pub fn start(config: GroupConfig, protocol: Arc<dyn GroupProtocol>) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(config, protocol, stop_rx));
        Self { stop, task }
    }

    /// Leave the group (LeaveGroup) and stop the background task.
    pub async fn leave(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "group member task failed");
        }
    }
}

struct State {
    config: GroupConfig,
    protocol: Arc<dyn GroupProtocol>,
    member_id: String,
    generation_id: i32,
    coordinator: Option<KafkaConnection>,
    assigned: bool,
}

async fn run(
    config: GroupConfig,
    protocol: Arc<dyn GroupProtocol>,
    mut stop: watch::Receiver<bool>,
) {
    let mut state = State {
        config,
        protocol,
        member_id: String::new(),
        generation_id: -1,
        coordinator: None,
        assigned: false,
    };
    loop {
        let step = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => {
                // A JoinGroup/SyncGroup may have been cut off mid-request: its
                // answer would still be on the wire, so use a new connection.
                state.coordinator = None;
                break;
            }
            r = state.join_and_sync() => r,
        };
        match step {
            Ok(()) => {
                // Heartbeat until something says rejoin, or we are told to stop.
                let outcome = heartbeat_loop(&mut state, &mut stop).await;
                match outcome {
                    HeartbeatOutcome::Stop => break,
                    HeartbeatOutcome::Rejoin => state.revoke(),
                }
            }
            Err(e) => {
                tracing::debug!(group = %state.config.group_id, error = %e, "group step failed; retrying");
                state.revoke();
                let backoff = state.config.retry_backoff;
                tokio::select! {
                    biased;
                    _ = stop.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
            }
        }
    }
    state.revoke();
    state.leave().await;
}

enum HeartbeatOutcome {
    Stop,
    Rejoin,
}

async fn heartbeat_loop(state: &mut State, stop: &mut watch::Receiver<bool>) -> HeartbeatOutcome {
    loop {
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return HeartbeatOutcome::Stop,
            _ = tokio::time::sleep(state.config.heartbeat_interval) => {}
        }
        match state.heartbeat().await {
            Ok(()) => {}
            Err(e) => {
                tracing::debug!(group = %state.config.group_id, error = %e, "heartbeat: rejoining");
                return HeartbeatOutcome::Rejoin;
            }
        }
    }
}

impl State {
    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.config.group_id.clone()))
    }

    fn revoke(&mut self) {
        if self.assigned {
            self.assigned = false;
            self.protocol.on_revoked();
        }
    }

    /// Drop the coordinator connection after a connection-level failure or a
    /// coordinator-moved error, so the next step looks it up again.
    fn on_error(&mut self, e: &GroupError) {
        match e {
            GroupError::Connection(_) | GroupError::NoBroker(_) => self.coordinator = None,
            GroupError::Kafka { code, .. } => match *code {
                NOT_COORDINATOR | COORDINATOR_NOT_AVAILABLE | COORDINATOR_LOAD_IN_PROGRESS => {
                    self.coordinator = None
                }
                UNKNOWN_MEMBER_ID => {
                    self.member_id.clear();
                    self.generation_id = -1;
                }
                ILLEGAL_GENERATION => self.generation_id = -1,
                _ => {}
            },
        }
    }

    async fn coordinator(&mut self) -> Result<&mut KafkaConnection, GroupError> {
        if self.coordinator.is_none() {
            let conn = self.find_coordinator().await?;
            self.coordinator = Some(conn);
        }
        self.coordinator
            .as_mut()
            .ok_or_else(|| GroupError::NoBroker("no coordinator".to_string()))
    }

    async fn find_coordinator(&self) -> Result<KafkaConnection, GroupError> {
        let timeout = self.config.request_timeout;
        let mut last_error = String::from("no bootstrap servers configured");
        for server in self
            .config
            .bootstrap_servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let server = server
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(server);
            let mut conn =
                match KafkaConnection::connect(server, &self.config.client_id, timeout).await {
                    Ok(c) => c,
                    Err(e) => {
                        last_error = e.to_string();
                        continue;
                    }
                };
            let request = FindCoordinatorRequest::default()
                .with_key(StrBytes::from_string(self.config.group_id.clone()))
                .with_key_type(0);
            let response = match conn.send(&request, FIND_COORDINATOR_VERSION, timeout).await {
                Ok(r) => r,
                Err(e) => {
                    last_error = e.to_string();
                    continue;
                }
            };
            if response.error_code != 0 {
                return Err(GroupError::Kafka {
                    api: "FindCoordinator",
                    code: response.error_code,
                });
            }
            let addr = format!("{}:{}", response.host.as_str(), response.port);
            if addr == server {
                return Ok(conn);
            }
            return Ok(KafkaConnection::connect(&addr, &self.config.client_id, timeout).await?);
        }
        Err(GroupError::NoBroker(last_error))
    }

    async fn join_and_sync(&mut self) -> Result<(), GroupError> {
        let r = self.try_join_and_sync().await;
        if let Err(e) = &r {
            self.on_error(e);
        }
        r
    }

    async fn try_join_and_sync(&mut self) -> Result<(), GroupError> {
        let protocols: Vec<JoinGroupRequestProtocol> = self
            .protocol
            .protocols()
            .into_iter()
            .map(|(name, metadata)| {
                JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_string(name))
                    .with_metadata(metadata)
            })
            .collect();
        let join_timeout = self.config.rebalance_timeout + self.config.request_timeout;
        let request_timeout = self.config.request_timeout;
        let group_id = self.group_id();
        let session_ms = duration_ms(self.config.session_timeout);
        let rebalance_ms = duration_ms(self.config.rebalance_timeout);
        let protocol_type = StrBytes::from_string(self.config.protocol_type.clone());

        // JoinGroup, once more with the assigned id if the coordinator asks for one.
        let join = loop {
            let request = JoinGroupRequest::default()
                .with_group_id(group_id.clone())
                .with_session_timeout_ms(session_ms)
                .with_rebalance_timeout_ms(rebalance_ms)
                .with_member_id(StrBytes::from_string(self.member_id.clone()))
                .with_protocol_type(protocol_type.clone())
                .with_protocols(protocols.clone());
            let conn = self.coordinator().await?;
            let response = conn
                .send(&request, JOIN_GROUP_VERSION, join_timeout)
                .await?;
            if response.error_code == MEMBER_ID_REQUIRED {
                self.member_id = response.member_id.as_str().to_string();
                continue;
            }
            if response.error_code != 0 {
                return Err(GroupError::Kafka {
                    api: "JoinGroup",
                    code: response.error_code,
                });
            }
            break response;
        };
        self.member_id = join.member_id.as_str().to_string();
        self.generation_id = join.generation_id;
        let protocol_name = join
            .protocol_name
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let leader_id = join.leader.as_str().to_string();

        let assignments = if leader_id == self.member_id {
            let members: Vec<MemberMetadata> = join
                .members
                .iter()
                .map(|m| MemberMetadata {
                    member_id: m.member_id.as_str().to_string(),
                    group_instance_id: m.group_instance_id.as_ref().map(|s| s.as_str().to_string()),
                    metadata: m.metadata.clone(),
                })
                .collect();
            tracing::debug!(group = %self.config.group_id, members = members.len(), "computing assignments as group leader");
            self.protocol
                .assign(&protocol_name, &members)
                .into_iter()
                .map(|(member_id, assignment)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(StrBytes::from_string(member_id))
                        .with_assignment(assignment)
                })
                .collect()
        } else {
            Vec::new()
        };

        let request = SyncGroupRequest::default()
            .with_group_id(group_id)
            .with_generation_id(self.generation_id)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_assignments(assignments);
        let conn = self.coordinator().await?;
        // SyncGroup waits for the leader's assignments: allow the rebalance timeout.
        let sync = conn
            .send(
                &request,
                SYNC_GROUP_VERSION,
                join_timeout.max(request_timeout),
            )
            .await?;
        if sync.error_code != 0 {
            return Err(GroupError::Kafka {
                api: "SyncGroup",
                code: sync.error_code,
            });
        }
        tracing::info!(
            group = %self.config.group_id,
            generation = self.generation_id,
            member_id = %self.member_id,
            leader = %leader_id,
            "joined group"
        );
        self.assigned = true;
        self.protocol.on_assigned(Assignment {
            generation_id: self.generation_id,
            member_id: self.member_id.clone(),
            leader_id,
            protocol: protocol_name,
            assignment: sync.assignment,
        });
        Ok(())
    }

    async fn heartbeat(&mut self) -> Result<(), GroupError> {
        let request = HeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation_id)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let timeout = self.config.request_timeout;
        let r = async {
            let conn = self.coordinator().await?;
            let response = conn.send(&request, HEARTBEAT_VERSION, timeout).await?;
            if response.error_code != 0 {
                return Err(GroupError::Kafka {
                    api: "Heartbeat",
                    code: response.error_code,
                });
            }
            Ok(())
        }
        .await;
        if let Err(e) = &r {
            self.on_error(e);
            if let GroupError::Kafka { code, .. } = e {
                if *code == REBALANCE_IN_PROGRESS {
                    tracing::debug!(group = %self.config.group_id, "rebalance in progress");
                }
            }
        }
        r
    }

    async fn leave(&mut self) {
        if self.member_id.is_empty() {
            return;
        }
        let request = LeaveGroupRequest::default()
            .with_group_id(self.group_id())
            .with_members(vec![MemberIdentity::default()
                .with_member_id(StrBytes::from_string(self.member_id.clone()))]);
        let timeout = self.config.request_timeout.min(Duration::from_secs(5));
        let sent = tokio::time::timeout(timeout, async {
            let conn = self.coordinator().await?;
            Ok::<_, GroupError>(conn.send(&request, LEAVE_GROUP_VERSION, timeout).await?)
        })
        .await;
        match sent {
            Err(_) => tracing::debug!("LeaveGroup timed out"),
            Ok(Err(e)) => tracing::debug!(error = %e, "LeaveGroup failed"),
            Ok(Ok(r)) if r.error_code == 0 => {
                tracing::info!(group = %self.config.group_id, member_id = %self.member_id, "left group")
            }
            Ok(Ok(r)) => tracing::debug!(code = r.error_code, "LeaveGroup failed"),
        }
        self.member_id.clear();
    }
}

fn duration_ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
