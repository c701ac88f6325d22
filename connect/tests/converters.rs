//! The schema-registry converters: Connect ⇄ Avro schema mapping, round trips
//! through an in-process registry (on an in-process broker), a FileStream
//! source writing Avro, and bad input.

mod support;

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};
use strom_connect::converters::avro::{AvroConverter, AvroData};
use strom_connect::converters::{self, Converter};
use strom_connect::data::{logical, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use strom_connect::error::Error;
use strom_connect::Props;
use strom_schema_registry::schema::avro::AvroSchema;
use strom_schema_registry::schema::{ParsedSchema, SchemaType};
use strom_schema_registry::{codec, RunningRegistry};
use support::{props, wait_until, Env, DEADLINE};

async fn start_registry(env: &Env) -> RunningRegistry {
    start_registry_on(env, 0).await
}

async fn start_registry_on(env: &Env, port: u16) -> RunningRegistry {
    let mut p = BTreeMap::new();
    let listener = format!("http://127.0.0.1:{port}");
    for (k, v) in [
        ("listeners", listener.as_str()),
        ("kafkastore.bootstrap.servers", env.bootstrap.as_str()),
        ("kafkastore.timeout.ms", "20000"),
        ("kafkastore.init.timeout.ms", "30000"),
        ("kafkastore.topic.replication.factor", "1"),
    ] {
        p.insert(k.to_string(), v.to_string());
    }
    let config = strom_schema_registry::RegistryConfig::from_properties(p).expect("config");
    strom_schema_registry::start(config)
        .await
        .expect("registry starts")
}

fn registry_url(r: &RunningRegistry) -> String {
    format!("http://{}", r.local_addr())
}

/// A struct with every kind of field the mapping handles.
fn order_schema() -> SchemaRef {
    let address = SchemaBuilder::struct_()
        .name("com.example.Address")
        .field("street", Schema::of(Type::String))
        .field("zip", Schema::optional(Type::Int32))
        .build();
    SchemaBuilder::struct_()
        .name("com.example.Order")
        .version(2)
        .doc("an order")
        .field("id", Schema::of(Type::Int64))
        .field("note", Schema::optional(Type::String))
        .field("small", Schema::of(Type::Int8))
        .field("medium", Schema::of(Type::Int16))
        .field("price", logical::decimal(2).build())
        .field("day", logical::date().build())
        .field("at", logical::timestamp().build())
        .field(
            "tags",
            SchemaBuilder::array(Schema::of(Type::String)).build(),
        )
        .field(
            "counts",
            SchemaBuilder::map(Schema::of(Type::String), Schema::of(Type::Int32)).build(),
        )
        .field(
            "by_id",
            SchemaBuilder::map(Schema::of(Type::Int32), Schema::of(Type::String)).build(),
        )
        .field("address", address)
        .field("raw", Schema::optional(Type::Bytes))
        .build()
}

fn order_value(schema: &SchemaRef) -> Value {
    let address_schema = schema.field("address").unwrap().schema.clone();
    let address = Struct::new(address_schema)
        .with("street", Value::String("Main St".into()))
        .unwrap();
    let s = Struct::new(schema.clone())
        .with("id", Value::Int64(42))
        .unwrap()
        .with("small", Value::Int8(-3))
        .unwrap()
        .with("medium", Value::Int16(300))
        .unwrap()
        .with(
            "price",
            Value::Bytes(logical::decimal_from_string("12.34", 2).unwrap()),
        )
        .unwrap()
        .with("day", Value::Int32(19_000))
        .unwrap()
        .with("at", Value::Int64(1_700_000_000_123))
        .unwrap()
        .with(
            "tags",
            Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
        )
        .unwrap()
        .with(
            "counts",
            Value::Map(vec![(Value::String("x".into()), Value::Int32(1))]),
        )
        .unwrap()
        .with(
            "by_id",
            Value::Map(vec![(Value::Int32(7), Value::String("seven".into()))]),
        )
        .unwrap()
        .with("address", Value::Struct(address))
        .unwrap()
        .with("raw", Value::Bytes(vec![0, 200, 255]))
        .unwrap();
    Value::Struct(s)
}

fn field<'a>(record: &'a Json, name: &str) -> &'a Json {
    record["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {record}"))
}

