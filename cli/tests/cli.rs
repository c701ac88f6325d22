//! End-to-end tests of the `strom` binary against a real broker: one started
//! in-process on port 0 (the client commands), or `strom up` itself.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{strom, strom_command, wait_with_deadline, Broker, Output, COMMAND_DEADLINE};
use serde_json::Value;

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Produce 10 keyed lines (5 keys, 2 values each) with a static header and
/// read them back as JSON; check keys, values, headers and partitioning.
fn produce_and_check(run: &dyn Fn(&[&str], &[u8]) -> Output, topic: &str) {
    let input: String = (0..10)
        .map(|i| format!("key{}:value{i}\n", i % 5))
        .collect();
    run(
        &["produce", topic, "-K", ":", "-H", "source=cli-test"],
        input.as_bytes(),
    )
    .success();

    let out = run(
        &[
            "consume",
            topic,
            "--from-beginning",
            "--format",
            "json",
            "--max-messages",
            "10",
            "--timeout-ms",
            "30000",
        ],
        b"",
    )
    .success();
    let records = json_lines(&out.stdout);
    assert_eq!(
        records.len(),
        10,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stderr.contains("Processed a total of 10 messages"));

    let mut partition_of_key: BTreeMap<String, i64> = BTreeMap::new();
    let mut offsets: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut values = BTreeSet::new();
    for r in &records {
        assert_eq!(r["topic"], topic);
        let key = r["key"].as_str().expect("string key").to_string();
        let value = r["value"].as_str().expect("string value").to_string();
        let i: usize = value
            .strip_prefix("value")
            .and_then(|n| n.parse().ok())
            .expect("valueN");
        assert_eq!(key, format!("key{}", i % 5), "record {r}");
        assert_eq!(
            r["headers"],
            serde_json::json!([{"key": "source", "value": "cli-test"}])
        );
        assert_eq!(r["timestamp_type"], "CreateTime");
        assert!(r["timestamp"].as_i64().is_some_and(|t| t > 0));
        let partition = r["partition"].as_i64().expect("partition");
        let offset = r["offset"].as_i64().expect("offset");
        assert!(
            offsets.insert((partition, offset)),
            "duplicate offset in {r}"
        );
        let previous = partition_of_key.insert(key.clone(), partition);
        assert!(
            previous.is_none_or(|p| p == partition),
            "key {key} in two partitions"
        );
        values.insert(value);
    }
    let expected: BTreeSet<String> = (0..10).map(|i| format!("value{i}")).collect();
    assert_eq!(values, expected);
    // Within a partition, records come back in the order they were sent.
    for key in partition_of_key.keys() {
        let mine: Vec<&Value> = records.iter().filter(|r| r["key"] == *key).collect();
        assert!(mine[0]["offset"].as_i64() < mine[1]["offset"].as_i64());
    }
}

