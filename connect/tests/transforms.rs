//! Transformations and predicates in running connectors, against a real
//! broker: a FileStream source with a HoistField + InsertField + RegexRouter
//! chain read back with rdkafka; a sink dropping records with Filter and
//! predicates; the plugin list and config validation over REST.

mod support;

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use support::{read_lines, wait_until, Env, Http};

fn producer(env: &Env) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", &env.bootstrap)
        .create()
        .expect("producer")
}

/// Produce one record (value `None` is a tombstone) with optional headers.
async fn produce(p: &FutureProducer, topic: &str, value: Option<&str>, headers: &[(&str, &str)]) {
    let mut hs = OwnedHeaders::new();
    for (k, v) in headers {
        hs = hs.insert(Header {
            key: k,
            value: Some(v.as_bytes()),
        });
    }
    let mut r: FutureRecord<'_, str, str> = FutureRecord::to(topic).headers(hs).key("k");
    if let Some(v) = value {
        r = r.payload(v);
    }
    p.send(r, Duration::from_secs(30))
        .await
        .expect("record produced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn source_chain_reroutes_and_enriches() {
    let env = Env::start().await;
    env.create_topic("lines-raw", 1).await;
    env.create_topic("lines-clean", 1).await;
    let input = env.path("in.txt");
    std::fs::write(&input, "alpha\nbeta\ngamma\n").unwrap();
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);
    let config = json!({
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": "lines-raw",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        "transforms": "hoist,insert,route",
        "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoist.field": "line",
        "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.insert.static.field": "origin",
        "transforms.insert.static.value": "file-source",
        "transforms.insert.topic.field": "source_topic",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "(.*)-raw",
        "transforms.route.replacement": "$1-clean",
    });
    let (code, body) = http
        .post("/connectors", &json!({"name": "chain", "config": config}))
        .await;
    assert_eq!(code, 201, "{body}");
    http.wait_status("chain", "RUNNING", 1, "RUNNING").await;

    let values = env.read_topic("lines-clean", 3).await;
    let parsed: Vec<Value> = values
        .iter()
        .map(|v| serde_json::from_str(v).expect("JSON envelope"))
        .collect();
    let lines: Vec<&str> = parsed
        .iter()
        .map(|v| v["payload"]["line"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["alpha", "beta", "gamma"]);
    for v in &parsed {
        assert_eq!(v["payload"]["origin"], "file-source", "{v}");
        assert_eq!(v["payload"]["source_topic"], "lines-raw", "{v}");
        let fields: Vec<(&str, &str, bool)> = v["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["field"].as_str().unwrap(),
                    f["type"].as_str().unwrap(),
                    f["optional"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            fields,
            [
                ("line", "string", false),
                ("source_topic", "string", true),
                ("origin", "string", true)
            ],
            "{v}"
        );
    }
    assert_eq!(
        env.topic_end("lines-raw").await,
        0,
        "nothing in the original topic"
    );
    let (_, topics) = http.get("/connectors/chain/topics").await;
    assert_eq!(topics["chain"]["topics"], json!(["lines-clean"]));
    worker.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sink_filters_with_predicates() {
    let env = Env::start().await;
    env.create_topic("keep-a", 1).await;
    env.create_topic("drop-b", 1).await;
    let output = env.path("out.txt");
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);
    let config = json!({
        "connector.class": "FileStreamSink",
        "file": output.display().to_string(),
        "topics": "keep-a,drop-b",
        "transforms": "dropTopic,dropSkipped,dropTombstones,keepOnlyA,hoist,insert",
        "transforms.dropTopic.type": "Filter",
        "transforms.dropTopic.predicate": "isDropTopic",
        "transforms.dropSkipped.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.dropSkipped.predicate": "hasSkip",
        "transforms.dropTombstones.type": "Filter",
        "transforms.dropTombstones.predicate": "isTombstone",
        // Never applies: negated, and every remaining topic matches.
        "transforms.keepOnlyA.type": "Filter",
        "transforms.keepOnlyA.predicate": "isKeepTopic",
        "transforms.keepOnlyA.negate": "true",
        // StringConverter gives an optional STRING schema: hoisting makes a Struct.
        "transforms.hoist.type": "HoistField$Value",
        "transforms.hoist.field": "line",
        "transforms.insert.type": "InsertField$Value",
        "transforms.insert.offset.field": "offset",
        "transforms.insert.partition.field": "partition",
        "predicates": "isDropTopic,hasSkip,isTombstone,isKeepTopic",
        "predicates.isDropTopic.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.isDropTopic.pattern": "drop-.*",
        "predicates.hasSkip.type": "HasHeaderKey",
        "predicates.hasSkip.name": "skip",
        "predicates.isTombstone.type": "RecordIsTombstone",
        "predicates.isKeepTopic.type": "TopicNameMatches",
        "predicates.isKeepTopic.pattern": "keep-.*",
    });
    let (code, body) = http
        .post(
            "/connectors",
            &json!({"name": "filtering", "config": config}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    http.wait_status("filtering", "RUNNING", 1, "RUNNING").await;

    let p = producer(&env);
    produce(&p, "keep-a", Some("a1"), &[]).await;
    produce(&p, "keep-a", Some("a2"), &[("skip", "yes")]).await;
    produce(&p, "keep-a", None, &[]).await;
    produce(&p, "drop-b", Some("b1"), &[]).await;
    produce(&p, "keep-a", Some("a3"), &[("other", "x")]).await;
    produce(&p, "drop-b", Some("b2"), &[]).await;
    produce(&p, "keep-a", Some("last"), &[]).await;

    wait_until("the last record in the file", || {
        let output = output.clone();
        async move { read_lines(&output).iter().any(|l| l.contains("last")) }
    })
    .await;
    assert_eq!(
        read_lines(&output),
        [
            "Struct{line=a1,partition=0,offset=0}",
            "Struct{line=a3,partition=0,offset=3}",
            "Struct{line=last,partition=0,offset=4}"
        ]
    );
    worker.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plugins_and_validation() {
    let env = Env::start().await;
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);

    let (code, plugins) = http.get("/connector-plugins?connectorsOnly=false").await;
    assert_eq!(code, 200);
    let of_type = |t: &str| -> Vec<String> {
        plugins
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] == t)
            .map(|p| p["class"].as_str().unwrap().to_string())
            .collect()
    };
    let transformations = of_type("transformation");
    assert_eq!(transformations.len(), 24, "{transformations:?}");
    for c in [
        "org.apache.kafka.connect.transforms.Cast$Key",
        "org.apache.kafka.connect.transforms.HeaderFrom$Value",
        "org.apache.kafka.connect.transforms.TimestampRouter",
        "org.apache.kafka.connect.transforms.ValueToKey",
    ] {
        assert!(transformations.contains(&c.to_string()), "{c}");
    }
    assert_eq!(
        of_type("predicate"),
        [
            "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
            "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
        ]
    );

    let (code, def) = http
        .get("/connector-plugins/org.apache.kafka.connect.transforms.TimestampConverter$Value/config")
        .await;
    assert_eq!(code, 200, "{def}");
    let names: Vec<&str> = def
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "field",
            "target.type",
            "format",
            "unix.precision",
            "replace.null.with.default",
            "field.syntax.version"
        ]
    );

    let config = json!({
        "connector.class": "FileStreamSink",
        "name": "v",
        "topics": "t",
        "transforms": "extract,mask",
        "transforms.extract.type": "ExtractField$Value",
        "transforms.mask.type": "MaskField$Value",
        "transforms.mask.fields": "",
        "transforms.mask.predicate": "missing",
    });
    let (code, res) = http
        .put("/connector-plugins/FileStreamSink/config/validate", &config)
        .await;
    assert_eq!(code, 200, "{res}");
    let errors: Vec<String> = res["configs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["value"]["errors"].as_array().cloned().unwrap_or_default())
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "Missing required configuration \"transforms.extract.field\" which has no default value.",
            "Invalid value missing for configuration transforms.mask.predicate: Predicate missing not found in the predicates list",
            "Invalid value  for configuration transforms.mask.fields: Empty list",
        ],
        "{res}"
    );
    assert_eq!(res["error_count"], 3);
    assert!(res["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("Transforms: extract")));

    let (code, body) = http
        .post("/connectors", &json!({"name": "v", "config": config}))
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Connector configuration is invalid and contains the following 3 error(s):"));
    worker.shutdown().await.unwrap();
    env.shutdown().await;
}