#[test]
fn connect_to_avro_schema() {
    let avro = AvroData::default()
        .from_connect_schema(&order_schema())
        .unwrap();
    assert_eq!(avro["type"], "record");
    assert_eq!(avro["name"], "Order");
    assert_eq!(avro["namespace"], "com.example");
    assert_eq!(avro["doc"], "an order");
    assert_eq!(avro["connect.name"], "com.example.Order");
    assert_eq!(avro["connect.version"], 2);
    assert_eq!(field(&avro, "id")["type"], "long");
    // Optional: a null union with a null default.
    assert_eq!(field(&avro, "note")["type"], json!(["null", "string"]));
    assert_eq!(field(&avro, "note")["default"], Json::Null);
    assert!(field(&avro, "id").get("default").is_none());
    assert_eq!(
        field(&avro, "small")["type"],
        json!({"type": "int", "connect.type": "int8"})
    );
    assert_eq!(
        field(&avro, "medium")["type"],
        json!({"type": "int", "connect.type": "int16"})
    );
    assert_eq!(
        field(&avro, "price")["type"],
        json!({"type": "bytes", "scale": 2, "precision": 64, "logicalType": "decimal",
               "connect.name": "org.apache.kafka.connect.data.Decimal", "connect.version": 1,
               "connect.parameters": {"scale": "2"}})
    );
    assert_eq!(field(&avro, "day")["type"]["logicalType"], "date");
    assert_eq!(field(&avro, "at")["type"]["type"], "long");
    assert_eq!(
        field(&avro, "at")["type"]["logicalType"],
        "timestamp-millis"
    );
    assert_eq!(
        field(&avro, "tags")["type"],
        json!({"type": "array", "items": "string"})
    );
    assert_eq!(
        field(&avro, "counts")["type"],
        json!({"type": "map", "values": "int"})
    );
    let entry = &field(&avro, "by_id")["type"]["items"];
    assert_eq!(entry["name"], "MapEntry");
    assert_eq!(entry["namespace"], "io.confluent.connect.avro");
    let address = &field(&avro, "address")["type"];
    assert_eq!(address["name"], "Address");
    assert_eq!(field(address, "zip")["type"], json!(["null", "int"]));

    // Unnamed structs are ConnectDefault, ConnectDefault2, ...; no metadata when switched off.
    let inner = SchemaBuilder::struct_()
        .field("a", Schema::of(Type::Int16))
        .build();
    let outer = SchemaBuilder::struct_().field("inner", inner).build();
    let plain = AvroData {
        connect_meta_data: false,
    };
    let avro = plain.from_connect_schema(&outer).unwrap();
    assert_eq!(avro["name"], "ConnectDefault");
    assert_eq!(avro["namespace"], "io.confluent.connect.avro");
    let inner = &field(&avro, "inner")["type"];
    assert_eq!(inner["name"], "ConnectDefault2");
    assert_eq!(field(inner, "a")["type"], "int");
}

#[test]
fn avro_schema_back_to_connect() {
    let data = AvroData::default();
    let original = order_schema();
    let text = data.from_connect_schema(&original).unwrap().to_string();
    let parsed = AvroSchema::parse(&text, &[]).expect("a valid Avro schema");
    let back = data.to_connect_schema(&parsed).unwrap();
    assert_eq!(back.name, original.name);
    assert_eq!(back.version, Some(2));
    for f in &original.fields {
        let b = &back.field(&f.name).unwrap().schema;
        assert_eq!(b.ty, f.schema.ty, "{}", f.name);
        assert_eq!(b.optional, f.schema.optional, "{}", f.name);
        assert_eq!(b.name, f.schema.name, "{}", f.name);
    }
    assert_eq!(back.field("price").unwrap().schema.parameters["scale"], "2");
    assert_eq!(
        back.field("by_id")
            .unwrap()
            .schema
            .key_schema
            .as_ref()
            .unwrap()
            .ty,
        Type::Int32
    );

    // Plain Avro (not written by Connect): enums, fixed, unions, defaults.
    let plain = AvroSchema::parse(
        r#"{"type":"record","name":"p.R","fields":[
            {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
            {"name":"f","type":{"type":"fixed","name":"F","size":2}},
            {"name":"u","type":["null","int","string"]},
            {"name":"n","type":"int","default":5}]}"#,
        &[],
    )
    .unwrap();
    let s = data.to_connect_schema(&plain).unwrap();
    assert_eq!(s.name.as_deref(), Some("p.R"));
    let e = &s.field("e").unwrap().schema;
    assert_eq!(e.ty, Type::String);
    assert_eq!(e.parameters["io.confluent.connect.avro.Enum.B"], "B");
    assert_eq!(
        s.field("f").unwrap().schema.parameters["connect.fixed.size"],
        "2"
    );
    let u = &s.field("u").unwrap().schema;
    assert_eq!(u.name.as_deref(), Some("io.confluent.connect.avro.Union"));
    assert!(u.optional);
    assert_eq!(u.fields.len(), 2);
    assert_eq!(s.field("n").unwrap().schema.default, Some(Value::Int32(5)));
}

