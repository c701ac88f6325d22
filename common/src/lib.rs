//! strom-common: only what two or more Strom services truly share.
//!
//! - [`group`]: membership in a Kafka group with a custom protocol type
//!   (`sr` for the schema registry's leader election, `connect` for Connect
//!   workers), spoken directly to the group coordinator over the Kafka
//!   protocol: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup.
//!   librdkafka only does `consumer` groups, hence this small client.
//! - [`kafka`]: the minimal request/response connection it runs on.
//! - [`service`]: properties files, environment overrides, listeners and the
//!   `main` of the HTTP services.

pub mod group;
pub mod kafka;
pub mod service;
