//! The group-membership client against a real in-process broker: two members
//! of a custom protocol type join, the group leader's assignment reaches both,
//! and when one leaves the other gets a new generation on its own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot_free::Slot;
use strom_broker::BrokerConfig;
use strom_common::group::{Assignment, GroupConfig, GroupMember, GroupProtocol, MemberMetadata};

/// A tiny mutex-protected slot (std only), so this test needs no extra crates.
mod parking_lot_free {
    use std::sync::Mutex;

    pub struct Slot<T>(Mutex<Option<T>>);

    impl<T> Default for Slot<T> {
        fn default() -> Self {
            Slot(Mutex::new(None))
        }
    }

    impl<T: Clone> Slot<T> {
        pub fn set(&self, v: Option<T>) {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = v;
        }
        pub fn get(&self) -> Option<T> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }
    }
}

/// Assigns every member the sorted list of all members' metadata.
#[derive(Default)]
struct Echo {
    name: String,
    assigned: Slot<Assignment>,
}

impl GroupProtocol for Echo {
    fn protocols(&self) -> Vec<(String, Bytes)> {
        vec![("v0".to_string(), Bytes::from(self.name.clone()))]
    }

    fn assign(&self, protocol: &str, members: &[MemberMetadata]) -> BTreeMap<String, Bytes> {
        assert_eq!(protocol, "v0");
        let mut names: Vec<String> = members
            .iter()
            .map(|m| String::from_utf8_lossy(&m.metadata).into_owned())
            .collect();
        names.sort();
        let all = Bytes::from(names.join(","));
        members
            .iter()
            .map(|m| (m.member_id.clone(), all.clone()))
            .collect()
    }

    fn on_assigned(&self, assignment: Assignment) {
        self.assigned.set(Some(assignment));
    }

    fn on_revoked(&self) {
        self.assigned.set(None);
    }
}

async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assignment_text(p: &Echo) -> Option<String> {
    p.assigned
        .get()
        .map(|a| String::from_utf8_lossy(&a.assignment).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_join_sync_and_rebalance_on_leave() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = BrokerConfig::local(dir.path(), 0);
    config
        .props
        .insert("group.initial.rebalance.delay.ms".into(), "0".into());
    let broker = strom_broker::start(config).await.expect("broker");
    let bootstrap = broker.bootstrap_servers();

    let mut group = GroupConfig::new(&bootstrap, "test-group", "test-protocol");
    group.heartbeat_interval = Duration::from_millis(200);
    let a = Arc::new(Echo {
        name: "a".into(),
        ..Echo::default()
    });
    let b = Arc::new(Echo {
        name: "b".into(),
        ..Echo::default()
    });
    let member_a = GroupMember::start(group.clone(), a.clone());
    wait_for("a alone", || assignment_text(&a).as_deref() == Some("a")).await;
    let first = a.assigned.get().expect("assigned");
    assert_eq!(first.leader_id, first.member_id, "a single member leads");
    assert_eq!(first.protocol, "v0");

    let member_b = GroupMember::start(group.clone(), b.clone());
    wait_for("both see both", || {
        assignment_text(&a).as_deref() == Some("a,b")
            && assignment_text(&b).as_deref() == Some("a,b")
    })
    .await;
    let (ga, gb) = (a.assigned.get().unwrap(), b.assigned.get().unwrap());
    assert_eq!(ga.generation_id, gb.generation_id);
    assert_eq!(ga.leader_id, gb.leader_id);
    assert_ne!(ga.member_id, gb.member_id);
    assert!(ga.generation_id > first.generation_id);

    // a leaves (LeaveGroup): b rebalances alone without waiting for a session timeout.
    member_a.leave().await;
    wait_for("b alone", || assignment_text(&b).as_deref() == Some("b")).await;
    let gb2 = b.assigned.get().unwrap();
    assert_eq!(gb2.leader_id, gb2.member_id);

    member_b.leave().await;
    broker.shutdown().await.expect("broker stops");
}