fn avro_props(url: &str, extra: &[(&str, &str)]) -> Props {
    let mut p = props(&[("schema.registry.url", url)]);
    for (k, v) in extra {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

/// Run sync converter calls off the async test thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_round_trip_through_the_registry() {
    let env = Env::start().await;
    let registry = start_registry(&env).await;
    let url = registry_url(&registry);
    let converter = std::sync::Arc::new(
        AvroConverter::configure(&avro_props(&url, &[]), false).expect("converter"),
    );
    let schema = order_schema();
    let value = order_value(&schema);
    let c = converter.clone();
    let (s, v) = (schema.clone(), value.clone());
    let bytes = blocking(move || c.to_bytes("orders", Some(&s), &v))
        .await
        .expect("serializes")
        .expect("not null");
    assert_eq!(bytes[0], 0, "magic byte");
    let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    assert!(id > 0);

    // The registry has it under the topic's value subject.
    let client = strom_schema_registry::client::RegistryClient::new(&url).unwrap();
    let latest = client.latest("orders-value").await.unwrap();
    assert_eq!(latest.id, id);

    // A fresh converter (empty caches) reads it back.
    let reader = AvroConverter::configure(&avro_props(&url, &[]), false).unwrap();
    let b = bytes.clone();
    let (back_schema, back) = blocking(move || reader.to_connect("orders", Some(&b)))
        .await
        .expect("deserializes");
    let back_schema = back_schema.expect("a schema");
    assert_eq!(back_schema.name.as_deref(), Some("com.example.Order"));
    // Values equal field by field (the read schema carries the Decimal precision parameter).
    let (Value::Struct(got), Value::Struct(want)) = (&back, &value) else {
        panic!("structs expected: {back:?}");
    };
    for f in &schema.fields {
        assert_eq!(
            got.get(&f.name).map(strip),
            want.get(&f.name).map(strip),
            "{}",
            f.name
        );
    }
    // Same bytes again: the schema is cached and re-registering gives the same id.
    let c = converter.clone();
    let (s, v) = (schema.clone(), value.clone());
    let again = blocking(move || c.to_bytes("orders", Some(&s), &v))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, bytes);

    // The serialized form decodes with the registry library's codec.
    let parsed = ParsedSchema::parse(SchemaType::Avro, &latest.schema, &[]).unwrap();
    let (_, payload) = codec::split(&bytes).unwrap();
    let j = codec::decode(&parsed, payload).unwrap();
    assert_eq!(j["id"], 42);
    assert_eq!(j["note"], Json::Null);
    assert_eq!(j["address"]["street"], "Main St");

    // Tombstones stay null.
    let c = converter.clone();
    assert_eq!(
        blocking(move || c.to_bytes("orders", Some(&order_schema()), &Value::Null))
            .await
            .unwrap(),
        None
    );

    // Bad input: no magic byte, too short, unknown id.
    let c = converter.clone();
    let err = blocking(move || c.to_connect("orders", Some(&[1, 0, 0, 0, 1, 2])))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Data(ref m) if m.contains("Unknown magic byte")),
        "{err}"
    );
    let c = converter.clone();
    let err = blocking(move || c.to_connect("orders", Some(&[0, 0])))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Data(_)), "{err}");
    let c = converter.clone();
    let err = blocking(move || c.to_connect("orders", Some(&[0, 0, 0, 0x7f, 0xff, 2])))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Data(ref m) if m.contains("32767")),
        "{err}"
    );

    // auto.register.schemas=false: an unregistered schema is an error; a registered one works.
    let strict = AvroConverter::configure(
        &avro_props(&url, &[("auto.register.schemas", "false")]),
        false,
    )
    .unwrap();
    let strict = std::sync::Arc::new(strict);
    let c = strict.clone();
    let other = SchemaBuilder::struct_()
        .name("Other")
        .field("x", Schema::of(Type::Int32))
        .build();
    let v = Value::Struct(
        Struct::new(other.clone())
            .with("x", Value::Int32(1))
            .unwrap(),
    );
    assert!(blocking(move || c.to_bytes("orders", Some(&other), &v))
        .await
        .is_err());
    let c = strict.clone();
    let (s, v) = (schema.clone(), value.clone());
    let looked_up = blocking(move || c.to_bytes("orders", Some(&s), &v))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(looked_up, bytes);

    // use.latest.version: written with the subject's latest schema (the same one here).
    let latest_conv = AvroConverter::configure(
        &avro_props(
            &url,
            &[
                ("use.latest.version", "true"),
                ("auto.register.schemas", "false"),
            ],
        ),
        false,
    )
    .unwrap();
    let (s, v) = (schema.clone(), value.clone());
    let with_latest = blocking(move || latest_conv.to_bytes("orders", Some(&s), &v))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(with_latest, bytes);

    // RecordNameStrategy: the subject is the record's full name.
    let by_record = AvroConverter::configure(
        &avro_props(
            &url,
            &[(
                "value.subject.name.strategy",
                "io.confluent.kafka.serializers.subject.RecordNameStrategy",
            )],
        ),
        false,
    )
    .unwrap();
    let (s, v) = (schema.clone(), value.clone());
    blocking(move || by_record.to_bytes("orders", Some(&s), &v))
        .await
        .unwrap();
    assert!(client
        .subjects()
        .await
        .unwrap()
        .contains(&"com.example.Order".to_string()));

    // Built by class name, as a worker does.
    assert!(converters::converter(
        "io.confluent.connect.avro.AvroConverter",
        &avro_props(&url, &[]),
        true
    )
    .is_ok());
    assert!(converters::converter("AvroConverter", &Props::new(), true).is_err());

    registry.shutdown().await.unwrap();
    env.shutdown().await;
}

