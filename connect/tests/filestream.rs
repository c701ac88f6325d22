//! The FileStream round trip: a source reads a file into a topic, a sink
//! writes the topic to another file.
//!
//! Connect's delivery is at-least-once: a source commits the file position
//! of acknowledged records every `offset.flush.interval.ms`, a sink commits
//! consumer offsets after flushing. A worker killed with SIGKILL between two
//! commits re-sends (source) and re-delivers (sink) what came after the last
//! commit. So after a kill and restart: no line is ever missing, lines keep
//! their file order, and duplicates appear only as a replay — the sequence
//! jumps back once per restart to an earlier line and repeats from there.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use support::{props, read_lines, wait_until, Env};

fn append_lines(path: &Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut buf = String::new();
    for i in from..to {
        buf.push_str(&format!("line-{i:06}\n"));
    }
    f.write_all(buf.as_bytes()).unwrap();
}

fn line_numbers(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .map(|l| {
            l.strip_prefix("line-")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected line {l:?}"))
        })
        .collect()
}

/// Check at-least-once delivery of lines 0..n: every line present, in file
/// order except for at most `replays` jumps back (each a replay after a restart).
#[track_caller]
fn assert_at_least_once(what: &str, seq: &[usize], n: usize, replays: usize) {
    assert_eq!(seq.first(), Some(&0), "{what} starts with the first line");
    let mut jumps = 0;
    let mut max = 0;
    for w in seq.windows(2) {
        let (a, b) = (w[0], w[1]);
        assert!(
            b <= max + 1,
            "{what}: line {} missing (after {a} came {b})",
            max + 1
        );
        if b != a + 1 {
            assert!(b <= a, "{what}: gap after {a}: {b}");
            jumps += 1;
        }
        max = max.max(b);
    }
    assert_eq!(max, n - 1, "{what} reaches the last line");
    assert!(
        jumps <= replays,
        "{what}: {jumps} replays, at most {replays} allowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn round_trip_is_identical() {
    let env = Env::start().await;
    env.create_topic("round-trip", 1).await;
    let input = env.path("in.txt");
    let output = env.path("out.txt");
    append_lines(&input, 0, 5000);
    let source = props(&[
        ("name", "file-source"),
        ("connector.class", "FileStreamSource"),
        ("file", &input.display().to_string()),
        ("topic", "round-trip"),
    ]);
    let sink = props(&[
        ("name", "file-sink"),
        (
            "connector.class",
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
        ),
        ("file", &output.display().to_string()),
        ("topics", "round-trip"),
    ]);
    let worker = env
        .standalone(&env.path("offsets"), vec![source, sink])
        .await;
    // Lines appended while running arrive too.
    append_lines(&input, 5000, 6000);
    let expected = std::fs::read_to_string(&input).unwrap();
    wait_until("the output file equals the input", || async {
        std::fs::read_to_string(&output).is_ok_and(|o| o == expected)
    })
    .await;
    worker.shutdown().await.unwrap();
    env.shutdown().await;
}

/// A real `strom-connect standalone` process, its REST address read from stdout.
fn spawn_worker(worker_props: &Path, connectors: &[&Path]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strom-connect"));
    cmd.arg("standalone").arg(worker_props);
    for c in connectors {
        cmd.arg(c);
    }
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("strom-connect starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("listening line");
    assert!(
        line.contains("listening on"),
        "unexpected first line {line:?}"
    );
    child
}

fn write_props(path: &Path, pairs: &[(&str, String)]) {
    let text: String = pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_worker_resumes_without_losing_a_line() {
    const N: usize = 60_000;
    let env = Env::start().await;
    env.create_topic("kill-test", 1).await;
    let input = env.path("in.txt");
    let output = env.path("out.txt");
    let worker_props = env.path("worker.properties");
    write_props(
        &worker_props,
        &[
            ("bootstrap.servers", env.bootstrap.clone()),
            ("listeners", "http://127.0.0.1:0".into()),
            (
                "offset.storage.file.filename",
                env.path("connect.offsets").display().to_string(),
            ),
            ("offset.flush.interval.ms", "50".into()),
            // The killed worker's sink consumer leaves the group only by timing out.
            ("consumer.session.timeout.ms", "6000".into()),
            ("consumer.heartbeat.interval.ms", "500".into()),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter".into(),
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter".into(),
            ),
        ],
    );
    let source_props = env.path("source.properties");
    write_props(
        &source_props,
        &[
            ("name", "file-source".into()),
            ("connector.class", "FileStreamSource".into()),
            ("file", input.display().to_string()),
            ("topic", "kill-test".into()),
            ("batch.size", "200".into()),
        ],
    );
    let sink_props = env.path("sink.properties");
    write_props(
        &sink_props,
        &[
            ("name", "file-sink".into()),
            ("connector.class", "FileStreamSink".into()),
            ("file", output.display().to_string()),
            ("topics", "kill-test".into()),
        ],
    );
    // The file grows while the worker runs: it is killed mid-file.
    append_lines(&input, 0, 10_000);
    let mut child = spawn_worker(&worker_props, &[&source_props, &sink_props]);
    let writer_input = input.clone();
    let writer = tokio::spawn(async move {
        for start in (10_000..N).step_by(1000) {
            append_lines(&writer_input, start, start + 1000);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    wait_until("the sink wrote some lines", || async {
        read_lines(&output).len() >= 5_000
    })
    .await;
    // SIGKILL: no shutdown, no final commit.
    child.kill().expect("kill");
    child.wait().expect("reaped");
    let at_kill = read_lines(&output).len();
    assert!(at_kill < N, "killed mid-file ({at_kill} lines written)");

    let mut child = spawn_worker(&worker_props, &[&source_props, &sink_props]);
    writer.await.unwrap();
    wait_until("every line reached the output", || async {
        let lines = read_lines(&output);
        let mut seen = vec![false; N];
        for n in line_numbers(&lines) {
            seen[n] = true;
        }
        seen.iter().all(|s| *s)
    })
    .await;
    child.kill().expect("kill");
    child.wait().expect("reaped");

    // The topic: every line, in file order, with at most one replay (the
    // source's restart). The output file: the topic's records in order, with
    // at most one more replay (the sink's restart).
    let topic_len = env.topic_end("kill-test").await;
    assert!(topic_len >= N as i64);
    let topic = line_numbers(&env.read_topic("kill-test", topic_len as usize).await);
    assert_at_least_once("topic", &topic, N, 1);
    let out = line_numbers(&read_lines(&output));
    assert_at_least_once("output file", &out, N, 2);
    assert!(
        out.len() >= topic.len(),
        "the output holds every record of the topic"
    );
    env.shutdown().await;
}
