//! Shared helpers for the proxy's HTTP tests.
//!
//! * [`Env`]: an in-process `strom-broker` on port 0 (data in a temp dir, group
//!   rebalance delay off) and a proxy on `127.0.0.1:0` against it.
//! * [`Http`]: a reqwest client returning (status, content type, JSON).
//! * [`read_topic`]: an rdkafka consumer that reads what the proxy produced.
//! * [`wait_until`]: poll a condition with a deadline; nothing sleeps blindly.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use strom_broker::{BrokerConfig, RunningBroker};
use strom_rest_proxy::{ProxyConfig, RunningProxy};
use strom_schema_registry::{RegistryConfig, RunningRegistry};
use tempfile::TempDir;

pub const DEADLINE: Duration = Duration::from_secs(60);
pub const V2: &str = "application/vnd.kafka.v2+json";
pub const V2_BINARY: &str = "application/vnd.kafka.binary.v2+json";
pub const V2_JSON: &str = "application/vnd.kafka.json.v2+json";

/// A broker and a proxy for one test.
pub struct Env {
    _dir: TempDir,
    broker: Option<RunningBroker>,
    proxy: Option<RunningProxy>,
    registry: Option<RunningRegistry>,
    pub bootstrap: String,
    pub http: Http,
    /// `http://host:port` of the schema registry, when started.
    pub registry_url: Option<String>,
}

impl Env {
    pub async fn start() -> Env {
        Env::with(&[], &[]).await
    }

    /// `broker_props` and `proxy_props` on top of the test defaults.
    pub async fn with(broker_props: &[(&str, &str)], proxy_props: &[(&str, &str)]) -> Env {
        Env::build(broker_props, proxy_props, false).await
    }

    /// A broker, a strom-schema-registry against it, and a proxy using both.
    pub async fn with_registry(proxy_props: &[(&str, &str)]) -> Env {
        Env::build(&[], proxy_props, true).await
    }

    async fn build(
        broker_props: &[(&str, &str)],
        proxy_props: &[(&str, &str)],
        with_registry: bool,
    ) -> Env {
        let dir = tempfile::Builder::new()
            .prefix("strom-rest-test-")
            .tempdir()
            .expect("temp dir");
        let mut config = BrokerConfig::local(dir.path(), 0);
        config
            .props
            .insert("group.initial.rebalance.delay.ms".into(), "0".into());
        for (k, v) in broker_props {
            config.props.insert(k.to_string(), v.to_string());
        }
        let broker = strom_broker::start(config).await.expect("broker starts");
        let bootstrap = broker.bootstrap_servers();
        let registry = if with_registry {
            let mut rp = BTreeMap::new();
            for (k, v) in [
                ("listeners", "http://127.0.0.1:0"),
                ("kafkastore.bootstrap.servers", bootstrap.as_str()),
                ("kafkastore.timeout.ms", "20000"),
                ("kafkastore.init.timeout.ms", "30000"),
                ("kafkastore.topic.replication.factor", "1"),
            ] {
                rp.insert(k.to_string(), v.to_string());
            }
            let config = RegistryConfig::from_properties(rp).expect("registry config");
            Some(
                strom_schema_registry::start(config)
                    .await
                    .expect("registry starts"),
            )
        } else {
            None
        };
        let registry_url = registry
            .as_ref()
            .map(|r| format!("http://{}", r.local_addr()));
        let mut props = BTreeMap::new();
        props.insert("listeners".to_string(), "http://127.0.0.1:0".to_string());
        props.insert("bootstrap.servers".to_string(), bootstrap.clone());
        if let Some(url) = &registry_url {
            props.insert("schema.registry.url".to_string(), url.clone());
        }
        for (k, v) in proxy_props {
            props.insert(k.to_string(), v.to_string());
        }
        let proxy = strom_rest_proxy::start(
            ProxyConfig::from_properties(props).expect("valid proxy config"),
        )
        .await
        .expect("proxy starts");
        let http = Http::at(&proxy.url());
        Env {
            _dir: dir,
            broker: Some(broker),
            proxy: Some(proxy),
            registry,
            bootstrap,
            http,
            registry_url,
        }
    }

    pub fn proxy_url(&self) -> String {
        self.http.base.clone()
    }