/// A value without Connect schema parameters that do not affect it.
fn strip(v: &Value) -> Value {
    match v {
        Value::Struct(s) => Value::Struct(Struct {
            schema: Schema::of(Type::Struct),
            values: s.values.iter().map(strip).collect(),
        }),
        other => other.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filestream_source_writes_avro() {
    let env = Env::start().await;
    let registry = start_registry(&env).await;
    let url = registry_url(&registry);
    env.create_topic("lines-avro", 1).await;
    let input = env.path("in.txt");
    std::fs::write(&input, "alpha\nbeta\ngamma\n").unwrap();
    let source = props(&[
        ("name", "avro-source"),
        ("connector.class", "FileStreamSource"),
        ("file", &input.display().to_string()),
        ("topic", "lines-avro"),
        ("transforms", "hoist"),
        (
            "transforms.hoist.type",
            "org.apache.kafka.connect.transforms.HoistField$Value",
        ),
        ("transforms.hoist.field", "line"),
        ("value.converter", "io.confluent.connect.avro.AvroConverter"),
        ("value.converter.schema.registry.url", &url),
    ]);
    let worker = env.standalone(&env.path("offsets"), vec![source]).await;

    let payloads = read_raw(&env.bootstrap, "lines-avro", 3).await;
    let client = strom_schema_registry::client::RegistryClient::new(&url).unwrap();
    let mut lines = Vec::new();
    for p in &payloads {
        let (id, payload) = codec::split(p).expect("framed");
        let registered = client.schema_by_id(id).await.expect("schema by id");
        let parsed = ParsedSchema::parse(SchemaType::Avro, &registered.schema, &[]).unwrap();
        assert_eq!(
            parsed.record_name().as_deref(),
            Some("io.confluent.connect.avro.ConnectDefault")
        );
        let j = codec::decode(&parsed, payload).expect("decodes");
        lines.push(j["line"].as_str().unwrap().to_string());
    }
    assert_eq!(lines, ["alpha", "beta", "gamma"]);
    wait_until("the subject is registered", || async {
        client
            .subjects()
            .await
            .is_ok_and(|s| s.contains(&"lines-avro-value".to_string()))
    })
    .await;
    worker.shutdown().await.unwrap();
    registry.shutdown().await.unwrap();
    env.shutdown().await;
}

/// `errors.retry.timeout`: a registry that is not there yet is retried (the
/// converter's failure is retriable), and the records go through once it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registry_outage_is_retried_within_errors_retry_timeout() {
    let env = Env::start().await;
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    env.create_topic("late-registry", 1).await;
    let input = env.path("in.txt");
    std::fs::write(&input, "one\ntwo\n").unwrap();
    let source = props(&[
        ("name", "retrying"),
        ("connector.class", "FileStreamSource"),
        ("file", &input.display().to_string()),
        ("topic", "late-registry"),
        ("value.converter", "io.confluent.connect.avro.AvroConverter"),
        ("value.converter.schema.registry.url", &url),
        ("errors.retry.timeout", "-1"),
        ("errors.retry.delay.max.ms", "200"),
    ]);
    let worker = env.standalone(&env.path("offsets"), vec![source]).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        env.topic_end("late-registry").await,
        0,
        "nothing without a registry"
    );
    let http = support::Http::new(&worker);
    let (_, status) = http.get("/connectors/retrying/status").await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    let registry = start_registry_on(&env, port).await;
    let payloads = read_raw(&env.bootstrap, "late-registry", 2).await;
    assert_eq!(payloads.len(), 2);
    worker.shutdown().await.unwrap();
    registry.shutdown().await.unwrap();
    env.shutdown().await;
}

