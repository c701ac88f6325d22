//! `/subjects` and `/schemas` over HTTP against a registry on a real broker.

mod support;

use serde_json::json;
use support::{assert_error, avro_record, Env, Http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_get_lookup_and_ids() {
    let env = Env::start().await;
    let reg = env.registry(&[]).await;
    let http = Http::new(&reg);

    assert_eq!(http.get("/").await, (200, json!({})));
    assert_eq!(http.get("/subjects").await, (200, json!([])));
    let (status, types) = http.get("/schemas/types").await;
    assert_eq!(status, 200);
    let mut types: Vec<String> = serde_json::from_value(types).unwrap();
    types.sort();
    assert_eq!(types, vec!["AVRO", "JSON", "PROTOBUF"]);

    let v1 = avro_record("User", json!([{"name": "name", "type": "string"}]));
    let id1 = http.register("users-value", v1.clone()).await;
    assert_eq!(id1, 1);
    // Re-registering: same id, no new version.
    assert_eq!(http.register("users-value", v1.clone()).await, 1);
    assert_eq!(
        http.get("/subjects/users-value/versions").await,
        (200, json!([1]))
    );
    // The same schema under another subject: same id, version 1 there.
    assert_eq!(http.register("other-value", v1.clone()).await, 1);
    // A compatible evolution: new id, version 2.
    let v2 = avro_record(
        "User",
        json!([{"name": "name", "type": "string"}, {"name": "age", "type": "int", "default": 0}]),
    );
    assert_eq!(http.register("users-value", v2.clone()).await, 2);

    let (status, got) = http.get("/subjects/users-value/versions/1").await;
    assert_eq!(status, 200);
    assert_eq!(got["subject"], "users-value");
    assert_eq!(got["version"], 1);
    assert_eq!(got["id"], 1);
    assert!(
        got.get("schemaType").is_none(),
        "AVRO has no schemaType: {got}"
    );
    assert_eq!(
        got["schema"],
        r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#
    );
    for latest in ["latest", "-1"] {
        let (status, got) = http
            .get(&format!("/subjects/users-value/versions/{latest}"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(got["version"], 2);
        assert_eq!(got["id"], 2);
    }
    let (status, raw) = http
        .get_text("/subjects/users-value/versions/2/schema")
        .await;
    assert_eq!(status, 200);
    let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw["name"], "User");

    let mut subjects = http.get("/subjects").await.1;
    subjects
        .as_array_mut()
        .unwrap()
        .sort_by_key(|v| v.to_string());
    assert_eq!(subjects, json!(["other-value", "users-value"]));
    assert_eq!(
        http.get("/subjects?subjectPrefix=users").await,
        (200, json!(["users-value"]))
    );

    // By id.
    let (status, s) = http.get("/schemas/ids/2").await;
    assert_eq!(status, 200);
    assert!(s["schema"].as_str().unwrap().contains("age"));
    let (status, raw) = http.get_text("/schemas/ids/1/schema").await;
    assert_eq!(status, 200);
    assert!(raw.contains("User"));
    let mut subs = http.get("/schemas/ids/1/subjects").await.1;
    subs.as_array_mut().unwrap().sort_by_key(|v| v.to_string());
    assert_eq!(subs, json!(["other-value", "users-value"]));
    let (status, versions) = http.get("/schemas/ids/2/versions").await;
    assert_eq!(status, 200);
    assert_eq!(versions, json!([{"subject": "users-value", "version": 2}]));
    assert_error(&http.get("/schemas/ids/99").await, 404, 40403);
    assert_eq!(http.get("/schemas/ids/abc").await.0, 404);
    let (status, all) = http.get("/schemas?latestOnly=true").await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 2);

    // Lookup: found (whitespace differences do not matter), not found, unknown subject.
    let pretty = json!({"schema": "{ \"type\" : \"record\", \"name\" : \"User\", \"fields\" : [ {\"name\":\"name\",\"type\":\"string\"} ] }"});
    let (status, found) = http.post("/subjects/users-value", &pretty).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["version"], 1);
    assert_eq!(found["id"], 1);
    let other = avro_record("Nope", json!([{"name": "x", "type": "int"}]));
    assert_error(
        &http.post("/subjects/users-value", &other).await,
        404,
        40403,
    );
    assert_error(&http.post("/subjects/missing", &v1).await, 404, 40401);

    // Errors on reads.
    assert_error(&http.get("/subjects/missing/versions").await, 404, 40401);
    assert_error(&http.get("/subjects/missing/versions/1").await, 404, 40401);
    assert_error(
        &http.get("/subjects/users-value/versions/7").await,
        404,
        40402,
    );
    for bad in ["0", "-2", "abc", "99999999999"] {
        assert_error(
            &http
                .get(&format!("/subjects/users-value/versions/{bad}"))
                .await,
            422,
            42202,
        );
    }
    assert_error(&http.get("/no/such/path").await, 404, 404);
    assert_error(&http.put("/subjects", &json!({})).await, 405, 405);

    reg.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_writes_nothing() {
    let env = Env::start().await;
    let reg = env.registry(&[]).await;
    let http = Http::new(&reg);

    // Not a schema.
    assert_error(
        &http
            .post(
                "/subjects/s/versions",
                &json!({"schema": "{\"type\":\"recrod\"}"}),
            )
            .await,
        422,
        42201,
    );
    assert_error(
        &http.post("/subjects/s/versions", &json!({})).await,
        422,
        42201,
    );
    assert_error(
        &http
            .post(
                "/subjects/s/versions",
                &json!({"schema": "\"string\"", "schemaType": "XML"}),
            )
            .await,
        422,
        42201,
    );
    // A reference to nothing.
    assert_error(
        &http
            .post(
                "/subjects/s/versions",
                &json!({"schema": "\"string\"", "references": [{"name": "x", "subject": "nope", "version": 1}]}),
            )
            .await,
        422,
        42201,
    );
    // Not JSON at all / JSON of the wrong shape.
    assert_error(
        &http
            .post_raw(
                "/subjects/s/versions",
                "application/json",
                b"{nope".to_vec(),
            )
            .await,
        400,
        400,
    );
    assert_error(
        &http
            .post_raw(
                "/subjects/s/versions",
                "application/json",
                b"[1,2]".to_vec(),
            )
            .await,
        400,
        400,
    );
    // Far too large.
    let huge = vec![b' '; 17 * 1024 * 1024];
    assert_error(
        &http
            .post_raw("/subjects/s/versions", "application/json", huge)
            .await,
        413,
        413,
    );
    // Content types: all of Confluent's are accepted.
    for ct in [
        "application/vnd.schemaregistry.v1+json",
        "application/vnd.schemaregistry+json",
        "application/json",
        "application/octet-stream",
    ] {
        let (status, v) = http
            .post_raw(
                "/subjects/ct/versions",
                ct,
                br#"{"schema":"\"string\""}"#.to_vec(),
            )
            .await;
        assert_eq!(status, 200, "{ct}: {v}");
    }
    assert_eq!(http.get("/subjects").await, (200, json!(["ct"])));
    assert_error(&http.get("/subjects/s/versions").await, 404, 40401);

    reg.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_and_hard_deletes() {
    let env = Env::start().await;
    let reg = env
        .registry(&[("schema.compatibility.level", "NONE")])
        .await;
    let http = Http::new(&reg);
    for (i, t) in ["string", "int", "long"].iter().enumerate() {
        let id = http
            .register("d", json!({"schema": format!("\"{t}\"")}))
            .await;
        assert_eq!(id, i as i64 + 1);
    }
    // Hard delete before soft delete: 40407.
    assert_error(
        &http.delete("/subjects/d/versions/1?permanent=true").await,
        404,
        40407,
    );
    // Soft delete version 1.
    assert_eq!(http.delete("/subjects/d/versions/1").await, (200, json!(1)));
    assert_error(&http.delete("/subjects/d/versions/1").await, 404, 40406);
    assert_eq!(http.get("/subjects/d/versions").await, (200, json!([2, 3])));
    assert_eq!(
        http.get("/subjects/d/versions?deleted=true").await,
        (200, json!([1, 2, 3]))
    );
    assert_error(&http.get("/subjects/d/versions/1").await, 404, 40402);
    let (status, v1) = http.get("/subjects/d/versions/1?deleted=true").await;
    assert_eq!(status, 200);
    assert_eq!(v1["schema"], "\"string\"");
    // The id still resolves (consumers need it).
    assert_eq!(http.get("/schemas/ids/1").await.0, 200);
    // Lookup sees it only with deleted=true.
    assert_error(
        &http
            .post("/subjects/d", &json!({"schema": "\"string\""}))
            .await,
        404,
        40403,
    );
    assert_eq!(
        http.post("/subjects/d?deleted=true", &json!({"schema": "\"string\""}))
            .await
            .1["version"],
        1
    );
    // Re-registering a soft-deleted schema makes a new version with the same id.
    assert_eq!(http.register("d", json!({"schema": "\"string\""})).await, 1);
    assert_eq!(
        http.get("/subjects/d/versions").await,
        (200, json!([2, 3, 4]))
    );
    // Hard delete of version 1.
    assert_eq!(
        http.delete("/subjects/d/versions/1?permanent=true").await,
        (200, json!(1))
    );
    assert_error(
        &http.get("/subjects/d/versions/1?deleted=true").await,
        404,
        40402,
    );
    assert_error(&http.delete("/subjects/d/versions/9").await, 404, 40402);

    // Subjects: hard before soft is refused.
    assert_error(&http.delete("/subjects/d?permanent=true").await, 404, 40405);
    assert_eq!(http.delete("/subjects/d").await, (200, json!([2, 3, 4])));
    assert_error(&http.delete("/subjects/d").await, 404, 40404);
    assert_eq!(http.get("/subjects").await, (200, json!([])));
    assert_eq!(
        http.get("/subjects?deleted=true").await,
        (200, json!(["d"]))
    );
    assert_eq!(
        http.get("/subjects?deletedOnly=true").await,
        (200, json!(["d"]))
    );
    assert_error(&http.get("/subjects/d/versions").await, 404, 40401);
    assert_error(&http.get("/subjects/d/versions/latest").await, 404, 40401);
    assert_eq!(
        http.get("/subjects/d/versions/latest?deleted=true").await.1["version"],
        4
    );
    assert_eq!(
        http.delete("/subjects/d?permanent=true").await,
        (200, json!([2, 3, 4]))
    );
    assert_eq!(http.get("/subjects?deleted=true").await, (200, json!([])));
    assert_error(&http.get("/schemas/ids/2").await, 404, 40403);
    assert_error(&http.delete("/subjects/d").await, 404, 40401);
    // Ids are never reused.
    assert_eq!(
        http.register("d", json!({"schema": "\"boolean\""})).await,
        4
    );

    reg.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_json_protobuf_and_contexts() {
    let env = Env::start().await;
    let reg = env.registry(&[]).await;
    let http = Http::new(&reg);

    // Avro reference.
    let address = json!({"schema": json!({"type":"record","name":"Address","namespace":"acme","fields":[{"name":"city","type":"string"}]}).to_string()});
    let addr_id = http.register("address", address).await;
    let customer = json!({
        "schema": json!({"type":"record","name":"Customer","namespace":"acme","fields":[{"name":"home","type":"acme.Address"}]}).to_string(),
        "references": [{"name": "acme.Address", "subject": "address", "version": 1}]
    });
    let cust_id = http.register("customer", customer.clone()).await;
    assert_ne!(cust_id, addr_id);
    let (status, got) = http.get("/subjects/customer/versions/1").await;
    assert_eq!(status, 200);
    assert_eq!(
        got["references"],
        json!([{"name": "acme.Address", "subject": "address", "version": 1}])
    );
    assert_eq!(
        http.get("/schemas/ids/2").await.1["references"][0]["subject"],
        "address"
    );
    assert_eq!(
        http.get("/subjects/address/versions/1/referencedby").await,
        (200, json!([cust_id]))
    );
    // A referenced version cannot be deleted.
    assert_error(
        &http.delete("/subjects/address/versions/1").await,
        422,
        42206,
    );
    assert_error(&http.delete("/subjects/address").await, 422, 42206);

    // JSON Schema.
    let js = json!({"schemaType": "JSON", "schema": json!({"type":"object","properties":{"a":{"type":"string"}}}).to_string()});
    let js_id = http.register("js-value", js.clone()).await;
    let (_, got) = http.get(&format!("/schemas/ids/{js_id}")).await;
    assert_eq!(got["schemaType"], "JSON");
    assert_eq!(http.post("/subjects/js-value", &js).await.1["id"], js_id);
    // The same text as AVRO is a different schema type: not found.
    assert_error(
        &http
            .post("/subjects/js-value", &json!({"schema": js["schema"]}))
            .await,
        422,
        42201,
    );

    // Protobuf, as text and as a base64 descriptor (how the Python client registers).
    let proto = "syntax = \"proto3\";\npackage t;\nmessage M { string a = 1; int32 b = 2; }\n";
    let pb = json!({"schemaType": "PROTOBUF", "schema": proto});
    let pb_id = http.register("pb-value", pb.clone()).await;
    let (_, got) = http.get("/subjects/pb-value/versions/1").await;
    assert_eq!(got["schemaType"], "PROTOBUF");
    let (status, ser) = http
        .get(&format!("/schemas/ids/{pb_id}?format=serialized"))
        .await;
    assert_eq!(status, 200);
    let b64 = ser["schema"].as_str().unwrap().to_string();
    assert!(
        !b64.contains("message"),
        "serialized format is base64: {b64}"
    );
    let again = json!({"schemaType": "PROTOBUF", "schema": b64});
    assert_eq!(
        http.register("pb-value", again.clone()).await,
        pb_id,
        "same schema sent as a descriptor"
    );
    assert_eq!(
        http.post("/subjects/pb-value", &again).await.1["version"],
        1
    );

    // Contexts: ids are per context.
    let in_ctx = http
        .register(":.staging:users", json!({"schema": "\"string\""}))
        .await;
    assert_eq!(in_ctx, 1, "first id of context .staging");
    let (_, s) = http.get("/schemas/ids/1?subject=:.staging:users").await;
    assert_eq!(s["schema"], "\"string\"");
    let (_, contexts) = http.get("/contexts").await;
    assert_eq!(contexts, json!([".", ".staging"]));
    let (_, subjects) = http.get("/subjects?subjectPrefix=:.staging:").await;
    assert_eq!(subjects, json!([":.staging:users"]));
    // The default context spelled out is the default context.
    assert_eq!(
        http.get("/subjects/:.:address/versions").await,
        (200, json!([1]))
    );

    reg.shutdown().await.unwrap();
    env.shutdown().await;
}
