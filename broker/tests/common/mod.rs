//! Shared helpers for the strom-broker integration tests.
//!
//! * [`TestBroker`]: an in-process broker (`strom_broker::start`) on port 0 with
//!   its data in a fresh temporary directory; restartable on the same data.
//! * [`BrokerProcess`]: the `strom-broker` binary as a child process (for crash
//!   tests); killed when dropped.
//! * Client constructors ([`producer`], [`consumer`], [`admin`]) with the
//!   settings these tests rely on (no idempotence, no auto-commit, CRC checks).
//! * Waiting helpers: every wait is a condition with a deadline
//!   ([`wait_until`], [`consume_n`], [`read_all`]); none of them sleeps blindly.
//!
//! Each test file includes this with `mod common;` and uses only a part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{Client, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientContext;
use rdkafka::{Offset, TopicPartitionList};
use strom_broker::{BrokerConfig, RunningBroker};
use tempfile::TempDir;
use tokio::time::Instant;

/// Upper bound for any single step of a test (a produce, a read, an admin call).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// A broker running inside the test process, with its data in a temporary directory.
pub struct TestBroker {
    dir: TempDir,
    config: BrokerConfig,
    broker: Option<RunningBroker>,
}

impl TestBroker {
    /// A broker with `BrokerConfig::local` defaults on port 0.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A broker with `BrokerConfig::local` defaults on port 0, plus the given Kafka properties.
    pub async fn start_with(props: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("strom-broker-test-")
            .tempdir()
            .expect("create temp dir");
        let mut config = BrokerConfig::local(dir.path(), 0);
        for (key, value) in props {
            config.props.insert(key.to_string(), value.to_string());
        }
        let broker = strom_broker::start(config.clone())
            .await
            .expect("broker starts");
        Self {
            dir,
            config,
            broker: Some(broker),
        }
    }

    fn running(&self) -> &RunningBroker {
        self.broker.as_ref().expect("broker is running")
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.running().bootstrap_servers()
    }

    /// Every bound listener address.
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.running().listen_addrs()
    }

    /// A listener address for raw TCP tests: the first IPv4 one, else the first one.
    pub fn listen_addr(&self) -> SocketAddr {
        let addrs = self.listen_addrs();
        assert!(!addrs.is_empty(), "broker reports no listener address");
        addrs
            .iter()
            .copied()
            .find(SocketAddr::is_ipv4)
            .unwrap_or(addrs[0])
    }

    /// The directory the broker's data lives under.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The configuration the broker was started with (used again by `restart`).
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Clean shutdown, then start again on the same data directory and config.
    /// The port may change (port 0); call [`TestBroker::bootstrap`] again afterwards.
    pub async fn restart(&mut self) {
        let broker = self.broker.take().expect("broker is running");
        broker.shutdown().await.expect("clean shutdown");
        let broker = strom_broker::start(self.config.clone())
            .await
            .expect("broker restarts on the same data");
        self.broker = Some(broker);
    }

    /// Clean shutdown; the data directory is removed when `self` is dropped.
    pub async fn shutdown(mut self) {
        if let Some(broker) = self.broker.take() {
            broker.shutdown().await.expect("clean shutdown");
        }
    }
}

/// The `strom-broker` binary running as a child process; SIGKILLed on drop.
pub struct BrokerProcess {
    child: Child,
    bootstrap: String,
}

impl BrokerProcess {
    /// Spawn `strom-broker <properties_file> [--override k=v]...` and wait (with a
    /// deadline) for the `listening on HOST:PORT` line on its stdout. The broker's
    /// stderr is appended to `log_file`.
    pub fn spawn(properties_file: &Path, overrides: &[&str], log_file: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_strom-broker"));
        command.arg(properties_file);
        for o in overrides {
            command.arg("--override").arg(o);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_file)
            .expect("open broker log file");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn strom-broker binary");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Report the first `listening on` address, then keep draining stdout so
            // the child never blocks on a full pipe.
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = parse_listening_on(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let bootstrap = match blocking(|| rx.recv_timeout(STEP_TIMEOUT)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(log_file).unwrap_or_default();
                panic!(
                    "strom-broker did not print `listening on HOST:PORT` within {STEP_TIMEOUT:?}; stderr:\n{log}"
                );
            }
        };
        Self { child, bootstrap }
    }

    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9` and reap the process.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL the broker");
        self.child.wait().expect("reap the broker");
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `HOST:PORT` of a `listening on (\S+)` line; a `scheme://` prefix is dropped.
pub fn parse_listening_on(line: &str) -> Option<String> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    let token = rest.split_whitespace().next()?;
    let token = token.split_once("://").map_or(token, |(_, addr)| addr);
    let token = token.trim_end_matches([',', ';', '.']);
    (!token.is_empty()).then(|| token.to_string())
}

