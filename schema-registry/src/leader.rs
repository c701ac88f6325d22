//! Leader election among registry instances sharing one `_schemas` topic,
//! through the Kafka group protocol with protocol type `sr` — the same group,
//! protocol and JSON formats as Confluent's registry, so Strom and Confluent
//! instances could even share a group.
//!
//! - Member metadata (protocol `v0`): the instance's identity,
//!   `{"version":1,"host":"h","port":8081,"master_eligibility":true,"scheme":"http"}`.
//! - The group leader picks the registry leader: the leader-eligible member
//!   with the smallest URL. Every member gets the same assignment,
//!   `{"version":1,"error":0,"master":"<member id>","master_identity":{...}}`
//!   (`error` 1 when two members share a URL: then no one leads).
//! - Followers forward writes to the leader's URL (see [`crate::api::forward`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strom_common::group::{Assignment, GroupProtocol, MemberMetadata};
use tokio::sync::watch;

/// The protocol name inside protocol type `sr`.
pub const SR_PROTOCOL_V0: &str = "v0";
const NO_ERROR: i16 = 0;
const DUPLICATE_URLS: i16 = 1;

/// An instance's identity, as it travels in the group's member metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    #[serde(default = "one")]
    pub version: i32,
    pub host: String,
    pub port: i32,
    #[serde(rename = "master_eligibility", alias = "leader_eligibility", default)]
    pub leader_eligibility: bool,
    #[serde(default = "http")]
    pub scheme: String,
}

fn one() -> i32 {
    1
}

fn http() -> String {
    "http".to_string()
}

impl Identity {
    pub fn new(host: &str, port: u16, leader_eligibility: bool) -> Identity {
        Identity {
            version: 1,
            host: host.to_string(),
            port: i32::from(port),
            leader_eligibility,
            scheme: http(),
        }
    }

    pub fn url(&self) -> String {
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}://{}:{}", self.scheme, host, self.port)
    }
}

/// The assignment every member receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrAssignment {
    #[serde(default = "one")]
    pub version: i32,
    #[serde(default)]
    pub error: i16,
    #[serde(
        rename = "master",
        alias = "leader",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub leader: Option<String>,
    #[serde(
        rename = "master_identity",
        alias = "leader_identity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub leader_identity: Option<Identity>,
}

/// Who leads, as this instance knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leader {
    /// No election has completed (or the last one found no eligible member).
    Unknown,
    /// This instance: it serves writes.
    Me,
    /// Another instance, by URL: writes are forwarded there.
    Other(String),
}

/// This instance's view of the election.
pub struct LeaderState {
    identity: Identity,
    current: watch::Sender<Leader>,
    /// Set when this instance becomes leader: its first write first reads the
    /// topic to its end, so it sees everything the previous leader wrote.
    needs_catch_up: AtomicBool,
    elections: watch::Sender<u64>,
}

impl LeaderState {
    pub fn new(identity: Identity) -> Arc<LeaderState> {
        Arc::new(LeaderState {
            identity,
            current: watch::channel(Leader::Unknown).0,
            needs_catch_up: AtomicBool::new(true),
            elections: watch::channel(0).0,
        })
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn current(&self) -> Leader {
        self.current.borrow().clone()
    }

    /// The URL of the current leader, if one is known.
    pub fn leader_url(&self) -> Option<String> {
        match self.current() {
            Leader::Unknown => None,
            Leader::Me => Some(self.identity.url()),
            Leader::Other(url) => Some(url),
        }
    }

    /// Returns true once after each time this instance became leader.
    pub fn take_catch_up(&self) -> bool {
        self.needs_catch_up.swap(false, Ordering::SeqCst)
    }

    /// Make the next write read the topic to its end first.
    pub fn request_catch_up(&self) {
        self.needs_catch_up.store(true, Ordering::SeqCst);
    }

    /// Resolves once at least one election has completed.
    pub async fn wait_elected(&self) {
        let mut rx = self.elections.subscribe();
        let _ = rx.wait_for(|n| *n > 0).await;
    }

    fn set(&self, leader: Leader) {
        if leader == Leader::Me && self.current() != Leader::Me {
            self.needs_catch_up.store(true, Ordering::SeqCst);
        }
        self.current.send_if_modified(|cur| {
            if *cur != leader {
                tracing::info!(?leader, "schema registry leader");
                *cur = leader;
                true
            } else {
                false
            }
        });
    }

    /// Run without a group: this instance leads if it is eligible.
    pub fn elect_self(&self) {
        if self.identity.leader_eligibility {
            self.set(Leader::Me);
        }
        self.elections.send_modify(|n| *n += 1);
    }
}

/// Chooses the registry leader among the group's members.
pub fn choose_leader(members: &[(String, Identity)]) -> SrAssignment {
    let mut urls = std::collections::HashSet::new();
    let mut best: Option<&(String, Identity)> = None;
    for m in members {
        urls.insert(m.1.url());
        if m.1.leader_eligibility && best.is_none_or(|b| m.1.url() < b.1.url()) {
            best = Some(m);
        }
    }
    let error = if urls.len() != members.len() {
        tracing::error!(
            "Found duplicate URLs for schema registry group members. Set host.name on each instance to a host name the others can reach."
        );
        DUPLICATE_URLS
    } else {
        NO_ERROR
    };
    SrAssignment {
        version: 1,
        error,
        leader: best.map(|b| b.0.clone()),
        leader_identity: best.map(|b| b.1.clone()),
    }
}

/// The `sr` group protocol, plugged into [`strom_common::group::GroupMember`].
pub struct SrProtocol {
    pub state: Arc<LeaderState>,
}

impl GroupProtocol for SrProtocol {
    fn protocols(&self) -> Vec<(String, Bytes)> {
        let metadata = serde_json::to_vec(self.state.identity()).unwrap_or_default();
        vec![(SR_PROTOCOL_V0.to_string(), Bytes::from(metadata))]
    }