async fn read_raw(bootstrap: &str, topic: &str, count: usize) -> Vec<Vec<u8>> {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::Message;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("raw-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while out.len() < count {
        let m = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out reading {topic}: {} of {count}", out.len()))
            .expect("message");
        out.push(m.payload().unwrap_or_default().to_vec());
    }
    out
}

// ---------------------------------------------------------------- JSON Schema

#[test]
fn connect_to_json_schema_and_back() {
    use strom_connect::converters::json_schema::{from_connect_schema, to_connect_schema};
    let original = order_schema();
    let js = from_connect_schema(&original);
    assert_eq!(js["type"], "object");
    assert_eq!(js["title"], "com.example.Order");
    let p = &js["properties"];
    assert_eq!(
        p["small"],
        json!({"type": "integer", "connect.type": "int8", "connect.index": 2})
    );
    assert_eq!(p["medium"]["connect.type"], "int16");
    assert_eq!(p["note"]["oneOf"][0], json!({"type": "null"}));
    assert_eq!(p["note"]["oneOf"][1], json!({"type": "string"}));
    assert_eq!(p["price"]["type"], "number");
    assert_eq!(p["price"]["title"], "org.apache.kafka.connect.data.Decimal");
    assert_eq!(p["day"]["title"], "org.apache.kafka.connect.data.Date");
    assert_eq!(p["counts"]["connect.type"], "map");
    assert_eq!(p["by_id"]["type"], "array");
    assert!(js["required"]
        .as_array()
        .unwrap()
        .contains(&json!("address")));
    assert!(!js["required"].as_array().unwrap().contains(&json!("note")));

    // Back: same fields in the same order, types, optionality and names.
    let back = to_connect_schema(&js, false).unwrap();
    assert_eq!(back.name, original.name);
    assert_eq!(back.version, original.version);
    let names = |s: &Schema| s.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&back), names(&original));
    for f in &original.fields {
        let b = &back.field(&f.name).unwrap().schema;
        assert_eq!(b.ty, f.schema.ty, "{}", f.name);
        assert_eq!(b.optional, f.schema.optional, "{}", f.name);
        assert_eq!(b.name, f.schema.name, "{}", f.name);
        assert_eq!(b.parameters, f.schema.parameters, "{}", f.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_schema_round_trip_through_the_registry() {
    use strom_connect::converters::json_schema::JsonSchemaConverter;
    let env = Env::start().await;
    let registry = start_registry(&env).await;
    let url = registry_url(&registry);
    let converter = std::sync::Arc::new(
        converters::converter(
            "io.confluent.connect.json.JsonSchemaConverter",
            &avro_props(&url, &[]),
            false,
        )
        .expect("converter"),
    );
    let schema = order_schema();
    let value = order_value(&schema);
    let c = converter.clone();
    let (s, v) = (schema.clone(), value.clone());
    let bytes = blocking(move || c.to_bytes("orders-js", Some(&s), &v))
        .await
        .expect("serializes")
        .expect("not null");
    assert_eq!(bytes[0], 0);
    let payload: Json = serde_json::from_slice(&bytes[5..]).expect("JSON payload");
    assert_eq!(payload["id"], 42);
    assert_eq!(payload["price"], json!(12.34));
    assert_eq!(payload["raw"], "AMj/");

    let client = strom_schema_registry::client::RegistryClient::new(&url).unwrap();
    let latest = client.latest("orders-js-value").await.unwrap();
    assert_eq!(latest.schema_type, SchemaType::Json);

    let reader = JsonSchemaConverter::configure(&avro_props(&url, &[]), false).unwrap();
    let b = bytes.clone();
    let (back_schema, back) = blocking(move || reader.to_connect("orders-js", Some(&b)))
        .await
        .expect("deserializes");
    assert_eq!(
        back_schema.unwrap().name.as_deref(),
        Some("com.example.Order")
    );
    let (Value::Struct(got), Value::Struct(want)) = (&back, &value) else {
        panic!("structs expected: {back:?}");
    };
    for f in &schema.fields {
        assert_eq!(
            got.get(&f.name).map(strip),
            want.get(&f.name).map(strip),
            "{}",
            f.name
        );
    }

    // A value the schema rejects; bad framing.
    let c = converter.clone();
    let bad = blocking(move || c.to_connect("orders-js", Some(b"{\"id\":1}")))
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::Data(_)), "{bad}");

    registry.shutdown().await.unwrap();
    env.shutdown().await;
}

