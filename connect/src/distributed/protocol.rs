//! Connect's `eager` group protocol (protocol name `default` inside
//! protocol type `connect`), byte for byte as Kafka's `ConnectProtocol` V0:
//!
//! ```text
//! Metadata   => Version:int16 Url:string ConfigOffset:int64
//! Assignment => Version:int16 Error:int16 Leader:string LeaderUrl:string ConfigOffset:int64
//!               [Connector:string [Task:int32]]      (task -1 = the connector itself)
//! ```
//!
//! And the leader's assignor, Kafka's `EagerAssignor`: members sorted by id,
//! connectors (sorted) then their tasks handed out round-robin.

use std::collections::{BTreeMap, BTreeSet};

use crate::runtime::TaskId;
use crate::storage::config::ClusterConfigState;

/// The protocol name of the eager protocol.
pub const EAGER: &str = "default";
pub const VERSION: i16 = 0;
/// The task number that stands for the connector instance.
pub const CONNECTOR_TASK: i32 = -1;
pub const NO_ERROR: i16 = 0;
/// The leader's configs were behind a member's: read to the end and rejoin.
pub const CONFIG_MISMATCH: i16 = 1;

/// A worker's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerState {
    pub url: String,
    pub config_offset: i64,
}

/// One member's assignment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectAssignment {
    pub error: i16,
    pub leader: String,
    pub leader_url: String,
    pub config_offset: i64,
    pub connectors: BTreeSet<String>,
    pub tasks: BTreeSet<TaskId>,
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take(2).map(|b| i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)
            .map(|b| i64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.i16()?;
        if n < 0 {
            return Some(String::new());
        }
        self.take(n as usize)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
    /// An array count, bounded by what the remaining bytes could hold.
    fn count(&mut self, min_item: usize) -> Option<usize> {
        let n = self.i32()?;
        if n < 0 {
            return Some(0);
        }
        let n = n as usize;
        (n.saturating_mul(min_item) <= self.data.len() - self.pos).then_some(n)
    }
}

pub fn encode_metadata(s: &WorkerState) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&VERSION.to_be_bytes());
    put_string(&mut out, &s.url);
    out.extend_from_slice(&s.config_offset.to_be_bytes());
    out
}

pub fn decode_metadata(data: &[u8]) -> Option<WorkerState> {
    let mut r = Reader { data, pos: 0 };
    let version = r.i16()?;
    if version < 0 {
        return None;
    }
    Some(WorkerState {
        url: r.string()?,
        config_offset: r.i64()?,
    })
}

pub fn encode_assignment(a: &ConnectAssignment) -> Vec<u8> {
    let mut by_connector: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for c in &a.connectors {
        by_connector.entry(c).or_default().push(CONNECTOR_TASK);
    }
    for (c, t) in &a.tasks {
        by_connector.entry(c).or_default().push(*t as i32);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&a.error.to_be_bytes());
    put_string(&mut out, &a.leader);
    put_string(&mut out, &a.leader_url);
    out.extend_from_slice(&a.config_offset.to_be_bytes());
    out.extend_from_slice(&(by_connector.len() as i32).to_be_bytes());
    for (c, tasks) in by_connector {
        put_string(&mut out, c);
        out.extend_from_slice(&(tasks.len() as i32).to_be_bytes());
        for t in tasks {
            out.extend_from_slice(&t.to_be_bytes());
        }
    }
    out
}

pub fn decode_assignment(data: &[u8]) -> Option<ConnectAssignment> {
    let mut r = Reader { data, pos: 0 };
    if r.i16()? < 0 {
        return None;
    }
    let mut a = ConnectAssignment {
        error: r.i16()?,
        leader: r.string()?,
        leader_url: r.string()?,
        config_offset: r.i64()?,
        ..ConnectAssignment::default()
    };
    let n = r.count(6)?;
    for _ in 0..n {
        let connector = r.string()?;
        let tasks = r.count(4)?;
        for _ in 0..tasks {
            let t = r.i32()?;
            if t == CONNECTOR_TASK {
                a.connectors.insert(connector.clone());
            } else if t >= 0 {
                a.tasks.insert((connector.clone(), t as u32));
            }
        }
    }
    Some(a)
}

