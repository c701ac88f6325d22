//! Shared helpers for the registry's HTTP API tests.
//!
//! * [`Env`]: an in-process `strom-broker` on port 0 (data in a temp dir),
//!   with the group rebalance delay off so elections are immediate.
//! * [`Env::registry`]: a registry on `127.0.0.1:0` against it.
//! * [`Http`]: a reqwest client that returns (status, JSON) for a path.
//! * [`wait_until`]: poll a condition with a deadline; nothing sleeps blindly.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use strom_broker::{BrokerConfig, RunningBroker};
use strom_schema_registry::{RegistryConfig, RunningRegistry};
use tempfile::TempDir;

pub const DEADLINE: Duration = Duration::from_secs(30);

pub const CT: &str = "application/vnd.schemaregistry.v1+json";

/// A broker for one test.
pub struct Env {
    _dir: TempDir,
    broker: Option<RunningBroker>,
    pub bootstrap: String,
}

impl Env {
    pub async fn start() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("strom-sr-test-")
            .tempdir()
            .expect("temp dir");
        let mut config = BrokerConfig::local(dir.path(), 0);
        config
            .props
            .insert("group.initial.rebalance.delay.ms".into(), "0".into());
        let broker = strom_broker::start(config).await.expect("broker starts");
        let bootstrap = broker.bootstrap_servers();
        Env {
            _dir: dir,
            broker: Some(broker),
            bootstrap,
        }
    }

    /// The registry config these tests use: loopback port 0, generous store timeout.
    pub fn config(&self, extra: &[(&str, &str)]) -> RegistryConfig {
        let mut props = std::collections::BTreeMap::new();
        props.insert("listeners".to_string(), "http://127.0.0.1:0".to_string());
        props.insert(
            "kafkastore.bootstrap.servers".to_string(),
            self.bootstrap.clone(),
        );
        props.insert("kafkastore.timeout.ms".to_string(), "20000".to_string());
        props.insert(
            "kafkastore.init.timeout.ms".to_string(),
            "30000".to_string(),
        );
        props.insert(
            "kafkastore.topic.replication.factor".to_string(),
            "1".to_string(),
        );
        for (k, v) in extra {
            props.insert(k.to_string(), v.to_string());
        }
        RegistryConfig::from_properties(props).expect("valid registry config")
    }

    pub async fn registry(&self, extra: &[(&str, &str)]) -> RunningRegistry {
        strom_schema_registry::start(self.config(extra))
            .await
            .expect("registry starts")
    }

    pub async fn shutdown(mut self) {
        if let Some(b) = self.broker.take() {
            b.shutdown().await.expect("broker stops");
        }
    }
}

/// A JSON-over-HTTP client of one registry.
#[derive(Clone)]
pub struct Http {
    pub base: String,
    client: reqwest::Client,
}

impl Http {
    pub fn new(r: &RunningRegistry) -> Http {
        Http::at(&format!("http://{}", r.local_addr()))
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
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default();
        let text = resp.text().await.expect("body");
        if status < 300 {
            assert_eq!(ct, CT, "content type of a success answer");
        }
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request sent");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", CT)
                .body(body.to_string()),
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
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

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)))
            .await
    }

    /// Register and return the id (asserting success).
    pub async fn register(&self, subject: &str, body: Value) -> i64 {
        let (status, v) = self
            .post(&format!("/subjects/{subject}/versions"), &body)
            .await;
        assert_eq!(status, 200, "register {subject}: {v}");
        v["id"].as_i64().expect("id")
    }
}

/// An Avro record schema with the given fields (`[{"name":..,"type":..}]`).
pub fn avro_record(name: &str, fields: Value) -> Value {
    serde_json::json!({
        "schema": serde_json::json!({"type": "record", "name": name, "fields": fields}).to_string()
    })
}

/// Assert an error answer: HTTP status and Confluent error code.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, code: i64) {
    assert_eq!(got.0, status, "status of {}", got.1);
    assert_eq!(
        got.1["error_code"].as_i64(),
        Some(code),
        "error_code of {}",
        got.1
    );
    assert!(got.1["message"].is_string(), "message in {}", got.1);
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
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