    /// The cluster id, as `GET /v3/clusters` gives it.
    pub async fn cluster_id(&self) -> String {
        let (status, _, v) = self.http.get("/v3/clusters").await;
        assert_eq!(status, 200, "{v}");
        v["data"][0]["cluster_id"]
            .as_str()
            .expect("cluster id")
            .to_string()
    }

    /// Create a topic through v3 (asserting success).
    pub async fn create_topic(&self, name: &str, partitions: i32) {
        let cluster = self.cluster_id().await;
        let (status, _, v) = self
            .http
            .post_json(
                &format!("/v3/clusters/{cluster}/topics"),
                &serde_json::json!({"topic_name": name, "partitions_count": partitions}),
            )
            .await;
        assert_eq!(status, 201, "create {name}: {v}");
    }

    pub async fn shutdown(mut self) {
        if let Some(p) = self.proxy.take() {
            p.shutdown().await.expect("proxy stops");
        }
        if let Some(r) = self.registry.take() {
            r.shutdown().await.expect("registry stops");
        }
        if let Some(b) = self.broker.take() {
            b.shutdown().await.expect("broker stops");
        }
    }
}

/// A JSON-over-HTTP client of one proxy.
#[derive(Clone)]
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

/// (status, content type, body as JSON or as a string)
pub type Answer = (u16, String, Value);

impl Http {
    pub fn at(base: &str) -> Http {
        Http {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .timeout(DEADLINE)
                .build()
                .expect("client"),
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default();
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, ct, value)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn get_accept(&self, path: &str, accept: &str) -> Answer {
        self.send(self.client.get(self.url(path)).header("accept", accept))
            .await
    }

    pub async fn post(&self, path: &str, content_type: &str, body: &Value) -> Answer {
        self.send(
            self.client
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body.to_string()),
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.send(
            self.client
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.post(path, "application/json", body).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Answer {
        self.send(
            self.client
                .put(self.url(path))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.client.delete(self.url(path))).await
    }
}

/// Assert an error answer: HTTP status and Confluent error code.
#[track_caller]
pub fn assert_error(got: &Answer, status: u16, code: i64) {
    assert_eq!(got.0, status, "status of {}", got.2);
    assert_eq!(
        got.2["error_code"].as_i64(),
        Some(code),
        "error_code of {}",
        got.2
    );
    assert!(got.2["message"].is_string(), "message in {}", got.2);
}

/// A record as an rdkafka consumer read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
}

/// Read exactly `count` records from all `partitions` of `topic` from the
/// beginning (then check nothing more arrives within a short grace period).
pub async fn read_topic(bootstrap: &str, topic: &str, partitions: i32, count: usize) -> Vec<Read> {
    let bootstrap = bootstrap.to_string();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "strom-rest-test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(&topic, p, Offset::Beginning)
                .expect("tpl");
        }
        consumer.assign(&tpl).expect("assign");
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + DEADLINE;
        let mut grace_until = None;
        loop {
            if out.len() >= count && grace_until.is_none() {
                grace_until = Some(std::time::Instant::now() + Duration::from_millis(300));
            }
            if let Some(g) = grace_until {
                if std::time::Instant::now() >= g {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "read {} of {count} records of {topic}",
                out.len()
            );
            match consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Err(e)) => panic!("consume {topic}: {e}"),
                Some(Ok(m)) => {
                    let headers = m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                                .collect()
                        })
                        .unwrap_or_default();
                    out.push(Read {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                        headers,
                        timestamp: m.timestamp().to_millis(),
                    });
                }
            }
        }
        assert_eq!(out.len(), count, "records of {topic}");
        out
    })
    .await
    .expect("reader task")
}

/// Produce records with rdkafka (for the consumer tests).
pub async fn produce(bootstrap: &str, topic: &str, records: &[(Option<i32>, Option<&str>, &str)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", "murmur2_random")
        .create()
        .expect("producer");
    for (partition, key, value) in records {
        let mut r: FutureRecord<'_, str, str> = FutureRecord::to(topic).payload(value);
        if let Some(k) = key {
            r = r.key(k);
        }
        if let Some(p) = partition {
            r = r.partition(*p);
        }
        producer.send(r, DEADLINE).await.expect("record delivered");
    }
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

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