/// Write a `server.properties` file into `dir` and return its path.
pub fn write_properties(dir: &Path, props: &[(&str, String)]) -> PathBuf {
    let path = dir.join("server.properties");
    let mut text = String::from("# written by strom-broker integration tests\n");
    for (k, v) in props {
        text.push_str(&format!("{k}={v}\n"));
    }
    std::fs::write(&path, text).expect("write server.properties");
    path
}

/// A topic name unique within this test process.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Base client config: the bootstrap servers plus `extra` (later keys win).
pub fn client_config(bootstrap: &str, extra: &[(&str, &str)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    config.set("socket.timeout.ms", "30000");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config
}

/// A producer: `acks=all`, no idempotence (not served yet), short linger.
pub fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut config = client_config(
        bootstrap,
        &[
            ("enable.idempotence", "false"),
            ("acks", "all"),
            ("linger.ms", "5"),
            ("message.timeout.ms", "30000"),
        ],
    );
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config.create().expect("create producer")
}

/// A consumer for `assign` use: unique group id (librdkafka needs one for
/// `assign`), no commits, reset to earliest, CRC checks on, no EOF events.
pub fn consumer(bootstrap: &str, extra: &[(&str, &str)]) -> StreamConsumer {
    let group = unique_name("strom-test-group");
    let mut config = client_config(
        bootstrap,
        &[
            ("group.id", group.as_str()),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "false"),
            ("check.crcs", "true"),
            ("fetch.wait.max.ms", "100"),
            ("allow.auto.create.topics", "false"),
        ],
    );
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config.create().expect("create consumer")
}

/// An admin client.
pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    client_config(bootstrap, &[])
        .create()
        .expect("create admin client")
}

/// Admin options with bounded request and operation timeouts.
pub fn admin_options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(STEP_TIMEOUT))
        .operation_timeout(Some(STEP_TIMEOUT))
}

/// Create a topic (replication factor 1) and assert it succeeded.
pub async fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) {
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let results = admin
        .create_topics([&topic], &admin_options())
        .await
        .expect("CreateTopics request");
    assert_eq!(results.len(), 1, "one result per topic: {results:?}");
    assert_eq!(
        results[0],
        Ok(name.to_string()),
        "create topic {name} with {configs:?}"
    );
}

/// Run a blocking librdkafka call (metadata, watermarks, ...) from an async test.
/// Tests use the multi-threaded runtime, so this does not starve the broker.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Poll `condition` until it holds; panic with `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Topic name -> partition count, from a fresh full Metadata request
/// (a full listing never auto-creates anything).
pub fn topics<C: ClientContext>(client: &Client<C>) -> BTreeMap<String, usize> {
    let metadata =
        blocking(|| client.fetch_metadata(None, STEP_TIMEOUT)).expect("Metadata request");
    metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| (t.name().to_string(), t.partitions().len()))
        .collect()
}

/// The id of the (single) broker, from Metadata.
pub fn broker_id<C: ClientContext>(client: &Client<C>) -> i32 {
    let metadata =
        blocking(|| client.fetch_metadata(None, STEP_TIMEOUT)).expect("Metadata request");
    assert_eq!(
        metadata.brokers().len(),
        1,
        "a single-node cluster lists exactly one broker"
    );
    metadata.brokers()[0].id()
}

/// Number of partitions of `topic` (must exist), via a consumer's Metadata request.
pub fn partition_count(consumer: &StreamConsumer, topic: &str) -> usize {
    let metadata =
        blocking(|| consumer.fetch_metadata(Some(topic), STEP_TIMEOUT)).expect("Metadata request");
    let t = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .unwrap_or_else(|| panic!("topic {topic} missing from metadata"));
    assert!(
        t.error().is_none(),
        "topic {topic} metadata error: {:?}",
        t.error()
    );
    t.partitions().len()
}

