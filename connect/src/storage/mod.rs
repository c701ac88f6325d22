//! Where the worker keeps its state.
//!
//! - [`config`]: connector configs, task configs and target states
//!   ([`config::ClusterConfigState`]) as the records of Connect's config topic
//!   (`connector-<name>`, `task-<name>-<n>`, `commit-<name>`,
//!   `target-state-<name>`, `restart-connector-<name>`), kept in memory
//!   (standalone) or in the compacted config topic (distributed).
//! - [`status`]: connector and task states (`status-connector-<name>`,
//!   `status-task-<name>-<n>`) and active topics (`status-topic-<t>:connector-<name>`).
//! - [`offsets`]: source offsets keyed `["<connector>",{<partition>}]`, in the
//!   standalone offsets file ([`offsets_file`], Java-serialized as Connect
//!   writes it) or the offsets topic.
//! - [`kafka`]: the compacted-topic log all three use in distributed mode.

pub mod config;
pub mod kafka;
pub mod offsets;
pub mod offsets_file;
pub mod status;
