//! Shared helpers for strom-connect's integration tests.
//!
//! * [`Env`]: an in-process `strom-broker` on port 0 (data in a temp dir),
//!   group rebalance delay off so group joins are immediate.
//! * [`Env::worker_props`] / [`Env::standalone`]: worker configs and in-process workers.
//! * [`Http`]: a reqwest client returning (status, JSON).
//! * [`wait_until`]: poll a condition with a deadline; nothing sleeps blindly.
#![allow(dead_code)]

pub mod mysql;
pub mod postgres;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use strom_broker::{BrokerConfig, RunningBroker};
use strom_connect::{Props, RunningWorker, WorkerConfig};
use tempfile::TempDir;

pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Env {
    pub dir: TempDir,
    broker: Option<RunningBroker>,
    pub bootstrap: String,
}

impl Env {
    pub async fn start() -> Env {
        // RUST_LOG=strom_connect=debug shows the worker's logs.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::Builder::new()
            .prefix("strom-connect-test-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("broker");
        std::fs::create_dir_all(&data).expect("broker dir");
        let mut config = BrokerConfig::local(&data, 0);
        config
            .props
            .insert("group.initial.rebalance.delay.ms".into(), "0".into());
        let broker = strom_broker::start(config).await.expect("broker starts");
        let bootstrap = broker.bootstrap_servers();
        Env {
            dir,
            broker: Some(broker),
            bootstrap,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Standalone worker properties: loopback port 0, fast offset commits, string values.
    pub fn standalone_props(&self, offsets_file: &Path) -> Props {
        let mut p = Props::new();
        p.insert("bootstrap.servers".into(), self.bootstrap.clone());
        p.insert("listeners".into(), "http://127.0.0.1:0".into());
        p.insert(
            "offset.storage.file.filename".into(),
            offsets_file.display().to_string(),
        );
        p.insert("offset.flush.interval.ms".into(), "100".into());
        p.insert(
            "key.converter".into(),
            "org.apache.kafka.connect.storage.StringConverter".into(),
        );
        p.insert(
            "value.converter".into(),
            "org.apache.kafka.connect.storage.StringConverter".into(),
        );
        p
    }

    pub async fn standalone(&self, offsets_file: &Path, connectors: Vec<Props>) -> RunningWorker {
        let config =
            WorkerConfig::from_properties("standalone", self.standalone_props(offsets_file))
                .expect("valid worker config");
        strom_connect::start(config, connectors)
            .await
            .expect("worker starts")
    }

    /// Distributed worker properties for group `group`.
    pub fn distributed_props(&self, group: &str) -> Props {
        let mut p = Props::new();
        p.insert("bootstrap.servers".into(), self.bootstrap.clone());
        p.insert("listeners".into(), "http://127.0.0.1:0".into());
        p.insert("group.id".into(), group.into());
        p.insert("config.storage.topic".into(), format!("{group}-configs"));
        p.insert("offset.storage.topic".into(), format!("{group}-offsets"));
        p.insert("status.storage.topic".into(), format!("{group}-status"));
        p.insert("config.storage.replication.factor".into(), "1".into());
        p.insert("offset.storage.replication.factor".into(), "1".into());
        p.insert("status.storage.replication.factor".into(), "1".into());
        p.insert("offset.storage.partitions".into(), "5".into());
        p.insert("status.storage.partitions".into(), "2".into());
        p.insert("offset.flush.interval.ms".into(), "100".into());
        p.insert("heartbeat.interval.ms".into(), "300".into());
        p.insert("session.timeout.ms".into(), "6000".into());
        p.insert("consumer.session.timeout.ms".into(), "6000".into());
        p.insert("consumer.heartbeat.interval.ms".into(), "500".into());
        p.insert(
            "key.converter".into(),
            "org.apache.kafka.connect.storage.StringConverter".into(),
        );
        p.insert(
            "value.converter".into(),
            "org.apache.kafka.connect.storage.StringConverter".into(),
        );
        p
    }

    pub async fn distributed(&self, group: &str) -> RunningWorker {
        let config = WorkerConfig::from_properties("distributed", self.distributed_props(group))
            .expect("valid worker config");
        strom_connect::start(config, Vec::new())
            .await
            .expect("worker starts")
    }

    /// Create a topic with `partitions` partitions.
    pub async fn create_topic(&self, topic: &str, partitions: i32) {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        use rdkafka::client::DefaultClientContext;
        use rdkafka::config::ClientConfig;
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .expect("admin");
        let r = admin
            .create_topics(
                [&NewTopic::new(
                    topic,
                    partitions,
                    TopicReplication::Fixed(1),
                )],
                &AdminOptions::new(),
            )
            .await
            .expect("create topics");
        for x in r {
            x.expect("topic created");
        }
    }

    /// Every record value of a topic (all partitions), read from the beginning
    /// until `count` are there.
    pub async fn read_topic(&self, topic: &str, count: usize) -> Vec<String> {
        use rdkafka::config::ClientConfig;
        use rdkafka::consumer::{Consumer, StreamConsumer};
        use rdkafka::Message;
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while out.len() < count {
            let m = tokio::time::timeout_at(deadline, consumer.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out reading {topic}: {} of {count}", out.len()));
            match m {
                Ok(m) => {
                    out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned())
                }
                // The topic may not exist yet (a source creates it with its first record).
                Err(rdkafka::error::KafkaError::MessageConsumption(
                    rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
                )) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => panic!("reading {topic}: {e}"),
            }
        }
        out
    }

    /// Produce `(key, value)` records (a `None` value is a tombstone), in order.
    pub async fn produce(&self, topic: &str, records: &[(Option<&str>, Option<&str>)]) {
        use rdkafka::config::ClientConfig;
        use rdkafka::producer::{FutureProducer, FutureRecord};
        let p: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .expect("producer");
        for (k, v) in records {
            let mut r: FutureRecord<'_, str, str> = FutureRecord::to(topic);
            if let Some(k) = k {
                r = r.key(*k);
            }
            if let Some(v) = v {
                r = r.payload(*v);
            }
            p.send(r, Duration::from_secs(30))
                .await
                .expect("record produced");
        }
    }

    /// The end offset of partition 0 of a topic.
    pub async fn topic_end(&self, topic: &str) -> i64 {
        use rdkafka::config::ClientConfig;
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .expect("consumer");
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || {
            consumer
                .fetch_watermarks(&topic, 0, Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
        .await
        .expect("watermarks task")
    }

    pub async fn shutdown(mut self) {
        if let Some(b) = self.broker.take() {
            b.shutdown().await.expect("broker stops");
        }
    }
}

/// A connector config from pairs.
pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A JSON-over-HTTP client of one worker.
#[derive(Clone)]
pub struct Http {
    pub base: String,
    client: reqwest::Client,
}

impl Http {
    pub fn new(w: &RunningWorker) -> Http {
        Http::at(&format!("http://{}", w.local_addr()))
    }

    pub fn at(base: &str) -> Http {
        Http {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .timeout(DEADLINE)
                .build()
                .expect("client"),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// POST, retried while the cluster answers 409 for a rebalance in progress.
    pub async fn post_retrying(&self, path: &str, body: &Value) -> (u16, Value) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let r = self.post(path, body).await;
            let rebalancing = r.0 == 409
                && r.1["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Cannot complete request"));
            if !rebalancing || tokio::time::Instant::now() >= deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn post_empty(&self, path: &str) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(
            self.client
                .put(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(
            self.client
                .patch(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)))
            .await
    }

    /// Wait until the connector's status has `state` and `tasks` tasks all in `task_state`.
    pub async fn wait_status(
        &self,
        name: &str,
        state: &str,
        tasks: usize,
        task_state: &str,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let (code, v) = self.get(&format!("/connectors/{name}/status")).await;
            if code == 200
                && v["connector"]["state"] == state
                && v["tasks"]
                    .as_array()
                    .is_some_and(|t| t.len() == tasks && t.iter().all(|t| t["state"] == task_state))
            {
                return v;
            }
            let last = v;
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {name} to be {state} with {tasks} {task_state} tasks; last status {last}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Assert an error answer: HTTP status, `error_code` = status, and the message.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, message: &str) {
    assert_eq!(got.0, status, "status of {}", got.1);
    assert_eq!(
        got.1["error_code"].as_u64(),
        Some(u64::from(status)),
        "error_code of {}",
        got.1
    );
    assert_eq!(
        got.1["message"].as_str(),
        Some(message),
        "message of {}",
        got.1
    );
}

/// Poll `cond` until it returns true or the deadline passes.
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if cond().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The lines of a file (empty when it does not exist).
pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Whether the tests run as root (database servers then run as another user,
/// or are told root is meant).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Send `signal` (`-INT`, `-TERM`) to a server process and wait for it to
/// exit, killing it after 30 s.
pub fn stop_child(mut child: std::process::Child, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !matches!(child.try_wait(), Ok(Some(_))) {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
