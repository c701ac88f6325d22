//! `/config`, `/mode` and `/compatibility` over HTTP.

mod support;

use serde_json::json;
use support::{assert_error, avro_record, Env, Http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_levels_and_compatibility() {
    let env = Env::start().await;
    let reg = env.registry(&[]).await;
    let http = Http::new(&reg);

    assert_eq!(
        http.get("/config").await,
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
    assert_eq!(
        http.put("/config", &json!({"compatibility": "FULL"})).await,
        (200, json!({"compatibility": "FULL"}))
    );
    assert_eq!(http.get("/config").await.1["compatibilityLevel"], "FULL");
    assert_error(
        &http
            .put("/config", &json!({"compatibility": "SIDEWAYS"}))
            .await,
        422,
        42203,
    );
    assert_error(&http.put("/config", &json!({})).await, 422, 42203);
    // Lower case is accepted, as Confluent upper-cases it.
    assert_eq!(
        http.put("/config", &json!({"compatibility": "backward"}))
            .await
            .1["compatibility"],
        "BACKWARD"
    );

    // Subject level.
    assert_error(&http.get("/config/orders").await, 404, 40408);
    assert_eq!(
        http.get("/config/orders?defaultToGlobal=true").await,
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
    assert_eq!(
        http.put("/config/orders", &json!({"compatibility": "NONE"}))
            .await,
        (200, json!({"compatibility": "NONE"}))
    );
    assert_eq!(
        http.get("/config/orders").await,
        (200, json!({"compatibilityLevel": "NONE"}))
    );

    // Compatibility is enforced at the subject's level.
    let v1 = avro_record("Order", json!([{"name": "id", "type": "string"}]));
    let incompatible = avro_record("Order", json!([{"name": "id", "type": "int"}]));
    http.register("orders", v1.clone()).await;
    http.register("orders", incompatible.clone()).await; // NONE: accepted
    assert_eq!(
        http.delete("/config/orders").await,
        (200, json!({"compatibilityLevel": "NONE"}))
    );
    assert_error(&http.get("/config/orders").await, 404, 40408);
    // Back to BACKWARD: a boolean id cannot read the latest (int) data.
    let boolean = avro_record("Order", json!([{"name": "id", "type": "boolean"}]));
    let (status, err) = http.post("/subjects/orders/versions", &boolean).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error_code"], 409);
    assert!(
        err["message"].as_str().unwrap().contains("incompatible"),
        "{err}"
    );
    assert_error(&http.delete("/config/never-seen").await, 404, 40401);

    // The compatibility endpoint.
    let added_field = avro_record(
        "Order",
        json!([{"name": "id", "type": "int"}, {"name": "note", "type": "string"}]),
    );
    let (status, r) = http
        .post(
            "/compatibility/subjects/orders/versions/latest",
            &added_field,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(r, json!({"is_compatible": false}));
    let (_, r) = http
        .post(
            "/compatibility/subjects/orders/versions/latest?verbose=true",
            &added_field,
        )
        .await;
    assert_eq!(r["is_compatible"], false);
    assert!(!r["messages"].as_array().unwrap().is_empty(), "{r}");
    let with_default = avro_record(
        "Order",
        json!([{"name": "id", "type": "int"}, {"name": "note", "type": "string", "default": ""}]),
    );
    let (_, r) = http
        .post(
            "/compatibility/subjects/orders/versions?verbose=true",
            &with_default,
        )
        .await;
    assert_eq!(r, json!({"is_compatible": true, "messages": []}));
    // Against version 1 (string id): not compatible.
    let (_, r) = http
        .post("/compatibility/subjects/orders/versions/1", &with_default)
        .await;
    assert_eq!(r["is_compatible"], false);
    assert_error(
        &http
            .post("/compatibility/subjects/orders/versions/9", &with_default)
            .await,
        404,
        40402,
    );
    assert_error(
        &http
            .post("/compatibility/subjects/nope/versions/1", &with_default)
            .await,
        404,
        40401,
    );
    assert_error(
        &http
            .post("/compatibility/subjects/orders/versions/x", &with_default)
            .await,
        422,
        42202,
    );
    assert_error(
        &http
            .post(
                "/compatibility/subjects/orders/versions",
                &json!({"schema": "{"}),
            )
            .await,
        422,
        42201,
    );
    // A subject with no versions: anything is compatible.
    let (_, r) = http
        .post("/compatibility/subjects/fresh/versions", &with_default)
        .await;
    assert_eq!(r["is_compatible"], true);

    // DELETE /config resets the global level.
    http.put("/config", &json!({"compatibility": "FORWARD"}))
        .await;
    assert_eq!(
        http.delete("/config").await.1["compatibilityLevel"],
        "FORWARD"
    );
    assert_eq!(
        http.get("/config").await.1["compatibilityLevel"],
        "BACKWARD"
    );

    reg.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_and_import() {
    let env = Env::start().await;
    let reg = env.registry(&[]).await;
    let http = Http::new(&reg);

    assert_eq!(http.get("/mode").await, (200, json!({"mode": "READWRITE"})));
    assert_error(
        &http.put("/mode", &json!({"mode": "SOMETIMES"})).await,
        422,
        42204,
    );
    // IMPORT on an empty registry, then register with given ids and versions.
    assert_eq!(
        http.put("/mode", &json!({"mode": "IMPORT"})).await,
        (200, json!({"mode": "IMPORT"}))
    );
    let (status, r) = http
        .post(
            "/subjects/imp/versions",
            &json!({"schema": "\"string\"", "id": 100, "version": 5}),
        )
        .await;
    assert_eq!((status, r["id"].as_i64()), (200, Some(100)));
    let (_, got) = http.get("/subjects/imp/versions/5").await;
    assert_eq!(got["id"], 100);
    // The id is taken by another schema: refused.
    assert_error(
        &http
            .post(
                "/subjects/imp2/versions",
                &json!({"schema": "\"int\"", "id": 100, "version": 1}),
            )
            .await,
        422,
        42205,
    );
    // The same schema under its id again: fine; under a different id in the same subject: 42207.
    assert_error(
        &http
            .post(
                "/subjects/imp/versions",
                &json!({"schema": "\"string\"", "id": 101, "version": 6}),
            )
            .await,
        422,
        42207,
    );
    assert_eq!(
        http.put("/mode", &json!({"mode": "READWRITE"})).await.0,
        200
    );
    // New ids continue after the imported ones.
    assert_eq!(
        http.register("fresh", json!({"schema": "\"long\""})).await,
        101
    );
    // Ids outside IMPORT mode: refused.
    assert_error(
        &http
            .post(
                "/subjects/fresh/versions",
                &json!({"schema": "\"double\"", "id": 500}),
            )
            .await,
        422,
        42205,
    );
    // IMPORT with schemas present needs force.
    assert_error(
        &http.put("/mode", &json!({"mode": "IMPORT"})).await,
        422,
        42205,
    );
    assert_eq!(
        http.put("/mode?force=true", &json!({"mode": "IMPORT"}))
            .await
            .0,
        200
    );
    assert_eq!(
        http.put("/mode", &json!({"mode": "READWRITE"})).await.0,
        200
    );

    // READONLY on a subject blocks writes to it only.
    assert_error(&http.get("/mode/fresh").await, 404, 40409);
    assert_eq!(
        http.get("/mode/fresh?defaultToGlobal=true").await.1["mode"],
        "READWRITE"
    );
    assert_eq!(
        http.put("/mode/fresh", &json!({"mode": "READONLY"})).await,
        (200, json!({"mode": "READONLY"}))
    );
    assert_eq!(http.get("/mode/fresh").await.1["mode"], "READONLY");
    assert_error(
        &http
            .post("/subjects/fresh/versions", &json!({"schema": "\"float\""}))
            .await,
        422,
        42205,
    );
    assert_error(&http.delete("/subjects/fresh").await, 422, 42205);
    assert_eq!(
        http.register("other", json!({"schema": "\"float\""})).await,
        102
    );
    assert_eq!(
        http.delete("/mode/fresh").await,
        (200, json!({"mode": "READONLY"}))
    );
    assert_eq!(
        http.register("fresh", json!({"schema": "\"float\""})).await,
        102
    );
    // Global READONLY.
    assert_eq!(http.put("/mode", &json!({"mode": "READONLY"})).await.0, 200);
    assert_error(
        &http
            .post("/subjects/x/versions", &json!({"schema": "\"bytes\""}))
            .await,
        422,
        42205,
    );
    // Reads still work.
    assert_eq!(http.get("/subjects/fresh/versions").await.0, 200);
    assert_eq!(http.delete("/mode").await.1["mode"], "READONLY");
    assert_eq!(http.get("/mode").await.1["mode"], "READWRITE");

    reg.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_mutability_off_and_normalize() {
    let env = Env::start().await;
    let reg = env.registry(&[("mode.mutability", "false")]).await;
    let http = Http::new(&reg);
    assert_error(
        &http.put("/mode", &json!({"mode": "READONLY"})).await,
        422,
        42205,
    );

    // normalize=true: the normalized form is stored, so differently written
    // equivalents land on the same id.
    let a = json!({"schema": json!({"type":"record","name":"R","namespace":"n","fields":[{"name":"f","type":"string"}]}).to_string()});
    let b = json!({"schema": json!({"type":"record","name":"n.R","fields":[{"name":"f","type":"string"}]}).to_string()});
    let id_a = {
        let (s, v) = http
            .post("/subjects/norm/versions?normalize=true", &a)
            .await;
        assert_eq!(s, 200, "{v}");
        v["id"].as_i64().unwrap()
    };
    let (s, v) = http
        .post("/subjects/norm/versions?normalize=true", &b)
        .await;
    assert_eq!((s, v["id"].as_i64()), (200, Some(id_a)));
    assert_eq!(http.get("/subjects/norm/versions").await.1, json!([1]));
    let (s, v) = http.post("/subjects/norm?normalize=true", &b).await;
    assert_eq!((s, v["version"].as_i64()), (200, Some(1)));

    reg.shutdown().await.unwrap();
    env.shutdown().await;
}
