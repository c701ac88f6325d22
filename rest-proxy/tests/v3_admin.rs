//! API v3 administration: clusters, brokers and their configs, topics,
//! topic configs and partitions; cross-checked with rdkafka's AdminClient.

mod support;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use serde_json::{json, Value};
use support::{assert_error, Env};

fn find<'a>(list: &'a Value, field: &str, name: &str) -> &'a Value {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|c| c[field] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_clusters_and_brokers() {
    let env = Env::with(&[("num.partitions", "2")], &[]).await;
    let h = &env.http;
    let base = env.proxy_url();

    let (status, ct, v) = h.get("/v3/clusters").await;
    assert_eq!((status, ct.as_str()), (200, "application/json"), "{v}");
    assert_eq!(v["kind"], "KafkaClusterList");
    assert_eq!(v["metadata"]["self"], format!("{base}/v3/clusters"));
    let cluster = v["data"][0].clone();
    let id = cluster["cluster_id"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    let cbase = format!("{base}/v3/clusters/{id}");
    assert_eq!(cluster["kind"], "KafkaCluster");
    assert_eq!(cluster["metadata"]["self"], cbase);
    assert_eq!(
        cluster["metadata"]["resource_name"],
        format!("crn:///kafka={id}")
    );
    assert_eq!(
        cluster["controller"]["related"],
        format!("{cbase}/brokers/1")
    );
    assert_eq!(cluster["topics"]["related"], format!("{cbase}/topics"));
    assert_eq!(cluster["brokers"]["related"], format!("{cbase}/brokers"));

    let (status, _, v) = h.get(&format!("/v3/clusters/{id}")).await;
    assert_eq!((status, &v), (200, &cluster));
    assert_error(&h.get("/v3/clusters/not-this-one").await, 404, 404);
    let err = h.get("/v3/clusters/not-this-one/topics").await;
    assert_error(&err, 404, 404);
    assert_eq!(err.1, "application/json");

    let (status, _, v) = h.get(&format!("/v3/clusters/{id}/brokers")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["kind"], "KafkaBrokerList");
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let broker = &v["data"][0];
    let port: i64 = env.bootstrap.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(broker["kind"], "KafkaBroker");
    assert_eq!(broker["broker_id"], 1);
    assert_eq!(broker["port"], port);
    assert_eq!(
        broker["metadata"]["resource_name"],
        format!("crn:///kafka={id}/broker=1")
    );
    assert_eq!(
        broker["configs"]["related"],
        format!("{cbase}/brokers/1/configs")
    );
    let (status, _, v) = h.get(&format!("/v3/clusters/{id}/brokers/1")).await;
    assert_eq!((status, &v), (200, broker));
    assert_error(
        &h.get(&format!("/v3/clusters/{id}/brokers/7")).await,
        404,
        404,
    );

    let (status, _, v) = h.get(&format!("/v3/clusters/{id}/brokers/1/configs")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["kind"], "KafkaBrokerConfigList");
    let np = find(&v, "name", "num.partitions");
    assert_eq!(np["kind"], "KafkaBrokerConfig");
    assert_eq!(np["value"], "2");
    assert_eq!(np["is_default"], false);
    assert_eq!(np["source"], "STATIC_BROKER_CONFIG");
    let (status, _, one) = h
        .get(&format!(
            "/v3/clusters/{id}/brokers/1/configs/num.partitions"
        ))
        .await;
    assert_eq!((status, &one), (200, np));
    assert_eq!(
        one["metadata"]["self"],
        format!("{cbase}/brokers/1/configs/num.partitions")
    );
    assert_error(
        &h.get(&format!(
            "/v3/clusters/{id}/brokers/1/configs/no.such.config"
        ))
        .await,
        404,
        404,
    );
    // Broker config updates are not built: not routed.
    assert_error(
        &h.put_json(
            &format!("/v3/clusters/{id}/brokers/1/configs/num.partitions"),
            &json!({"value": "3"}),
        )
        .await,
        405,
        405,
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_topics_configs_and_partitions() {
    let env = Env::start().await;
    let h = &env.http;
    let id = env.cluster_id().await;
    let base = env.proxy_url();
    let topics = format!("/v3/clusters/{id}/topics");

    let create = json!({
        "topic_name": "orders",
        "partitions_count": 3,
        "replication_factor": 1,
        "configs": [{"name": "cleanup.policy", "value": "compact"}],
    });
    let (status, ct, t) = h.post_json(&topics, &create).await;
    assert_eq!((status, ct.as_str()), (201, "application/json"), "{t}");
    assert_eq!(t["kind"], "KafkaTopic");
    assert_eq!(t["topic_name"], "orders");
    assert_eq!(t["cluster_id"], id.as_str());
    assert_eq!(t["partitions_count"], 3);
    assert_eq!(t["replication_factor"], 1);
    assert_eq!(t["is_internal"], false);
    assert_eq!(t["metadata"]["self"], format!("{base}{topics}/orders"));
    assert_eq!(
        t["metadata"]["resource_name"],
        format!("crn:///kafka={id}/topic=orders")
    );
    assert_eq!(
        t["partitions"]["related"],
        format!("{base}{topics}/orders/partitions")
    );
    assert_eq!(
        t["configs"]["related"],
        format!("{base}{topics}/orders/configs")
    );

    assert_error(&h.post_json(&topics, &create).await, 400, 40002);
    assert_error(
        &h.post_json(&topics, &json!({"partitions_count": 1})).await,
        400,
        400,
    );
    assert_error(
        &h.post_json(
            &topics,
            &json!({"topic_name": "badcfg", "configs": [{"name": "retention.ms", "value": "soon"}]}),
        )
        .await,
        400,
        40002,
    );
    // validate_only: answered, not created.
    let (status, _, v) = h
        .post_json(
            &topics,
            &json!({"topic_name": "dry", "partitions_count": 2, "validate_only": true}),
        )
        .await;
    assert_eq!(
        (status, v["partitions_count"].clone()),
        (201, json!(2)),
        "{v}"
    );
    assert_error(&h.get(&format!("{topics}/dry")).await, 404, 40403);
    // Broker defaults when counts are left out.
    let (status, _, v) = h.post_json(&topics, &json!({"topic_name": "plain"})).await;
    assert_eq!(
        (status, v["partitions_count"].clone()),
        (201, json!(1)),
        "{v}"
    );

    let (status, _, v) = h.get(&topics).await;
    assert_eq!(status, 200);
    assert_eq!(v["kind"], "KafkaTopicList");
    assert_eq!(v["metadata"]["self"], format!("{base}{topics}"));
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["topic_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["orders", "plain"]);
    let (status, _, v) = h.get(&format!("{topics}/orders")).await;
    assert_eq!((status, &v), (200, &t));
    assert_error(&h.get(&format!("{topics}/nope")).await, 404, 40403);

    // Configs: values, sources, synonyms.
    let configs = format!("{topics}/orders/configs");
    let (status, _, v) = h.get(&configs).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["kind"], "KafkaTopicConfigList");
    let cp = find(&v, "name", "cleanup.policy");
    assert_eq!(cp["kind"], "KafkaTopicConfig");
    assert_eq!(cp["value"], "compact");
    assert_eq!(cp["is_default"], false);
    assert_eq!(cp["source"], "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(
        cp["synonyms"][0],
        json!({"name": "cleanup.policy", "value": "compact", "source": "DYNAMIC_TOPIC_CONFIG"})
    );
    assert_eq!(
        cp["metadata"]["resource_name"],
        format!("crn:///kafka={id}/topic=orders/config=cleanup.policy")
    );
    let rm = find(&v, "name", "retention.ms");
    assert_eq!(
        (
            rm["value"].clone(),
            rm["is_default"].clone(),
            rm["source"].clone()
        ),
        (json!("604800000"), json!(true), json!("DEFAULT_CONFIG"))
    );

    // Update, read back here and through rdkafka's AdminClient.
    let (status, _, v) = h
        .put_json(
            &format!("{configs}/retention.ms"),
            &json!({"value": "12345"}),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    let (_, _, v) = h.get(&format!("{configs}/retention.ms")).await;
    assert_eq!(
        (v["value"].clone(), v["source"].clone()),
        (json!("12345"), json!("DYNAMIC_TOPIC_CONFIG"))
    );
    assert_eq!(
        rdkafka_config(&env.bootstrap, "orders", "retention.ms")
            .await
            .as_deref(),
        Some("12345")
    );
    assert_error(
        &h.put_json(&format!("{configs}/retention.ms"), &json!({"value": "abc"}))
            .await,
        400,
        40002,
    );
    assert_error(
        &h.put_json(&format!("{configs}/retention.ms"), &json!({}))
            .await,
        400,
        400,
    );

    // Reset.
    let (status, _, _) = h.delete(&format!("{configs}/retention.ms")).await;
    assert_eq!(status, 204);
    let (_, _, v) = h.get(&format!("{configs}/retention.ms")).await;
    assert_eq!(
        (v["value"].clone(), v["is_default"].clone()),
        (json!("604800000"), json!(true))
    );

    // The batch: set one, delete another, atomically.
    let (status, _, v) = h
        .post_json(
            &format!("{topics}/orders/configs:alter"),
            &json!({"data": [
                {"name": "retention.ms", "value": "999"},
                {"name": "cleanup.policy", "operation": "DELETE"},
            ]}),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    assert_eq!(
        h.get(&format!("{configs}/retention.ms")).await.2["value"],
        "999"
    );
    assert_eq!(
        h.get(&format!("{configs}/cleanup.policy")).await.2["value"],
        "delete"
    );
    assert_eq!(
        rdkafka_config(&env.bootstrap, "orders", "cleanup.policy")
            .await
            .as_deref(),
        Some("delete")
    );
    assert_error(&h.get(&format!("{configs}/no.such")).await, 404, 404);
    assert_error(&h.get(&format!("{topics}/nope/configs")).await, 404, 40403);
    assert_error(
        &h.put_json(
            &format!("{topics}/nope/configs/retention.ms"),
            &json!({"value": "1"}),
        )
        .await,
        404,
        40403,
    );

    // Partitions and replicas.
    let parts = format!("{topics}/orders/partitions");
    let (status, _, v) = h.get(&parts).await;
    assert_eq!(status, 200);
    assert_eq!(v["kind"], "KafkaPartitionList");
    let ids: Vec<i64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partition_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![0, 1, 2]);
    let (status, _, p) = h.get(&format!("{parts}/1")).await;
    assert_eq!(status, 200);
    assert_eq!(p["kind"], "KafkaPartition");
    assert_eq!(p["topic_name"], "orders");
    assert_eq!(
        p["leader"]["related"],
        format!("{base}{parts}/1/replicas/1")
    );
    assert_eq!(
        p["metadata"]["resource_name"],
        format!("crn:///kafka={id}/topic=orders/partition=1")
    );
    assert_error(&h.get(&format!("{parts}/3")).await, 404, 40403);
    let (status, _, v) = h.get(&format!("{parts}/1/replicas")).await;
    assert_eq!(status, 200);
    assert_eq!(v["kind"], "KafkaReplicaList");
    let r = &v["data"][0];
    assert_eq!(
        (
            r["broker_id"].clone(),
            r["is_leader"].clone(),
            r["is_in_sync"].clone()
        ),
        (json!(1), json!(true), json!(true))
    );
    assert_eq!(h.get(&format!("{parts}/1/replicas/1")).await.2, *r);
    assert_error(&h.get(&format!("{parts}/1/replicas/2")).await, 404, 404);

    // Delete.
    let (status, _, _) = h.delete(&format!("{topics}/orders")).await;
    assert_eq!(status, 204);
    support::wait_until("orders gone", || async {
        h.get(&format!("{topics}/orders")).await.0 == 404
    })
    .await;
    assert_error(&h.get(&format!("{topics}/orders")).await, 404, 40403);
    assert_error(&h.delete(&format!("{topics}/orders")).await, 404, 40403);
    env.shutdown().await;
}

async fn rdkafka_config(bootstrap: &str, topic: &str, name: &str) -> Option<String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin");
    let res = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("describe");
    let res = res.into_iter().next().unwrap().expect("config resource");
    res.get(name).and_then(|e| e.value.clone())
}
