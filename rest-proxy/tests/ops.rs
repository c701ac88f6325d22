//! The binary (`strom-rest-proxy kafka-rest.properties`, env overrides,
//! `listening on`, SIGTERM) and `/metrics`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;
use support::{b64, Env, Http, V2_BINARY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_reads_properties_and_env_and_stops_on_sigterm() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("kafka-rest.properties");
    // The file names a broker that does not exist; the Confluent-style env var wins.
    std::fs::write(
        &props,
        "listeners=http://127.0.0.1:0\nbootstrap.servers=127.0.0.1:1\nid=proxy-test\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_strom-rest-proxy"))
        .arg(&props)
        .env("KAFKA_REST_BOOTSTRAP_SERVERS", &env.bootstrap)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn strom-rest-proxy");
    let stdout = child.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines.next().expect("proxy output").expect("line");
            if let Some((_, addr)) = line.split_once("listening on ") {
                return addr.trim().to_string();
            }
        }
    })
    .await
    .unwrap();
    let http = Http::at(&format!("http://{addr}"));
    let (status, _, v) = http.get("/brokers").await;
    assert_eq!((status, v), (200, json!({"brokers": [1]})));

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_and_records() {
    let env = Env::start().await;
    env.create_topic("m", 1).await;
    let h = &env.http;
    let body = json!({"records": [{"value": b64(b"1")}, {"value": b64(b"2")}]});
    assert_eq!(h.post("/topics/m", V2_BINARY, &body).await.0, 200);
    assert_eq!(h.get("/topics/m").await.0, 200);
    assert_eq!(h.get("/topics/gone").await.0, 404);
    assert_eq!(h.get("/no/route").await.0, 404);

    let resp = h.client.get(h.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    for line in [
        r#"strom_rest_proxy_requests_total{endpoint="/topics/{topic}",method="POST",status="200"} 1"#,
        r#"strom_rest_proxy_requests_total{endpoint="/topics/{topic}",method="GET",status="200"} 1"#,
        r#"strom_rest_proxy_requests_total{endpoint="/topics/{topic}",method="GET",status="404"} 1"#,
        r#"strom_rest_proxy_requests_total{endpoint="unmatched",method="GET",status="404"} 1"#,
        r#"strom_rest_proxy_records_produced_total{api="v2"} 2"#,
        r#"strom_rest_proxy_records_produced_total{api="v3"} 0"#,
        "strom_rest_proxy_consumer_instances 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    env.shutdown().await;
}
