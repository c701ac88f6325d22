//! The caching client (`strom_schema_registry::client`) against a running registry.

mod support;

use strom_schema_registry::client::RegistryClient;
use strom_schema_registry::schema::{SchemaReference, SchemaType};
use strom_schema_registry::Error;
use support::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_registers_fetches_and_caches() {
    let env = Env::start().await;
    let reg = env.registry(&[]).await;
    let client = RegistryClient::new(&reg.url()).unwrap();

    let id = client
        .register("c-value", SchemaType::Avro, "\"string\"", &[])
        .await
        .unwrap();
    assert_eq!(id, 1);
    assert_eq!(
        client
            .register("c-value", SchemaType::Avro, "\"string\"", &[])
            .await
            .unwrap(),
        1
    );
    let js = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;
    let js_id = client
        .register("j-value", SchemaType::Json, js, &[])
        .await
        .unwrap();

    let by_id = client.schema_by_id(js_id).await.unwrap();
    assert_eq!(by_id.schema_type, SchemaType::Json);
    assert_eq!(by_id.id, js_id);
    let latest = client.latest("c-value").await.unwrap();
    assert_eq!(
        (latest.subject.as_deref(), latest.version, latest.id),
        (Some("c-value"), Some(1), 1)
    );
    assert_eq!(
        client.version("c-value", 1).await.unwrap().schema,
        "\"string\""
    );
    let found = client
        .lookup("c-value", SchemaType::Avro, "\"string\"", &[])
        .await
        .unwrap();
    assert_eq!(found.version, Some(1));
    let mut subjects = client.subjects().await.unwrap();
    subjects.sort();
    assert_eq!(subjects, vec!["c-value", "j-value"]);

    // A reference resolves through the registry.
    let rec = r#"{"type":"record","name":"Outer","fields":[{"name":"x","type":"string"}]}"#;
    client
        .register("outer", SchemaType::Avro, rec, &[])
        .await
        .unwrap();
    let refs = vec![SchemaReference {
        name: "Outer".into(),
        subject: "outer".into(),
        version: 1,
    }];
    let with_ref = r#"{"type":"record","name":"Wrap","fields":[{"name":"o","type":"Outer"}]}"#;
    let wid = client
        .register("wrap", SchemaType::Avro, with_ref, &refs)
        .await
        .unwrap();
    assert_eq!(client.schema_by_id(wid).await.unwrap().references, refs);

    // Errors carry the registry's status and error code.
    match client.schema_by_id(999).await {
        Err(Error::Remote {
            status: 404,
            error_code: 40403,
            ..
        }) => {}
        other => panic!("expected 40403, got {other:?}"),
    }
    match client.register("bad", SchemaType::Avro, "{", &[]).await {
        Err(Error::Remote {
            status: 422,
            error_code: 42201,
            ..
        }) => {}
        other => panic!("expected 42201, got {other:?}"),
    }

    // Metrics (Prometheus text).
    let metrics = reqwest::get(format!("{}/metrics", reg.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("strom_schema_registry_subjects 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("strom_schema_registry_is_leader 1"),
        "{metrics}"
    );

    // Cached: answers come back after the registry is gone.
    reg.shutdown().await.unwrap();
    assert_eq!(client.schema_by_id(js_id).await.unwrap().id, js_id);
    assert_eq!(client.version("c-value", 1).await.unwrap().id, 1);
    assert!(matches!(
        client.latest("c-value").await,
        Err(Error::Http(_))
    ));
    env.shutdown().await;
}
