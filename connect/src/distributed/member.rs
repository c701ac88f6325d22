//! This worker's membership in the `connect` group: JoinGroup / SyncGroup /
//! Heartbeat / LeaveGroup against the group coordinator, with the eager
//! protocol of [`super::protocol`].
//!
//! Like strom-common's `GroupMember`, plus what Connect needs from its
//! coordinator: the herder can ask for a rejoin (a config change needs a new
//! assignment), revocation waits until every connector and task here has
//! stopped (eager rebalancing), and the leader reads the config topic to its
//! end before assigning when a member has seen more of it.

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
use strom_common::kafka::KafkaConnection;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::protocol::{self, ConnectAssignment, WorkerState, CONFIG_MISMATCH, EAGER};
use crate::error::{Error, Result};
use crate::herder::{Assignment, Herder};

const NOT_COORDINATOR: i16 = 16;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const MEMBER_ID_REQUIRED: i16 = 79;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const RETRY_BACKOFF: Duration = Duration::from_millis(200);

/// The running membership task.
pub struct Member {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Member {
    pub fn start(herder: Arc<Herder>) -> Member {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(herder, stop_rx));
        Member { stop, task }
    }

    /// Stop what runs here, leave the group, end the task.
    pub async fn leave(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "group member task failed");
        }
    }
}

struct State {
    herder: Arc<Herder>,
    member_id: String,
    generation: i32,
    coordinator: Option<KafkaConnection>,
}

async fn run(herder: Arc<Herder>, mut stop: watch::Receiver<bool>) {
    let mut s = State {
        herder,
        member_id: String::new(),
        generation: -1,
        coordinator: None,
    };
    let membership = s.herder.membership.clone().unwrap_or_default();
    loop {
        if *stop.borrow() {
            break;
        }
        let joined = tokio::select! {
            biased;
            _ = stop.wait_for(|v| *v) => { s.coordinator = None; break; }
            r = s.join_and_sync() => r,
        };
        match joined {
            Ok(a) if a.error == CONFIG_MISMATCH => {
                tracing::info!(
                    "configs behind the leader's assignment: reading to the end and rejoining"
                );
                if let Some(log) = s.herder.configs.log() {
                    let _ = log.read_to_end(Duration::from_secs(30)).await;
                }
                continue;
            }
            Ok(a) => {
                s.install(a);
                // Heartbeat until a rebalance, a rejoin request, or stop.
                let hb = s.herder.config.heartbeat_interval;
                loop {
                    let beat = tokio::select! {
                        biased;
                        _ = stop.changed() => false,
                        _ = membership.rejoin.notified() => {
                            tracing::debug!("rejoining the group for a config change");
                            false
                        }
                        _ = tokio::time::sleep(hb) => true,
                    };
                    if !beat || *stop.borrow() {
                        break;
                    }
                    if let Err(e) = s.heartbeat().await {
                        tracing::debug!(error = %e, "heartbeat: rejoining");
                        break;
                    }
                }
                s.revoke().await;
            }
            Err(e) => {
                tracing::debug!(error = %e, "joining the connect group failed; retrying");
                s.revoke().await;
                tokio::select! {
                    biased;
                    _ = stop.wait_for(|v| *v) => break,
                    _ = tokio::time::sleep(RETRY_BACKOFF) => {}
                }
            }
        }
    }
    s.revoke().await;
    s.leave().await;
}

fn group_error(api: &str, code: i16) -> Error {
    Error::Kafka(format!("{api} failed with error code {code}"))
}