// ---------------------------------------------------------------- Protobuf

fn proto_schema() -> SchemaRef {
    let address = SchemaBuilder::struct_()
        .field("street", Schema::of(Type::String))
        .field("zip", Schema::optional(Type::Int32))
        .build();
    SchemaBuilder::struct_()
        .name("com.example.Shipment")
        .field("id", Schema::of(Type::Int64))
        .field("note", Schema::optional(Type::String))
        .field("count", Schema::of(Type::Int32))
        .field("ratio", Schema::of(Type::Float64))
        .field("ok", Schema::of(Type::Boolean))
        .field(
            "tags",
            SchemaBuilder::array(Schema::of(Type::String)).build(),
        )
        .field(
            "by_id",
            SchemaBuilder::map(Schema::of(Type::Int32), Schema::of(Type::String)).build(),
        )
        .field(
            "address",
            SchemaBuilder::from_schema(&address).optional().build(),
        )
        .field("raw", Schema::of(Type::Bytes))
        .build()
}

#[test]
fn connect_to_proto() {
    use strom_connect::converters::protobuf::to_proto;
    let (text, full) = to_proto(&proto_schema()).unwrap();
    assert_eq!(full, "com.example.Shipment");
    assert!(text.contains("package com.example;"), "{text}");
    assert!(text.contains("message Shipment {"), "{text}");
    assert!(text.contains("  int64 id = 1;"), "{text}");
    assert!(text.contains("  optional string note = 2;"), "{text}");
    assert!(text.contains("  repeated string tags = 6;"), "{text}");
    assert!(text.contains("  map<int32, string> by_id = 7;"), "{text}");
    assert!(text.contains("  Address address = 8;"), "{text}");
    assert!(text.contains("  message Address {"), "{text}");
    assert!(text.contains("    optional int32 zip = 2;"), "{text}");
    // The text is a valid schema for the registry library.
    ParsedSchema::parse(SchemaType::Protobuf, &text, &[]).expect("valid proto");
    // Unnamed: ConnectDefault1; non-structs are refused.
    let unnamed = SchemaBuilder::struct_()
        .field("a", Schema::of(Type::Int8))
        .build();
    let (text, full) = to_proto(&unnamed).unwrap();
    assert_eq!(full, "ConnectDefault1");
    assert!(text.contains("int32 a = 1;"));
    assert!(to_proto(&Schema::of(Type::String)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_round_trip_through_the_registry() {
    let env = Env::start().await;
    let registry = start_registry(&env).await;
    let url = registry_url(&registry);
    let converter = converters::converter(
        "io.confluent.connect.protobuf.ProtobufConverter",
        &avro_props(&url, &[]),
        false,
    )
    .expect("converter");
    let schema = proto_schema();
    let address = Struct::new(schema.field("address").unwrap().schema.clone())
        .with("street", Value::String("Main St".into()))
        .unwrap()
        .with("zip", Value::Int32(12345))
        .unwrap();
    let value = Value::Struct(
        Struct::new(schema.clone())
            .with("id", Value::Int64(9_000_000_000))
            .unwrap()
            .with("count", Value::Int32(-4))
            .unwrap()
            .with("ratio", Value::Float64(0.25))
            .unwrap()
            .with("ok", Value::Boolean(true))
            .unwrap()
            .with("tags", Value::Array(vec![Value::String("t".into())]))
            .unwrap()
            .with(
                "by_id",
                Value::Map(vec![
                    (Value::Int32(1), Value::String("one".into())),
                    (Value::Int32(2), Value::String("two".into())),
                ]),
            )
            .unwrap()
            .with("address", Value::Struct(address))
            .unwrap()
            .with("raw", Value::Bytes(vec![1, 2, 3]))
            .unwrap(),
    );
    let (s, v) = (schema.clone(), value.clone());
    let c = converter.clone();
    let bytes = blocking(move || c.to_bytes("ships", Some(&s), &v))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bytes[0], 0);
    assert_eq!(bytes[5], 0, "message indexes [0]");

    // The registry library's codec reads the same message.
    let client = strom_schema_registry::client::RegistryClient::new(&url).unwrap();
    let latest = client.latest("ships-value").await.unwrap();
    assert_eq!(latest.schema_type, SchemaType::Protobuf);
    let parsed = ParsedSchema::parse(SchemaType::Protobuf, &latest.schema, &[]).unwrap();
    let j = codec::decode(&parsed, &bytes[5..]).unwrap();
    assert_eq!(j["id"], "9000000000");
    assert_eq!(j["address"]["street"], "Main St");

    let c = converter.clone();
    let b = bytes.clone();
    let (back_schema, back) = blocking(move || c.to_connect("ships", Some(&b)))
        .await
        .unwrap();
    let back_schema = back_schema.unwrap();
    assert_eq!(back_schema.name.as_deref(), Some("com.example.Shipment"));
    assert!(back_schema.field("note").unwrap().schema.optional);
    assert!(!back_schema.field("id").unwrap().schema.optional);
    let (Value::Struct(got), Value::Struct(want)) = (&back, &value) else {
        panic!("structs expected: {back:?}");
    };
    for f in &schema.fields {
        assert_eq!(
            got.get(&f.name).map(strip),
            want.get(&f.name).map(strip),
            "{}",
            f.name
        );
    }

    let c = converter.clone();
    let err = blocking(move || c.to_connect("ships", Some(&[7, 0, 0, 0, 1, 0])))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Data(_)), "{err}");
    let c = converter.clone();
    let err = blocking(move || {
        c.to_bytes(
            "ships",
            Some(&Schema::of(Type::String)),
            &Value::String("x".into()),
        )
    })
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Data(_)), "{err}");

    registry.shutdown().await.unwrap();
    env.shutdown().await;
}
