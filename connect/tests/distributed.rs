//! Two distributed workers in one group: a connector's tasks spread across
//! both; either REST API creates connectors and shows the same state; when
//! one worker stops, its tasks move to the other and data keeps flowing.

mod support;

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::{json, Value};
use support::{read_lines, wait_until, Env, Http};

fn append_lines(path: &std::path::Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut buf = String::new();
    for i in from..to {
        buf.push_str(&format!("line-{i}\n"));
    }
    f.write_all(buf.as_bytes()).unwrap();
}

fn all_lines_arrived(path: &std::path::Path, n: usize) -> bool {
    let got: BTreeSet<String> = read_lines(path).into_iter().collect();
    (0..n).all(|i| got.contains(&format!("line-{i}")))
}

/// Worker ids running the connector and its tasks, from a status answer.
fn workers_of(status: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(
        status["connector"]["worker_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    for t in status["tasks"].as_array().into_iter().flatten() {
        out.insert(t["worker_id"].as_str().unwrap_or_default().to_string());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_spread_and_move_when_a_worker_leaves() {
    let env = Env::start().await;
    env.create_topic("dist-lines", 2).await;
    let w1 = env.distributed("connect-cluster").await;
    let w2 = env.distributed("connect-cluster").await;
    let (h1, h2) = (Http::new(&w1), Http::new(&w2));
    let id1 = w1.url().trim_start_matches("http://").to_string();
    let id2 = w2.url().trim_start_matches("http://").to_string();

    let input = env.path("in.txt");
    let output = env.path("out.txt");
    append_lines(&input, 0, 1000);

    // Create through either worker: the leader writes, the other forwards.
    let (code, body) = h2
        .post_retrying("/connectors", &json!({"name": "source", "config": {
            "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": "dist-lines"}}))
        .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = h1
        .post_retrying(
            "/connectors",
            &json!({"name": "sink", "config": {
            "connector.class": "FileStreamSink", "file": output.display().to_string(),
            "topics": "dist-lines", "tasks.max": "2"}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = h1
        .post_retrying(
            "/connectors",
            &json!({"name": "sink", "config": {
            "connector.class": "FileStreamSink", "topics": "dist-lines"}}),
        )
        .await;
    assert_eq!(
        (code, body["message"].as_str()),
        (409, Some("Connector sink already exists"))
    );

    // The sink's two tasks and the source run, spread over both workers.
    let sink = h1.wait_status("sink", "RUNNING", 2, "RUNNING").await;
    let source = h2.wait_status("source", "RUNNING", 1, "RUNNING").await;
    let mut used = workers_of(&sink);
    used.extend(workers_of(&source));
    assert_eq!(
        used,
        BTreeSet::from([id1.clone(), id2.clone()]),
        "sink {sink} source {source}"
    );
    let sink_tasks: BTreeSet<String> = sink["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["worker_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sink_tasks.len(),
        2,
        "the sink's tasks run on both workers: {sink}"
    );

    wait_until("the first 1000 lines arrived", || async {
        all_lines_arrived(&output, 1000)
    })
    .await;

    // Both REST APIs show the same state.
    wait_until("both workers agree", || async {
        let mut same = true;
        for path in [
            "/connectors",
            "/connectors/sink",
            "/connectors/sink/status",
            "/connectors/source/status",
            "/connectors/sink/tasks",
        ] {
            let (a, b) = (h1.get(path).await, h2.get(path).await);
            same &= a.0 == 200 && a == b;
        }
        same
    })
    .await;
    assert_eq!(h2.get("/connectors").await.1, json!(["sink", "source"]));

    // Pausing through either worker reaches the tasks wherever they run.
    assert_eq!(h2.put("/connectors/sink/pause", &Value::Null).await.0, 202);
    h1.wait_status("sink", "PAUSED", 2, "PAUSED").await;
    assert_eq!(h1.put("/connectors/sink/resume", &Value::Null).await.0, 202);
    h2.wait_status("sink", "RUNNING", 2, "RUNNING").await;

    // Stop worker 1: everything moves to worker 2 and data keeps flowing.
    w1.shutdown().await.unwrap();
    wait_until("all tasks run on worker 2", || async {
        let (code, s) = h2.get("/connectors/sink/status").await;
        let (code2, src) = h2.get("/connectors/source/status").await;
        code == 200
            && code2 == 200
            && s["connector"]["state"] == "RUNNING"
            && src["connector"]["state"] == "RUNNING"
            && s["tasks"]
                .as_array()
                .is_some_and(|t| t.len() == 2 && t.iter().all(|t| t["state"] == "RUNNING"))
            && src["tasks"]
                .as_array()
                .is_some_and(|t| t.len() == 1 && t[0]["state"] == "RUNNING")
            && workers_of(&s) == BTreeSet::from([id2.clone()])
            && workers_of(&src) == BTreeSet::from([id2.clone()])
    })
    .await;
    append_lines(&input, 1000, 2000);
    wait_until("lines written after the move arrived", || async {
        all_lines_arrived(&output, 2000)
    })
    .await;

    // Worker 2 alone still serves writes.
    assert_eq!(h2.delete("/connectors/source").await.0, 204);
    assert_eq!(h2.get("/connectors").await.1, json!(["sink"]));

    w2.shutdown().await.unwrap();
    env.shutdown().await;
}
