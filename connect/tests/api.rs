//! The REST API of a standalone worker, against a real broker: connector
//! lifecycle, statuses, restarts, topics, offsets (KIP-875), validation and
//! Connect's error answers.

mod support;

use serde_json::{json, Value};
use support::{assert_error, read_lines, wait_until, Env, Http};

const SOURCE: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const SINK: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";

fn write_lines(path: &std::path::Path, from: usize, to: usize) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..to {
        writeln!(f, "line-{i}").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connector_lifecycle() {
    let env = Env::start().await;
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);

    let (code, root) = http.get("/").await;
    assert_eq!(code, 200);
    assert!(root["version"].is_string() && root["commit"].is_string());
    assert!(
        !root["kafka_cluster_id"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{root}"
    );

    let (code, plugins) = http.get("/connector-plugins").await;
    assert_eq!(code, 200);
    let classes: Vec<(&str, &str)> = plugins
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["class"].as_str().unwrap(), p["type"].as_str().unwrap()))
        .collect();
    assert!(
        classes.contains(&(SOURCE, "source")) && classes.contains(&(SINK, "sink")),
        "{plugins}"
    );

    let input = env.path("in.txt");
    write_lines(&input, 0, 10);
    let create = json!({"name": "src", "config": {
        "connector.class": "FileStreamSource", "tasks.max": "1",
        "file": input.display().to_string(), "topic": "lifecycle"}});
    let (code, info) = http.post("/connectors", &create).await;
    assert_eq!(code, 201, "{info}");
    assert_eq!(info["name"], "src");
    assert_eq!(info["type"], "source");
    assert_eq!(info["config"]["name"], "src");
    assert_eq!(info["tasks"], json!([{"connector": "src", "task": 0}]));

    assert_error(
        &http.post("/connectors", &create).await,
        409,
        "Connector src already exists",
    );

    assert_eq!(http.get("/connectors").await, (200, json!(["src"])));
    let (code, expanded) = http.get("/connectors?expand=status&expand=info").await;
    assert_eq!(code, 200);
    assert_eq!(expanded["src"]["info"]["type"], "source");
    assert_eq!(expanded["src"]["status"]["name"], "src");

    let status = http.wait_status("src", "RUNNING", 1, "RUNNING").await;
    assert_eq!(status["type"], "source");
    assert!(status["connector"]["worker_id"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    let (code, task) = http.get("/connectors/src/tasks/0/status").await;
    assert_eq!(code, 200);
    assert_eq!(task["id"], 0);
    assert_eq!(task["state"], "RUNNING");

    let (code, tasks) = http.get("/connectors/src/tasks").await;
    assert_eq!(code, 200);
    assert_eq!(tasks[0]["id"], json!({"connector": "src", "task": 0}));
    assert_eq!(tasks[0]["config"]["topic"], "lifecycle");

    // Config: GET, PUT (update = 200), PATCH.
    let (code, cfg) = http.get("/connectors/src/config").await;
    assert_eq!(code, 200);
    assert_eq!(cfg["connector.class"], "FileStreamSource");
    let mut updated = cfg.clone();
    updated["batch.size"] = json!("5");
    let (code, info) = http.put("/connectors/src/config", &updated).await;
    assert_eq!(code, 200, "{info}");
    assert_eq!(info["config"]["batch.size"], "5");
    let (code, info) = http
        .patch(
            "/connectors/src/config",
            &json!({"batch.size": null, "tasks.max": "1"}),
        )
        .await;
    assert_eq!(code, 200, "{info}");
    assert!(info["config"].get("batch.size").is_none());
    assert_error(
        &http
            .put(
                "/connectors/src/config",
                &json!({"name": "other", "connector.class": "FileStreamSource", "topic": "t"}),
            )
            .await,
        400,
        "Connector name configuration (other) doesn't match connector name in the URL (src)",
    );

    // Topics the connector used.
    wait_until("active topics", || async {
        http.get("/connectors/src/topics").await.1 == json!({"src": {"topics": ["lifecycle"]}})
    })
    .await;
    assert_eq!(
        http.put("/connectors/src/topics/reset", &Value::Null)
            .await
            .0,
        202
    );
    assert_eq!(
        http.get("/connectors/src/topics").await.1,
        json!({"src": {"topics": []}})
    );

    // Pause and resume.
    assert_eq!(http.put("/connectors/src/pause", &Value::Null).await.0, 202);
    http.wait_status("src", "PAUSED", 1, "PAUSED").await;
    assert_eq!(
        http.put("/connectors/src/resume", &Value::Null).await.0,
        202
    );
    http.wait_status("src", "RUNNING", 1, "RUNNING").await;

    // Restarts.
    assert_eq!(http.post_empty("/connectors/src/restart").await.0, 204);
    let (code, plan) = http
        .post_empty("/connectors/src/restart?includeTasks=true")
        .await;
    assert_eq!(code, 202, "{plan}");
    assert_eq!(plan["connector"]["state"], "RESTARTING");
    assert_eq!(plan["tasks"][0]["state"], "RESTARTING");
    http.wait_status("src", "RUNNING", 1, "RUNNING").await;
    let (code, plan) = http
        .post_empty("/connectors/src/restart?includeTasks=true&onlyFailed=true")
        .await;
    assert_eq!(code, 202);
    assert_eq!(
        plan["connector"]["state"], "RUNNING",
        "nothing failed: nothing restarts"
    );
    assert_eq!(
        http.post_empty("/connectors/src/tasks/0/restart").await.0,
        204
    );
    http.wait_status("src", "RUNNING", 1, "RUNNING").await;
    assert_error(
        &http.post_empty("/connectors/src/tasks/7/restart").await,
        404,
        "Task src-7 not found",
    );
    assert_error(
        &http.get("/connectors/src/tasks/7/status").await,
        404,
        "No status found for task src-7",
    );

    // PUT config creating a connector answers 201.
    let (code, info) = http
        .put("/connectors/second/config", &json!({"connector.class": SOURCE, "topic": "second", "file": env.path("none.txt").display().to_string()}))
        .await;
    assert_eq!(code, 201, "{info}");
    assert_eq!(http.get("/connectors").await.1, json!(["second", "src"]));

    // Delete.
    assert_eq!(http.delete("/connectors/second").await.0, 204);
    assert_error(
        &http.get("/connectors/second").await,
        404,
        "Connector second not found",
    );
    assert_error(
        &http.get("/connectors/second/status").await,
        404,
        "No status found for connector second",
    );
    assert_error(
        &http.delete("/connectors/second").await,
        404,
        "Connector second not found",
    );
    assert_error(
        &http.put("/connectors/second/pause", &Value::Null).await,
        404,
        "Unknown connector second",
    );

    // Unknown paths and methods.
    assert_error(&http.get("/nope").await, 404, "HTTP 404 Not Found");
    assert_error(
        &http.delete("/connector-plugins").await,
        405,
        "HTTP 405 Method Not Allowed",
    );

    worker.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validation_refuses_bad_configs_and_creates_nothing() {
    let env = Env::start().await;
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);

    let (code, v) = http
        .put(
            "/connector-plugins/FileStreamSinkConnector/config/validate",
            &json!({"connector.class": "FileStreamSinkConnector", "name": "s", "tasks.max": "zero"}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["name"], "FileStreamSinkConnector");
    assert_eq!(v["error_count"], 3, "{v}");
    assert!(v["groups"].as_array().unwrap().contains(&json!("Common")));
    let config = |name: &str| {
        v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {v}"))
    };
    let tasks_max = config("tasks.max");
    assert_eq!(tasks_max["definition"]["type"], "INT");
    assert_eq!(tasks_max["definition"]["default_value"], "1");
    assert_eq!(tasks_max["definition"]["required"], false);
    assert_eq!(tasks_max["value"]["value"], "zero");
    assert_eq!(
        tasks_max["value"]["errors"],
        json!(["Invalid value zero for configuration tasks.max: Not a number of type INT"])
    );
    assert_eq!(tasks_max["value"]["visible"], true);
    assert_eq!(
        config("topics")["value"]["errors"],
        json!(["Must configure one of topics or topics.regex"])
    );
    let name = config("name");
    assert_eq!(name["definition"]["required"], true);
    assert_eq!(name["value"]["errors"], json!([]));

    // A missing required field and a wrong type: 400 with the details, nothing created.
    let (code, body) = http
        .post(
            "/connectors",
            &json!({"name": "bad", "config": {"connector.class": SOURCE, "batch.size": "lots"}}),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error_code"], 400);
    assert_eq!(
        body["message"],
        "Connector configuration is invalid and contains the following 2 error(s):\n\
         Missing required configuration \"topic\" which has no default value.\n\
         Invalid value lots for configuration batch.size: Not a number of type INT\n\
         You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
    );
    // An unknown class.
    let (code, body) = http
        .post(
            "/connectors",
            &json!({"name": "bad", "config": {"connector.class": "com.example.Missing"}}),
        )
        .await;
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().starts_with(
        "Failed to find any class that implements Connector and which name matches com.example.Missing"
    ), "{body}");
    // No class at all.
    assert_error(
        &http
            .post(
                "/connectors",
                &json!({"name": "bad", "config": {"topic": "x"}}),
            )
            .await,
        400,
        "Connector config {name=bad, topic=x} contains no connector type",
    );
    assert_eq!(http.get("/connectors").await, (200, json!([])));
    assert_error(
        &http.get("/connectors/bad/status").await,
        404,
        "No status found for connector bad",
    );

    // A plugin's definition.
    let (code, defs) = http.get("/connector-plugins/FileStreamSource/config").await;
    assert_eq!(code, 200);
    let names: Vec<&str> = defs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["file", "topic", "batch.size"]);
    assert_error(
        &http.get("/connector-plugins/Nope/config").await,
        404,
        "Unknown plugin Nope.",
    );

    worker.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offsets_need_a_stopped_connector() {
    let env = Env::start().await;
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);
    let input = env.path("in.txt");
    write_lines(&input, 0, 20);
    let output = env.path("out.txt");
    let (code, _) = http
        .post("/connectors", &json!({"name": "src", "config": {"connector.class": SOURCE, "file": input.display().to_string(), "topic": "offsets-t"}}))
        .await;
    assert_eq!(code, 201);
    let (code, _) = http
        .post("/connectors", &json!({"name": "snk", "config": {"connector.class": SINK, "file": output.display().to_string(), "topics": "offsets-t"}}))
        .await;
    assert_eq!(code, 201);
    wait_until("the sink wrote 20 lines", || async {
        read_lines(&output).len() == 20
    })
    .await;
    let end = std::fs::metadata(&input).unwrap().len();
    let partition = json!({"filename": input.display().to_string()});
    wait_until("the source committed its position", || async {
        http.get("/connectors/src/offsets").await.1
            == json!({"offsets": [{"partition": partition, "offset": {"position": end}}]})
    })
    .await;
    wait_until("the sink committed its offset", || async {
        http.get("/connectors/snk/offsets").await.1
            == json!({"offsets": [{"partition": {"kafka_topic": "offsets-t", "kafka_partition": 0}, "offset": {"kafka_offset": 20}}]})
    })
    .await;

    let not_stopped = "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint";
    let alter = json!({"offsets": [{"partition": partition, "offset": {"position": 7}}]});
    assert_error(
        &http.patch("/connectors/src/offsets", &alter).await,
        400,
        not_stopped,
    );
    assert_error(
        &http.delete("/connectors/src/offsets").await,
        400,
        not_stopped,
    );
    assert_error(
        &http
            .patch("/connectors/src/offsets", &json!({"offsets": []}))
            .await,
        400,
        "Partitions / offsets need to be provided for an alter offsets request",
    );

    assert_eq!(http.put("/connectors/src/stop", &Value::Null).await.0, 204);
    http.wait_status("src", "STOPPED", 0, "RUNNING").await;
    assert_eq!(http.get("/connectors/src/tasks").await.1, json!([]));
    let (code, msg) = http.patch("/connectors/src/offsets", &alter).await;
    assert_eq!(code, 200, "{msg}");
    assert_eq!(
        msg,
        json!({"message": "The offsets for this connector have been altered successfully"})
    );
    assert_eq!(
        http.get("/connectors/src/offsets").await.1,
        json!({"offsets": [{"partition": partition, "offset": {"position": 7}}]})
    );
    // Resuming re-reads from position 7: line-1 (bytes 7..) onwards again.
    assert_eq!(
        http.put("/connectors/src/resume", &Value::Null).await.0,
        202
    );
    wait_until("the re-read lines reached the sink", || async {
        read_lines(&output).len() == 39
    })
    .await;
    assert_eq!(read_lines(&output)[20], "line-1");

    assert_eq!(http.put("/connectors/src/stop", &Value::Null).await.0, 204);
    let (code, msg) = http.delete("/connectors/src/offsets").await;
    assert_eq!(code, 200, "{msg}");
    assert_eq!(
        msg,
        json!({"message": "The offsets for this connector have been reset successfully"})
    );
    assert_eq!(
        http.get("/connectors/src/offsets").await.1,
        json!({"offsets": []})
    );

    // Sink offsets: the consumer group's.
    assert_eq!(http.put("/connectors/snk/stop", &Value::Null).await.0, 204);
    http.wait_status("snk", "STOPPED", 0, "RUNNING").await;
    let sink_partition = json!({"kafka_topic": "offsets-t", "kafka_partition": 0});
    let (code, msg) = http
        .patch(
            "/connectors/snk/offsets",
            &json!({"offsets": [{"partition": sink_partition, "offset": {"kafka_offset": 3}}]}),
        )
        .await;
    assert_eq!(code, 200, "{msg}");
    assert_eq!(
        http.get("/connectors/snk/offsets").await.1,
        json!({"offsets": [{"partition": sink_partition, "offset": {"kafka_offset": 3}}]})
    );
    let (code, msg) = http.delete("/connectors/snk/offsets").await;
    assert_eq!(code, 200, "{msg}");
    assert_eq!(
        http.get("/connectors/snk/offsets").await.1,
        json!({"offsets": []})
    );

    worker.shutdown().await.unwrap();
    env.shutdown().await;
}

/// `errors.retry.timeout`: 0 (no retries), a time in ms, or -1 (for ever);
/// below -1 is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_timeout_is_validated() {
    let env = Env::start().await;
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);
    let base = json!({"connector.class": "FileStreamSinkConnector", "name": "s", "topics": "t", "file": "/tmp/x"});
    for (timeout, errors) in [("0", 0), ("30000", 0), ("-1", 0), ("-2", 1)] {
        let mut config = base.clone();
        config["errors.retry.timeout"] = json!(timeout);
        let (code, v) = http
            .put(
                "/connector-plugins/FileStreamSinkConnector/config/validate",
                &config,
            )
            .await;
        assert_eq!(code, 200, "{v}");
        assert_eq!(
            v["error_count"], errors,
            "errors.retry.timeout={timeout}: {v}"
        );
    }
    env.shutdown().await;
}