impl State {
    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.herder.config.group_id.clone()))
    }

    /// Eager protocol: everything here stops before the next join.
    async fn revoke(&mut self) {
        let Some(m) = &self.herder.membership else {
            return;
        };
        let had = m.assignment.write().take().is_some();
        if had {
            self.herder.reconcile_now().await;
        }
    }

    fn install(&mut self, a: ConnectAssignment) {
        let assignment = Assignment {
            generation: self.generation,
            is_leader: a.leader == self.member_id,
            leader_url: a.leader_url,
            config_offset: a.config_offset,
            connectors: a.connectors,
            tasks: a.tasks,
        };
        tracing::info!(
            generation = assignment.generation,
            leader = assignment.is_leader,
            connectors = ?assignment.connectors,
            tasks = ?assignment.tasks,
            "joined the connect group"
        );
        if let Some(m) = &self.herder.membership {
            *m.assignment.write() = Some(assignment);
        }
        self.herder.poke();
    }

    fn on_error(&mut self, e: &Error) {
        let text = e.to_string();
        let code = text
            .rsplit(' ')
            .next()
            .and_then(|c| c.parse::<i16>().ok())
            .unwrap_or(-1);
        match code {
            NOT_COORDINATOR | COORDINATOR_NOT_AVAILABLE | COORDINATOR_LOAD_IN_PROGRESS | -1 => {
                self.coordinator = None
            }
            UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                self.generation = -1;
            }
            ILLEGAL_GENERATION => self.generation = -1,
            _ => {}
        }
    }

    async fn coordinator(&mut self) -> Result<&mut KafkaConnection> {
        if self.coordinator.is_none() {
            self.coordinator = Some(self.find_coordinator().await?);
        }
        self.coordinator
            .as_mut()
            .ok_or_else(|| Error::Kafka("no coordinator".into()))
    }

    async fn find_coordinator(&self) -> Result<KafkaConnection> {
        let client_id = format!("connect-{}", self.herder.worker_id());
        let mut last = String::from("no bootstrap servers");
        for server in self
            .herder
            .config
            .bootstrap_servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let mut conn = match KafkaConnection::connect(server, &client_id, REQUEST_TIMEOUT).await
            {
                Ok(c) => c,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let request = FindCoordinatorRequest::default()
                .with_key(StrBytes::from_string(self.herder.config.group_id.clone()))
                .with_key_type(0);
            let r = match conn.send(&request, 3, REQUEST_TIMEOUT).await {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            if r.error_code != 0 {
                return Err(group_error("FindCoordinator", r.error_code));
            }
            let addr = format!("{}:{}", r.host.as_str(), r.port);
            if addr == server {
                return Ok(conn);
            }
            return KafkaConnection::connect(&addr, &client_id, REQUEST_TIMEOUT)
                .await
                .map_err(|e| Error::Kafka(e.to_string()));
        }
        Err(Error::Kafka(format!(
            "no bootstrap server reachable: {last}"
        )))
    }

    async fn join_and_sync(&mut self) -> Result<ConnectAssignment> {
        let r = self.try_join_and_sync().await;
        if let Err(e) = &r {
            self.on_error(e);
        }
        r
    }

    async fn try_join_and_sync(&mut self) -> Result<ConnectAssignment> {
        let cfg = self.herder.config.clone();
        let metadata = protocol::encode_metadata(&WorkerState {
            url: self.herder.url.clone(),
            config_offset: self.herder.configs.offset(),
        });
        let protocols = vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str(EAGER))
            .with_metadata(Bytes::from(metadata))];
        let join_timeout = cfg.rebalance_timeout + REQUEST_TIMEOUT;
        let join = loop {
            let request = JoinGroupRequest::default()
                .with_group_id(self.group_id())
                .with_session_timeout_ms(ms(cfg.session_timeout))
                .with_rebalance_timeout_ms(ms(cfg.rebalance_timeout))
                .with_member_id(StrBytes::from_string(self.member_id.clone()))
                .with_protocol_type(StrBytes::from_static_str("connect"))
                .with_protocols(protocols.clone());
            let conn = self.coordinator().await?;
            let r = conn
                .send(&request, 5, join_timeout)
                .await
                .map_err(|e| Error::Kafka(e.to_string()))?;
            if r.error_code == MEMBER_ID_REQUIRED {
                self.member_id = r.member_id.as_str().to_string();
                continue;
            }
            if r.error_code != 0 {
                return Err(group_error("JoinGroup", r.error_code));
            }
            break r;
        };
        self.member_id = join.member_id.as_str().to_string();
        self.generation = join.generation_id;
        let leader = join.leader.as_str().to_string();
        let assignments = if leader == self.member_id {
            let mut members = BTreeMap::new();
            for m in &join.members {
                if let Some(state) = protocol::decode_metadata(&m.metadata) {
                    members.insert(m.member_id.as_str().to_string(), state);
                }
            }
            let max = members.values().map(|m| m.config_offset).max().unwrap_or(0);
            if max > self.herder.configs.offset() {
                if let Some(log) = self.herder.configs.log() {
                    let _ = log.read_to_end(Duration::from_secs(30)).await;
                }
            }
            let snapshot = self.herder.configs.snapshot();
            let offset = self.herder.configs.offset();
            protocol::assign(&leader, &members, &snapshot, offset)
                .into_iter()
                .map(|(id, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(StrBytes::from_string(id))
                        .with_assignment(Bytes::from(protocol::encode_assignment(&a)))
                })
                .collect()
        } else {
            Vec::new()
        };
        let request = SyncGroupRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(Some(StrBytes::from_static_str("connect")))
            .with_protocol_name(Some(StrBytes::from_static_str(EAGER)))
            .with_assignments(assignments);
        let conn = self.coordinator().await?;
        let sync = conn
            .send(&request, 5, join_timeout)
            .await
            .map_err(|e| Error::Kafka(e.to_string()))?;
        if sync.error_code != 0 {
            return Err(group_error("SyncGroup", sync.error_code));
        }
        protocol::decode_assignment(&sync.assignment)
            .ok_or_else(|| Error::Kafka("unreadable connect assignment".into()))
    }

    async fn heartbeat(&mut self) -> Result<()> {
        let request = HeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let r = async {
            let conn = self.coordinator().await?;
            let r = conn
                .send(&request, 3, REQUEST_TIMEOUT)
                .await
                .map_err(|e| Error::Kafka(e.to_string()))?;
            if r.error_code != 0 {
                return Err(group_error("Heartbeat", r.error_code));
            }
            Ok(())
        }
        .await;
        if let Err(e) = &r {
            self.on_error(e);
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
        let sent = tokio::time::timeout(Duration::from_secs(5), async {
            let conn = self.coordinator().await?;
            conn.send(&request, 3, Duration::from_secs(5))
                .await
                .map_err(|e| Error::Kafka(e.to_string()))
        })
        .await;
        match sent {
            Ok(Ok(r)) if r.error_code == 0 => {
                tracing::info!(member_id = %self.member_id, "left the connect group")
            }
            other => tracing::debug!(?other, "LeaveGroup failed"),
        }
        self.member_id.clear();
    }
}

fn ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