/// (low, high) watermarks of one partition (ListOffsets earliest/latest).
pub fn watermarks(consumer: &StreamConsumer, topic: &str, partition: i32) -> (i64, i64) {
    blocking(|| consumer.fetch_watermarks(topic, partition, STEP_TIMEOUT))
        .unwrap_or_else(|e| panic!("watermarks of {topic}/{partition}: {e}"))
}

/// Assign the given partitions of `topic`, each starting at `offset`.
pub fn assign(consumer: &StreamConsumer, topic: &str, partitions: &[i32], offset: Offset) {
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, *p, offset)
            .expect("offset for assignment");
    }
    consumer.assign(&tpl).expect("assign partitions");
}

/// Receive exactly `n` messages (in arrival order) before `timeout`. Any consumer
/// error fails the test: these tests never expect one.
pub async fn consume_n(
    consumer: &StreamConsumer,
    n: usize,
    timeout: Duration,
) -> Vec<OwnedMessage> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Err(_) => panic!(
                "timed out after {timeout:?}: consumed {} of {n} messages",
                out.len()
            ),
            Ok(Err(e)) => panic!("consumer error after {} of {n} messages: {e}", out.len()),
            Ok(Ok(m)) => out.push(m.detach()),
        }
    }
    out
}

/// Everything in `topic`: for each partition, the messages from the low to the
/// high watermark (as they are when this starts), in offset order. Asserts that
/// offsets within a partition strictly increase and that consumer reports no error.
pub async fn read_all(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
) -> BTreeMap<i32, Vec<OwnedMessage>> {
    let consumer = consumer(bootstrap, &[]);
    let partitions = partition_count(&consumer, topic) as i32;
    let mut remaining = BTreeMap::new();
    let mut out: BTreeMap<i32, Vec<OwnedMessage>> = BTreeMap::new();
    for p in 0..partitions {
        let (low, high) = watermarks(&consumer, topic, p);
        out.insert(p, Vec::new());
        if high > low {
            remaining.insert(p, high);
        }
    }
    if remaining.is_empty() {
        return out;
    }
    let to_read: Vec<i32> = remaining.keys().copied().collect();
    assign(&consumer, topic, &to_read, Offset::Beginning);
    let deadline = Instant::now() + timeout;
    while !remaining.is_empty() {
        let m = match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Err(_) => panic!("timed out after {timeout:?} reading {topic}; still waiting for (partition, high watermark) {remaining:?}"),
            Ok(Err(e)) => panic!("consumer error while reading {topic}: {e}"),
            Ok(Ok(m)) => m.detach(),
        };
        let p = m.partition();
        let list = out.entry(p).or_default();
        if let Some(last) = list.last() {
            assert!(
                m.offset() > last.offset(),
                "{topic}/{p}: offset {} delivered after offset {}",
                m.offset(),
                last.offset()
            );
        }
        let offset = m.offset();
        list.push(m);
        if remaining.get(&p).is_some_and(|high| offset + 1 >= *high) {
            remaining.remove(&p);
        }
    }
    out
}

/// Produce one record and wait for its acknowledgement: (partition, offset).
pub async fn produce_one(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    value: &str,
) -> (i32, i64) {
    let delivery = producer
        .send(
            FutureRecord::to(topic).key(key).payload(value),
            STEP_TIMEOUT,
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
    (delivery.partition, delivery.offset)
}

/// The payload as UTF-8 (panics on a missing or non-UTF-8 payload).
pub fn payload_str(m: &OwnedMessage) -> &str {
    std::str::from_utf8(m.payload().expect("message has a payload")).expect("UTF-8 payload")
}

/// The key as UTF-8 (panics on a missing or non-UTF-8 key).
pub fn key_str(m: &OwnedMessage) -> &str {
    std::str::from_utf8(m.key().expect("message has a key")).expect("UTF-8 key")
}

/// The headers as (name, value) pairs in order.
pub fn headers_of(m: &OwnedMessage) -> Vec<(String, Option<Vec<u8>>)> {
    match m.headers() {
        None => Vec::new(),
        Some(h) => h
            .iter()
            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
            .collect(),
    }
}
