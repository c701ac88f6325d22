//! Prometheus metrics: requests by endpoint (the route pattern), method and
//! status; records produced and consumed; live consumer instances.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    produced_v2: AtomicU64,
    produced_v3: AtomicU64,
    produce_errors: AtomicU64,
    consumed: AtomicU64,
}

impl Metrics {
    pub fn request(&self, method: &str, endpoint: &str, status: u16) {
        *self
            .requests
            .lock()
            .entry((endpoint.to_string(), method.to_string(), status))
            .or_default() += 1;
    }

    pub fn produced(&self, v3: bool, n: u64) {
        let c = if v3 {
            &self.produced_v3
        } else {
            &self.produced_v2
        };
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub fn produce_errors(&self, n: u64) {
        self.produce_errors.fetch_add(n, Ordering::Relaxed);
    }

    pub fn consumed(&self, n: u64) {
        self.consumed.fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, consumer_instances: usize) -> String {
        let mut out = String::new();
        out.push_str("# HELP strom_rest_proxy_requests_total HTTP requests by endpoint, method and status.\n");
        out.push_str("# TYPE strom_rest_proxy_requests_total counter\n");
        for ((endpoint, method, status), n) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "strom_rest_proxy_requests_total{{endpoint=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(endpoint)
            );
        }
        out.push_str(
            "# HELP strom_rest_proxy_records_produced_total Records acknowledged by the broker.\n",
        );
        out.push_str("# TYPE strom_rest_proxy_records_produced_total counter\n");
        let _ = writeln!(
            out,
            "strom_rest_proxy_records_produced_total{{api=\"v2\"}} {}",
            self.produced_v2.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "strom_rest_proxy_records_produced_total{{api=\"v3\"}} {}",
            self.produced_v3.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP strom_rest_proxy_produce_errors_total Records that failed to produce.\n",
        );
        out.push_str("# TYPE strom_rest_proxy_produce_errors_total counter\n");
        let _ = writeln!(
            out,
            "strom_rest_proxy_produce_errors_total {}",
            self.produce_errors.load(Ordering::Relaxed)
        );
        out.push_str("# HELP strom_rest_proxy_records_consumed_total Records returned by consumer instances.\n");
        out.push_str("# TYPE strom_rest_proxy_records_consumed_total counter\n");
        let _ = writeln!(
            out,
            "strom_rest_proxy_records_consumed_total {}",
            self.consumed.load(Ordering::Relaxed)
        );
        out.push_str("# HELP strom_rest_proxy_consumer_instances Live v2 consumer instances.\n");
        out.push_str("# TYPE strom_rest_proxy_consumer_instances gauge\n");
        let _ = writeln!(
            out,
            "strom_rest_proxy_consumer_instances {consumer_instances}"
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