    fn assign(&self, _protocol: &str, members: &[MemberMetadata]) -> BTreeMap<String, Bytes> {
        let identities: Vec<(String, Identity)> = members
            .iter()
            .filter_map(|m| match serde_json::from_slice::<Identity>(&m.metadata) {
                Ok(id) => Some((m.member_id.clone(), id)),
                Err(e) => {
                    tracing::warn!(member = %m.member_id, error = %e, "unreadable member identity");
                    None
                }
            })
            .collect();
        let assignment = choose_leader(&identities);
        let bytes = Bytes::from(serde_json::to_vec(&assignment).unwrap_or_default());
        members
            .iter()
            .map(|m| (m.member_id.clone(), bytes.clone()))
            .collect()
    }

    fn on_assigned(&self, a: Assignment) {
        let leader = match serde_json::from_slice::<SrAssignment>(&a.assignment) {
            Err(e) => {
                tracing::error!(error = %e, "unreadable assignment");
                Leader::Unknown
            }
            Ok(sr) if sr.error != NO_ERROR => {
                tracing::error!(error = sr.error, "leader election failed (duplicate URLs?)");
                Leader::Unknown
            }
            Ok(sr) => match (sr.leader, sr.leader_identity) {
                (Some(id), _) if id == a.member_id => Leader::Me,
                (Some(_), Some(identity)) if identity == *self.state.identity() => Leader::Me,
                (Some(_), Some(identity)) => Leader::Other(identity.url()),
                _ => {
                    tracing::warn!("no leader-eligible schema registry instance in the group");
                    Leader::Unknown
                }
            },
        };
        self.state.set(leader);
        self.state.elections.send_modify(|n| *n += 1);
    }

    fn on_revoked(&self) {
        self.state.set(Leader::Unknown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_json_is_confluents() {
        let id = Identity::new("10.0.0.1", 8081, true);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            r#"{"version":1,"host":"10.0.0.1","port":8081,"master_eligibility":true,"scheme":"http"}"#
        );
        let parsed: Identity =
            serde_json::from_str(r#"{"host":"h","port":1,"master_eligibility":false}"#).unwrap();
        assert_eq!(parsed.url(), "http://h:1");
        assert!(!parsed.leader_eligibility);
    }

    #[test]
    fn smallest_eligible_url_leads() {
        let members = vec![
            ("m1".to_string(), Identity::new("b", 1, true)),
            ("m2".to_string(), Identity::new("a", 1, false)),
            ("m3".to_string(), Identity::new("a", 2, true)),
        ];
        let a = choose_leader(&members);
        assert_eq!(a.leader.as_deref(), Some("m3"));
        assert_eq!(a.error, 0);
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.starts_with(r#"{"version":1,"error":0,"master":"m3","master_identity":{"#));
        let dup = vec![
            ("m1".to_string(), Identity::new("a", 1, true)),
            ("m2".to_string(), Identity::new("a", 1, true)),
        ];
        assert_eq!(choose_leader(&dup).error, 1);
        let none = vec![("m1".to_string(), Identity::new("a", 1, false))];
        let a = choose_leader(&none);
        assert!(a.leader.is_none());
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"version":1,"error":0}"#
        );
    }
}
