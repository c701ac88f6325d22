//! Background log maintenance, Kafka's scheduler jobs:
//! - every `log.flush.scheduler.interval.ms`-ish tick (≤ 1 s): roll segments by
//!   age, flush by time under the page-cache policy, expire idle producers;
//! - every `log.retention.check.interval.ms` (default 5 min): delete whole
//!   segments past `retention.ms` / `retention.bytes` (topics whose
//!   `cleanup.policy` includes `delete`);
//! - every `log.cleaner.backoff.ms` (default 15 s) while `log.cleaner.enable`:
//!   compact the partitions of topics whose `cleanup.policy` includes `compact`.
//!
//! Each job runs on the blocking pool and holds the maintenance lock for one
//! pass; shutdown takes the lock and sets it to "closed" before the logs are
//! closed, so no pass ever runs against a closed log.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::broker::{Broker, Partition};
use crate::metadata::now_ms;

/// Held during a maintenance pass; `true` once the broker is shutting down.
pub type MaintenanceLock = Arc<Mutex<bool>>;

fn interval_ms(broker: &Broker, key: &str, default: u64) -> Duration {
    let ms = broker
        .config
        .props
        .get(key)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(default);
    Duration::from_millis(ms.max(10))
}

/// Run `job` on every partition, every `every`, until the broker closes.
async fn every(
    broker: Arc<Broker>,
    lock: MaintenanceLock,
    every: Duration,
    name: &'static str,
    job: fn(&Partition, i64) -> Result<(), strom_log::Error>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick fires at once; start one period in
    loop {
        tick.tick().await;
        let b = broker.clone();
        let l = lock.clone();
        let pass = tokio::task::spawn_blocking(move || {
            for p in b.all_partitions() {
                let closed = l.lock();
                if *closed {
                    return false;
                }
                if let Err(e) = job(&p, now_ms()) {
                    if !matches!(e, strom_log::Error::Closed) {
                        tracing::warn!(topic = %p.topic, partition = p.index, error = %e, job = name, "log maintenance");
                    }
                }
            }
            true
        })
        .await;
        if !matches!(pass, Ok(true)) {
            return;
        }
    }
}

/// Start the maintenance jobs; they stop when the lock says closed.
pub fn spawn(broker: &Arc<Broker>, lock: &MaintenanceLock) -> Vec<tokio::task::JoinHandle<()>> {
    let mut jobs = vec![
        tokio::spawn(every(
            broker.clone(),
            lock.clone(),
            broker.config.log_maintenance_interval(),
            "roll",
            |p, _| p.log.maybe_roll(),
        )),
        tokio::spawn(every(
            broker.clone(),
            lock.clone(),
            interval_ms(broker, "log.retention.check.interval.ms", 300_000),
            "retention",
            |p, now| p.log.enforce_retention(now).map(|_| ()),
        )),
    ];
    let cleaner_enabled = broker
        .config
        .props
        .get("log.cleaner.enable")
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
    if cleaner_enabled {
        jobs.push(tokio::spawn(every(
            broker.clone(),
            lock.clone(),
            interval_ms(broker, "log.cleaner.backoff.ms", 15_000),
            "compaction",
            |p, now| p.log.compact(now).map(|_| ()),
        )));
    }
    jobs
}