/// The leader's assignments: member id → assignment.
pub fn assign(
    leader: &str,
    members: &BTreeMap<String, WorkerState>,
    config: &ClusterConfigState,
    config_offset: i64,
) -> BTreeMap<String, ConnectAssignment> {
    let leader_url = members
        .get(leader)
        .map(|m| m.url.clone())
        .unwrap_or_default();
    let base = ConnectAssignment {
        error: NO_ERROR,
        leader: leader.to_string(),
        leader_url,
        config_offset,
        ..ConnectAssignment::default()
    };
    let mut out: BTreeMap<String, ConnectAssignment> =
        members.keys().map(|m| (m.clone(), base.clone())).collect();
    let max_offset = members.values().map(|m| m.config_offset).max().unwrap_or(0);
    if max_offset > config_offset {
        for a in out.values_mut() {
            a.error = CONFIG_MISMATCH;
        }
        return out;
    }
    let ids: Vec<String> = members.keys().cloned().collect();
    if ids.is_empty() {
        return out;
    }
    let mut next = 0usize;
    let mut pick = || {
        let id = ids[next % ids.len()].clone();
        next += 1;
        id
    };
    for name in config.connectors.keys() {
        let m = pick();
        if let Some(a) = out.get_mut(&m) {
            a.connectors.insert(name.clone());
        }
    }
    for (name, entry) in &config.connectors {
        for t in 0..entry.tasks.len() {
            let m = pick();
            if let Some(a) = out.get_mut(&m) {
                a.tasks.insert((name.clone(), t as u32));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::config::{connector_record, task_records};

    #[test]
    fn metadata_bytes() {
        let m = WorkerState {
            url: "http://a:8083".into(),
            config_offset: 5,
        };
        let bytes = encode_metadata(&m);
        let mut expected = vec![0, 0, 0, 13];
        expected.extend_from_slice(b"http://a:8083");
        expected.extend_from_slice(&5i64.to_be_bytes());
        assert_eq!(bytes, expected);
        assert_eq!(decode_metadata(&bytes), Some(m));
        assert_eq!(decode_metadata(&[0, 0, 0]), None);
    }

    #[test]
    fn assignment_round_trip() {
        let mut a = ConnectAssignment {
            leader: "m1".into(),
            leader_url: "http://a:8083".into(),
            config_offset: 9,
            ..Default::default()
        };
        a.connectors.insert("c".into());
        a.tasks.insert(("c".into(), 1));
        let bytes = encode_assignment(&a);
        // version, error, "m1", url, offset, 1 connector "c" with tasks [-1, 1]
        assert_eq!(&bytes[..6], &[0, 0, 0, 0, 0, 2]);
        assert_eq!(
            &bytes[bytes.len() - 8..],
            &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]
        );
        assert_eq!(decode_assignment(&bytes), Some(a));
        assert_eq!(
            decode_assignment(&[
                0, 0, 0, 0, 0, 1, b'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff
            ]),
            None
        );
    }

    #[test]
    fn round_robin_spreads_tasks() {
        let mut config = ClusterConfigState::default();
        let (k, v) = connector_record("sink", &Default::default());
        config.apply(&k, v.as_ref());
        for (k, v) in task_records(
            "sink",
            &[Default::default(), Default::default(), Default::default()],
        ) {
            config.apply(&k, v.as_ref());
        }
        let mut members = BTreeMap::new();
        members.insert(
            "m1".to_string(),
            WorkerState {
                url: "u1".into(),
                config_offset: 5,
            },
        );
        members.insert(
            "m2".to_string(),
            WorkerState {
                url: "u2".into(),
                config_offset: 5,
            },
        );
        let out = assign("m2", &members, &config, 5);
        assert_eq!(out["m1"].leader_url, "u2");
        assert!(out["m1"].connectors.contains("sink"));
        let t1: Vec<u32> = out["m1"].tasks.iter().map(|t| t.1).collect();
        let t2: Vec<u32> = out["m2"].tasks.iter().map(|t| t.1).collect();
        assert_eq!((t1, t2), (vec![1], vec![0, 2]));
        let behind = assign("m2", &members, &config, 4);
        assert!(behind.values().all(|a| a.error == CONFIG_MISMATCH));
    }
}