#[test]
fn topics_produce_consume_alter_delete() {
    let broker = Broker::start();
    let run = |args: &[&str], stdin: &[u8]| broker.strom(args, stdin);

    let out = run(
        &[
            "topics",
            "create",
            "orders",
            "--partitions",
            "3",
            "--replication-factor",
            "1",
            "--config",
            "retention.ms=86400000",
        ],
        b"",
    )
    .success();
    assert!(
        out.stdout.contains("Created topic orders."),
        "{}",
        out.stdout
    );

    let out = run(&["topics", "list"], b"").success();
    assert!(out.stdout.lines().any(|l| l == "orders"), "{}", out.stdout);

    let out = run(&["topics", "describe", "orders"], b"").success();
    let d = &out.stdout;
    assert!(d.contains("Topic: orders\tTopicId: "), "{d}");
    assert!(d.contains("\tPartitionCount: 3\t"), "{d}");
    assert!(d.contains("\tReplicationFactor: 1\t"), "{d}");
    assert!(d.contains("retention.ms=86400000"), "{d}");
    for p in 0..3 {
        assert!(
            d.contains(&format!("\tTopic: orders\tPartition: {p}\tLeader: ")),
            "{d}"
        );
    }
    assert!(
        !d.contains("TopicId: AAAAAAAAAAAAAAAAAAAAAA"),
        "no topic id: {d}"
    );

    // Describing every topic includes this one.
    let out = run(&["topics", "describe"], b"").success();
    assert!(out.stdout.contains("Topic: orders\t"), "{}", out.stdout);

    produce_and_check(&run, "orders");

    // Text format, one partition, from an absolute offset.
    let out = run(
        &[
            "consume",
            "orders",
            "--partition",
            "0",
            "--offset",
            "0",
            "--print-key",
            "--timeout-ms",
            "3000",
        ],
        b"",
    )
    .success();
    for line in out.stdout.lines() {
        let (key, value) = line.split_once('\t').expect("key<TAB>value");
        assert!(
            key.starts_with("key") && value.starts_with("value"),
            "{line}"
        );
    }

    // A duplicate is an error with Kafka's error name...
    let out = run(&["topics", "create", "orders", "--partitions", "1"], b"").failure();
    assert!(
        out.stderr
            .contains("Error: TOPIC_ALREADY_EXISTS: Topic 'orders' already exists."),
        "{}",
        out.stderr
    );
    // ...unless asked not to mind.
    run(&["topics", "create", "orders", "--if-not-exists"], b"").success();

    let out = run(&["topics", "alter", "orders", "--partitions", "4"], b"").success();
    assert!(
        out.stdout.contains("Altered topic orders."),
        "{}",
        out.stdout
    );
    let out = run(&["topics", "describe", "orders"], b"").success();
    assert!(
        out.stdout.contains("\tPartitionCount: 4\t"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\tPartition: 3\t"), "{}", out.stdout);

    let out = run(&["topics", "delete", "orders"], b"").success();
    assert!(
        out.stdout.contains("Deleted topic orders."),
        "{}",
        out.stdout
    );
    let out = run(&["topics", "list"], b"").success();
    assert!(!out.stdout.lines().any(|l| l == "orders"), "{}", out.stdout);
    let out = run(&["topics", "delete", "orders"], b"").failure();
    assert!(
        out.stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{}",
        out.stderr
    );
    run(&["topics", "delete", "orders", "--if-exists"], b"").success();
}

#[test]
fn alter_configs_keeps_other_overrides() {
    let broker = Broker::start();
    let run = |args: &[&str]| broker.strom(args, b"");
    run(&[
        "topics",
        "create",
        "conf",
        "--partitions",
        "1",
        "--config",
        "retention.ms=86400000",
    ])
    .success();

    run(&[
        "topics",
        "alter",
        "conf",
        "--config",
        "max.message.bytes=2000000",
    ])
    .success();
    let out = run(&["topics", "describe", "conf"]).success();
    assert!(
        out.stdout.contains("retention.ms=86400000"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("max.message.bytes=2000000"),
        "{}",
        out.stdout
    );

    run(&[
        "topics",
        "alter",
        "conf",
        "--delete-config",
        "max.message.bytes",
    ])
    .success();
    let out = run(&["topics", "describe", "conf"]).success();
    assert!(
        out.stdout.contains("retention.ms=86400000"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("max.message.bytes=2000000"),
        "{}",
        out.stdout
    );
}

#[test]
fn missing_topics_fail_fast_with_kafka_error_names() {
    let broker = Broker::start();
    let started = Instant::now();
    let out = broker.strom(&["topics", "describe", "nope"], b"").failure();
    assert!(
        out.stderr
            .contains("UNKNOWN_TOPIC_OR_PARTITION: Topic 'nope' does not exist."),
        "{}",
        out.stderr
    );
    let out = broker
        .strom(&["consume", "nope", "--timeout-ms", "1000"], b"")
        .failure();
    assert!(
        out.stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{}",
        out.stderr
    );
    let out = broker
        .strom(&["topics", "alter", "nope", "--partitions", "2"], b"")
        .failure();
    assert!(out.stderr.contains("Error: "), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn produce_to_a_partition_and_read_binary_as_base64() {
    let broker = Broker::start();
    broker
        .strom(&["topics", "create", "bin", "--partitions", "2"], b"")
        .success();
    broker
        .strom(&["produce", "bin", "--partition", "1"], b"text\n\xff\xfe\n")
        .success();
    let out = broker
        .strom(
            &[
                "consume",
                "bin",
                "--partition",
                "1",
                "--offset",
                "beginning",
                "--format",
                "json",
                "--max-messages",
                "2",
                "--timeout-ms",
                "30000",
            ],
            b"",
        )
        .success();
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    assert_eq!(records[0]["value"], "text");
    assert_eq!(records[0]["key"], Value::Null);
    assert!(records[0].get("value_base64").is_none());
    assert_eq!(records[1]["value"], "//4=");
    assert_eq!(records[1]["value_base64"], true);
    assert!(records.iter().all(|r| r["partition"] == 1));

    // Partition 0 got nothing: -e exits at its end.
    let out = broker
        .strom(&["consume", "bin", "-p", "0", "-o", "beginning", "-e"], b"")
        .success();
    assert_eq!(out.stdout, "");
}

/// A running `strom up`: its addresses, and lines of its stdout as they come.
struct Up {
    child: Option<Child>,
    address: String,
    /// `host:port` of the schema registry.
    registry: String,
    /// `host:port` of the REST proxy.
    proxy: String,
    /// `host:port` of the Connect worker.
    connect: String,
    lines: mpsc::Receiver<String>,
    stderr_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Up {
    fn start() -> Up {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let stderr_path = dir.path().join("up.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut child = strom_command()
            .args(["up", "--data-dir"])
            .arg(&data_dir)
            .args(["--broker-port", "0", "--schema-registry-port", "0"])
            .args(["--rest-proxy-port", "0", "--connect-port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn strom up");
        let (tx, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut up = Up {
            child: Some(child),
            address: String::new(),
            registry: String::new(),
            proxy: String::new(),
            connect: String::new(),
            lines,
            stderr_path,
            _dir: dir,
        };
        let address_after = |line: String| {
            line.split("listening on ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("address after 'listening on'")
                .to_string()
        };
        up.address = address_after(up.wait_for_line(|l| l.contains("broker (Kafka API)")));
        let url = address_after(up.wait_for_line(|l| l.contains("schema registry")));
        up.registry = url
            .strip_prefix("http://")
            .expect("the registry's address is an http:// URL")
            .to_string();
        let url = address_after(up.wait_for_line(|l| l.contains("REST proxy")));
        up.proxy = url
            .strip_prefix("http://")
            .expect("the REST proxy's address is an http:// URL")
            .to_string();
        let url = address_after(up.wait_for_line(|l| l.contains("Connect")));
        up.connect = url
            .strip_prefix("http://")
            .expect("the Connect worker's address is an http:// URL")
            .to_string();
        up.wait_for_line(|l| l.contains("Strom is up."));
        assert!(data_dir.is_dir(), "data directory was created");
        up
    }

    fn wait_for_line(&self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + COMMAND_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(e) => panic!(
                    "strom up: expected line not printed ({e}); its stderr:\n{}",
                    std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
                ),
            }
        }
    }

    fn strom(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-b", &self.address]);
        strom(&all, stdin)
    }

    /// SIGTERM, then wait for the exit.
    fn terminate(&mut self) -> ExitStatus {
        let child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(killed.success());
        wait_with_deadline(child, COMMAND_DEADLINE, "strom up (after SIGTERM)")
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn up_serves_clients_and_stops_cleanly_on_sigterm() {
    let mut up = Up::start();
    let run = |args: &[&str], stdin: &[u8]| up.strom(args, stdin);
    run(&["topics", "create", "events", "--partitions", "3"], b"").success();
    produce_and_check(&run, "events");

    // The schema registry runs beside the broker, its state in `_schemas`.
    let schema = r#"{"schema":"{\"type\":\"record\",\"name\":\"E\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}"}"#;
    let (status, body) = http(
        &up.registry,
        "POST",
        "/subjects/events-value/versions",
        SR_JSON,
        schema,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["id"], 1);
    let (status, body) = http(&up.registry, "GET", "/subjects", SR_JSON, "");
    assert_eq!((status, body.as_str()), (200, r#"["events-value"]"#));
    let out = up.strom(&["topics", "list"], b"").success();
    assert!(
        out.stdout.lines().any(|l| l == "_schemas"),
        "{}",
        out.stdout
    );

    // So does the REST proxy: a JSON record produced through it reads back
    // with `strom consume`.
    let (status, body) = http(
        &up.proxy,
        "POST",
        "/topics/proxied",
        "application/vnd.kafka.json.v2+json",
        r#"{"records":[{"key":"k","value":{"a":1}}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let offsets = &serde_json::from_str::<Value>(&body).unwrap()["offsets"];
    assert_eq!(offsets[0]["offset"], 0, "{body}");
    let out = up
        .strom(
            &[
                "consume",
                "proxied",
                "--from-beginning",
                "--max-messages",
                "1",
            ],
            b"",
        )
        .success();
    assert_eq!(out.stdout.trim(), r#"{"a":1}"#);

    // And a Connect worker: a FileStream source posted over REST copies a
    // file into a topic.
    up.strom(&["topics", "create", "lines"], b"").success();
    let input = up._dir.path().join("lines.txt");
    std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
    let connector = serde_json::json!({
        "name": "lines",
        "config": {
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": "lines",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        }
    });
    let (status, body) = http(
        &up.connect,
        "POST",
        "/connectors",
        "application/json",
        &connector.to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let out = up
        .strom(
            &[
                "consume",
                "lines",
                "--from-beginning",
                "--max-messages",
                "3",
            ],
            b"",
        )
        .success();
    assert_eq!(out.stdout, "one\ntwo\nthree\n");

    let status = up.terminate();
    assert!(status.success(), "strom up exited with {status}");
    up.wait_for_line(|l| l.contains("Strom stopped."));
}

const SR_JSON: &str = "application/vnd.schemaregistry.v1+json";

/// One HTTP/1.1 request with a JSON body (no keep-alive); returns status and body.
fn http(addr: &str, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the registry");
    stream
        .set_read_timeout(Some(COMMAND_DEADLINE))
        .expect("read timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a response head and body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "unexpected chunked response: {head}"
    );
    (status, body.to_string())
}

#[test]
fn help_everywhere() {
    for args in [
        &["--help"][..],
        &["up", "--help"],
        &["topics", "--help"],
        &["topics", "create", "--help"],
        &["topics", "list", "--help"],
        &["topics", "describe", "--help"],
        &["topics", "alter", "--help"],
        &["topics", "delete", "--help"],
        &["produce", "--help"],
        &["consume", "--help"],
    ] {
        let out = strom(args, b"").success();
        assert!(out.stdout.contains("Usage: strom"), "{}", out.stdout);
    }
    let out = strom(&["--version"], b"").success();
    assert!(out.stdout.starts_with("strom "));
}
