//! The JDBC source and sink connectors against a real PostgreSQL (started by
//! the test, see `support/postgres.rs`) and SQLite, with a real broker and
//! a standalone worker using the JsonConverter with schemas.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use strom_connect::{RunningWorker, WorkerConfig};
use support::postgres::Postgres;
use support::{wait_until, Env, Http};

async fn worker(env: &Env, offsets: &str) -> RunningWorker {
    let mut p = env.standalone_props(&env.path(offsets));
    for (k, v) in [
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("key.converter.schemas.enable", "true"),
        ("value.converter.schemas.enable", "true"),
    ] {
        p.insert(k.into(), v.into());
    }
    let config = WorkerConfig::from_properties("standalone", p).expect("worker config");
    strom_connect::start(config, Vec::new())
        .await
        .expect("worker starts")
}

async fn create(http: &Http, name: &str, config: Value) {
    let mut config = config;
    config["name"] = json!(name);
    let (code, body) = http
        .post("/connectors", &json!({"name": name, "config": config}))
        .await;
    assert_eq!(code, 201, "creating {name}: {body}");
}

/// The JSON payloads of a topic's first `n` records.
async fn payloads(env: &Env, topic: &str, n: usize) -> Vec<Value> {
    env.read_topic(topic, n)
        .await
        .iter()
        .map(|v| serde_json::from_str::<Value>(v).expect("JSON value")["payload"].clone())
        .collect()
}

async fn pg_count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .map(|r| r.get::<i64, _>(0))
        .unwrap_or(-1)
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn json_record(schema: &Value, payload: &Value) -> String {
    json!({"schema": schema, "payload": payload}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sources_pick_up_inserts_and_updates_and_resume() {
    let pg = Postgres::start();
    let db = pg.database("shop").await;
    exec(
        &db,
        "CREATE TABLE accounts (id SERIAL PRIMARY KEY, name TEXT NOT NULL, \
         balance NUMERIC(10,2), opened DATE, \
         updated_at TIMESTAMP NOT NULL DEFAULT clock_timestamp())",
    )
    .await;
    exec(
        &db,
        "INSERT INTO accounts (name, balance, opened) VALUES \
         ('ann', 10.50, '2026-01-02'), ('bob', NULL, NULL), ('cy', -3.25, '1969-12-31')",
    )
    .await;
    let env = Env::start().await;
    let w = worker(&env, "offsets-1").await;
    let http = Http::new(&w);
    let url = pg.jdbc_url("shop");
    create(
        &http,
        "inc",
        json!({"connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
               "connection.url": url, "mode": "incrementing",
               "incrementing.column.name": "id", "table.whitelist": "accounts",
               "topic.prefix": "inc-", "poll.interval.ms": "100"}),
    )
    .await;
    create(
        &http,
        "tsinc",
        json!({"connector.class": "JdbcSourceConnector",
               "connection.url": url, "mode": "timestamp+incrementing",
               "incrementing.column.name": "id", "timestamp.column.name": "updated_at",
               "table.include.list": "public.accounts",
               "topic.prefix": "tsinc-", "poll.interval.ms": "100"}),
    )
    .await;
    http.wait_status("inc", "RUNNING", 1, "RUNNING").await;

    let rows = payloads(&env, "inc-accounts", 3).await;
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["name"], "ann");
    // NUMERIC(10,2) is a Decimal (base64 of the unscaled two's complement 1050).
    assert_eq!(rows[0]["balance"], "BBo=");
    assert_eq!(rows[0]["opened"], 20455);
    assert_eq!(rows[1]["balance"], Value::Null);
    assert_eq!(rows[2]["opened"], -1);
    let record: Value = serde_json::from_str(&env.read_topic("inc-accounts", 1).await[0]).unwrap();
    let fields = record["schema"]["fields"].as_array().unwrap();
    let field = |n: &str| fields.iter().find(|f| f["field"] == n).unwrap().clone();
    assert_eq!(record["schema"]["name"], "accounts");
    assert_eq!(field("id")["type"], "int32");
    assert_eq!(field("id")["optional"], false);
    assert_eq!(
        field("balance")["name"],
        "org.apache.kafka.connect.data.Decimal"
    );
    assert_eq!(field("balance")["parameters"]["scale"], "2");
    assert_eq!(field("balance")["optional"], true);
    assert_eq!(
        field("updated_at")["name"],
        "org.apache.kafka.connect.data.Timestamp"
    );
    assert_eq!(payloads(&env, "tsinc-accounts", 3).await.len(), 3);

    // An update shows in the timestamp mode only; an insert in both.
    exec(
        &db,
        "UPDATE accounts SET name = 'bobby', updated_at = clock_timestamp() WHERE id = 2",
    )
    .await;
    exec(&db, "INSERT INTO accounts (name) VALUES ('dee')").await;
    let ts_rows = payloads(&env, "tsinc-accounts", 5).await;
    let names: Vec<&str> = ts_rows
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "bob", "cy", "bobby", "dee"]);
    let inc_rows = payloads(&env, "inc-accounts", 4).await;
    assert_eq!(inc_rows[3]["name"], "dee");

    // A table created while the connector runs is found (table.poll.interval.ms).
    create(
        &http,
        "all",
        json!({"connector.class": "JdbcSourceConnector", "connection.url": url,
               "mode": "bulk", "topic.prefix": "all-", "poll.interval.ms": "60000",
               "table.poll.interval.ms": "200", "tasks.max": "4",
               "catalog.pattern": "sh%"}),
    )
    .await;
    assert_eq!(payloads(&env, "all-accounts", 4).await.len(), 4);
    exec(
        &db,
        "CREATE TABLE late (id INT PRIMARY KEY, v TEXT NOT NULL)",
    )
    .await;
    exec(&db, "INSERT INTO late VALUES (7, 'seven')").await;
    let late = payloads(&env, "all-late", 1).await;
    assert_eq!(late[0], json!({"id": 7, "v": "seven"}));
    http.wait_status("all", "RUNNING", 2, "RUNNING").await;
    let (code, _) = http.delete("/connectors/all").await;
    assert_eq!(code, 204);

    // Offsets: a restarted worker goes on after the last row it delivered.
    let (code, offsets) = http.get("/connectors/inc/offsets").await;
    assert_eq!(code, 200);
    assert_eq!(
        offsets["offsets"][0]["partition"],
        json!({"protocol": "1", "table": "public.accounts"})
    );
    assert_eq!(offsets["offsets"][0]["offset"], json!({"incrementing": 4}));
    w.shutdown().await.expect("worker stops");
    exec(&db, "INSERT INTO accounts (name) VALUES ('eve')").await;
    let w = worker(&env, "offsets-1").await;
    let http = Http::new(&w);
    for name in ["inc", "tsinc"] {
        let (code, body) = http.get(&format!("/connectors/{name}")).await;
        assert_eq!(code, 404, "standalone connectors are posted again: {body}");
    }
    create(
        &http,
        "inc",
        json!({"connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
               "connection.url": url, "mode": "incrementing",
               "incrementing.column.name": "id", "table.whitelist": "accounts",
               "topic.prefix": "inc-", "poll.interval.ms": "100"}),
    )
    .await;
    let rows = payloads(&env, "inc-accounts", 5).await;
    assert_eq!(rows[4]["name"], "eve");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.topic_end("inc-accounts").await,
        5,
        "nothing delivered twice"
    );
    w.shutdown().await.expect("worker stops");
    env.shutdown().await;
}

fn order_schema(with_note: bool) -> Value {
    let mut fields = vec![
        json!({"field": "id", "type": "int32", "optional": false}),
        json!({"field": "item", "type": "string", "optional": false}),
        json!({"field": "qty", "type": "int64", "optional": true}),
        json!({"field": "price", "type": "bytes", "optional": true,
               "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
               "parameters": {"scale": "2"}}),
        json!({"field": "at", "type": "int64", "optional": false,
               "name": "org.apache.kafka.connect.data.Timestamp", "version": 1}),
    ];
    if with_note {
        fields.push(json!({"field": "note", "type": "string", "optional": true}));
    }
    json!({"type": "struct", "name": "order", "optional": false, "fields": fields})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sink_upserts_into_an_auto_created_table_and_evolves_it() {
    let pg = Postgres::start();
    let db = pg.database("sink").await;
    let env = Env::start().await;
    env.create_topic("orders", 1).await;
    env.create_topic("people", 1).await;
    let w = worker(&env, "offsets-2").await;
    let http = Http::new(&w);
    let url = pg.jdbc_url("sink");
    create(
        &http,
        "orders-sink",
        json!({"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
               "connection.url": url, "topics": "orders",
               "insert.mode": "upsert", "pk.mode": "record_value", "pk.fields": "id",
               "auto.create": "true", "auto.evolve": "true",
               "table.name.format": "kafka_${topic}"}),
    )
    .await;
    let s = order_schema(false);
    // 12.34 at scale 2 is 1234 = 0x04d2.
    let o1 = json_record(
        &s,
        &json!({"id": 1, "item": "pen", "qty": 2, "price": "BNI=", "at": 1_700_000_000_123i64}),
    );
    let o2 = json_record(
        &s,
        &json!({"id": 2, "item": "ink", "qty": null, "price": null, "at": 0}),
    );
    let o1b = json_record(
        &s,
        &json!({"id": 1, "item": "pen", "qty": 5, "price": "BNI=", "at": 1_700_000_000_123i64}),
    );
    env.produce(
        "orders",
        &[(None, Some(&o1)), (None, Some(&o2)), (None, Some(&o1b))],
    )
    .await;
    wait_until("two rows, the first updated", || async {
        pg_count(&db, "SELECT count(*) FROM kafka_orders").await == 2
            && pg_count(&db, "SELECT qty FROM kafka_orders WHERE id = 1").await == 5
    })
    .await;
    let row = sqlx::query("SELECT item, price::text, at::text FROM kafka_orders WHERE id = 1")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "pen");
    assert_eq!(row.get::<String, _>(1), "12.34");
    assert_eq!(row.get::<String, _>(2), "2023-11-14 22:13:20.123");
    let pk: Vec<String> = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
         ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
         WHERE i.indrelid = 'kafka_orders'::regclass AND i.indisprimary",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(pk, ["id"]);
    let nullable: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_name = 'kafka_orders' ORDER BY ordinal_position",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        nullable,
        [
            ("id", "NO"),
            ("item", "NO"),
            ("qty", "YES"),
            ("price", "YES"),
            ("at", "NO")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );

    // A new optional field: auto.evolve adds the column.
    let s2 = order_schema(true);
    let o3 = json_record(
        &s2,
        &json!({"id": 3, "item": "pad", "qty": 1, "price": null, "at": 0, "note": "rush"}),
    );
    env.produce("orders", &[(None, Some(&o3))]).await;
    wait_until("the evolved row", || async {
        pg_count(&db, "SELECT count(*) FROM kafka_orders WHERE note = 'rush'").await == 1
    })
    .await;
    assert_eq!(
        pg_count(&db, "SELECT count(*) FROM kafka_orders WHERE note IS NULL").await,
        2
    );

    // record_key with a primitive key, and deletes by tombstone.
    create(
        &http,
        "people-sink",
        json!({"connector.class": "JdbcSink", "connection.url": url, "topics": "people",
               "insert.mode": "upsert", "pk.mode": "record_key", "pk.fields": "person_id",
               "delete.enabled": "true", "auto.create": "true"}),
    )
    .await;
    let ks = json!({"type": "int64", "optional": false});
    let vs = json!({"type": "struct", "optional": true, "fields": [
        {"field": "name", "type": "string", "optional": true}]});
    let k1 = json_record(&ks, &json!(1));
    let k2 = json_record(&ks, &json!(2));
    let v1 = json_record(&vs, &json!({"name": "ann"}));
    let v2 = json_record(&vs, &json!({"name": "bob"}));
    env.produce(
        "people",
        &[
            (Some(&k1), Some(&v1)),
            (Some(&k2), Some(&v2)),
            (Some(&k1), None),
        ],
    )
    .await;
    wait_until("bob only", || async {
        pg_count(&db, "SELECT count(*) FROM people").await == 1
            && pg_count(&db, "SELECT person_id FROM people WHERE name = 'bob'").await == 2
    })
    .await;
    // An existing view is written to only when table.types includes VIEW.
    exec(&db, "CREATE VIEW orders_view AS SELECT * FROM kafka_orders").await;
    create(
        &http,
        "view-sink",
        json!({"connector.class": "JdbcSinkConnector", "connection.url": url,
               "topics": "orders", "table.name.format": "orders_view", "max.retries": "0"}),
    )
    .await;
    let failed = http.wait_status("view-sink", "RUNNING", 1, "FAILED").await;
    let trace = failed["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("\"orders_view\" is a VIEW, and table.types does not include VIEW"),
        "{failed}"
    );
    let status = http
        .wait_status("orders-sink", "RUNNING", 1, "RUNNING")
        .await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING");
    w.shutdown().await.expect("worker stops");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_source_to_sink_round_trip() {
    let env = Env::start().await;
    let src = env.path("src.db");
    let dst = env.path("dst.db");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", src.display()))
            .await
            .unwrap();
        for sql in [
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, kind VARCHAR(20) NOT NULL, \
             amount DECIMAL(8,3), seen TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, flag BOOLEAN)",
            "INSERT INTO events (kind, amount, flag) VALUES ('a', 1.5, 1), ('b', NULL, 0), ('c', 2.125, NULL)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    env.create_topic("lite-events", 1).await;
    let w = worker(&env, "offsets-3").await;
    let http = Http::new(&w);
    create(
        &http,
        "sqlite-source",
        json!({"connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
               "connection.url": format!("jdbc:sqlite:{}", src.display()),
               "mode": "incrementing", "incrementing.column.name": "id",
               "topic.prefix": "lite-", "poll.interval.ms": "100"}),
    )
    .await;
    create(
        &http,
        "sqlite-sink",
        json!({"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
               "connection.url": format!("jdbc:sqlite:{}", dst.display()),
               "topics": "lite-events", "auto.create": "true",
               "insert.mode": "upsert", "pk.mode": "record_value", "pk.fields": "id"}),
    )
    .await;
    let rows = payloads(&env, "lite-events", 3).await;
    assert_eq!(rows[0]["kind"], "a");
    assert_eq!(rows[0]["flag"], true);
    // DECIMAL(8,3) 1.5 is 1500 = 0x05dc.
    assert_eq!(rows[0]["amount"], "Bdw=");
    wait_until("three rows copied", || async {
        let Ok(pool) = sqlx::SqlitePool::connect(&format!("sqlite://{}", dst.display())).await
        else {
            return false;
        };
        let n: Result<i64, _> = sqlx::query_scalar("SELECT count(*) FROM \"lite-events\"")
            .fetch_one(&pool)
            .await;
        pool.close().await;
        n.is_ok_and(|n| n == 3)
    })
    .await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dst.display()))
        .await
        .unwrap();
    let copied: Vec<(i64, String, Option<f64>, Option<bool>)> =
        sqlx::query_as("SELECT id, kind, amount, flag FROM \"lite-events\" ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        copied,
        vec![
            (1, "a".into(), Some(1.5), Some(true)),
            (2, "b".into(), None, Some(false)),
            (3, "c".into(), Some(2.125), None)
        ]
    );
    pool.close().await;
    w.shutdown().await.expect("worker stops");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_is_retried_without_loss_or_duplicates() {
    let mut pg = Postgres::start();
    let db = pg.database("outage").await;
    exec(
        &db,
        "CREATE TABLE src (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)",
    )
    .await;
    exec(
        &db,
        "INSERT INTO src (v) SELECT 'row-' || g FROM generate_series(1, 10) g",
    )
    .await;
    let env = Env::start().await;
    env.create_topic("sink-in", 1).await;
    let w = worker(&env, "offsets-4").await;
    let http = Http::new(&w);
    let url = pg.jdbc_url("outage");
    create(
        &http,
        "src",
        json!({"connector.class": "JdbcSourceConnector", "connection.url": url,
               "mode": "incrementing", "incrementing.column.name": "id",
               "table.whitelist": "src", "topic.prefix": "out-", "poll.interval.ms": "100"}),
    )
    .await;
    // pk.mode=kafka with plain INSERTs: a record written twice would break the key.
    create(
        &http,
        "sink",
        json!({"connector.class": "JdbcSinkConnector", "connection.url": url,
               "topics": "sink-in", "pk.mode": "kafka", "auto.create": "true",
               "batch.size": "7", "max.retries": "1000", "retry.backoff.ms": "200"}),
    )
    .await;
    let s = json!({"type": "struct", "optional": false, "fields": [
        {"field": "n", "type": "int32", "optional": false}]});
    let batch = |from: i32, to: i32| -> Vec<String> {
        (from..to)
            .map(|n| json_record(&s, &json!({"n": n})))
            .collect()
    };
    let first = batch(0, 10);
    let recs: Vec<(Option<&str>, Option<&str>)> =
        first.iter().map(|v| (None, Some(v.as_str()))).collect();
    env.produce("sink-in", &recs).await;
    assert_eq!(payloads(&env, "out-src", 10).await.len(), 10);
    wait_until("ten sink rows", || async {
        pg_count(&db, "SELECT count(*) FROM \"sink-in\"").await == 10
    })
    .await;
    db.close().await;

    pg.stop();
    // A sink started while the database is away waits for it like a failed write.
    create(
        &http,
        "late-sink",
        json!({"connector.class": "JdbcSinkConnector", "connection.url": url,
               "topics": "sink-in", "pk.mode": "kafka", "auto.create": "true",
               "table.name.format": "late", "max.retries": "1000",
               "retry.backoff.ms": "200"}),
    )
    .await;
    let second = batch(10, 30);
    let recs: Vec<(Option<&str>, Option<&str>)> =
        second.iter().map(|v| (None, Some(v.as_str()))).collect();
    env.produce("sink-in", &recs).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for name in ["src", "sink", "late-sink"] {
        let (_, status) = http.get(&format!("/connectors/{name}/status")).await;
        assert_eq!(
            status["tasks"][0]["state"], "RUNNING",
            "{name} keeps running: {status}"
        );
        assert_eq!(status["connector"]["state"], "RUNNING", "{name}: {status}");
    }
    pg.resume();
    let db = pg.pool("outage").await;
    exec(
        &db,
        "INSERT INTO src (v) SELECT 'row-' || g FROM generate_series(11, 20) g",
    )
    .await;
    wait_until("thirty sink rows", || async {
        pg_count(&db, "SELECT count(*) FROM \"sink-in\"").await == 30
    })
    .await;
    assert_eq!(
        pg_count(&db, "SELECT count(DISTINCT n) FROM \"sink-in\"").await,
        30
    );
    wait_until("thirty rows in the late sink's table", || async {
        pg_count(&db, "SELECT count(DISTINCT n) FROM late").await == 30
    })
    .await;
    let rows = payloads(&env, "out-src", 20).await;
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.topic_end("out-src").await, 20, "no row sent twice");
    let (_, status) = http.get("/connectors/sink/status").await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    w.shutdown().await.expect("worker stops");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_configs_are_refused_with_validation_details() {
    let env = Env::start().await;
    let w = worker(&env, "offsets-5").await;
    let http = Http::new(&w);
    let errors_of = |v: &Value, name: &str| -> Vec<String> {
        v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == name)
            .map(|c| {
                c["value"]["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (code, v) = http
        .put(
            "/connector-plugins/JdbcSourceConnector/config/validate",
            &json!({"connector.class": "JdbcSourceConnector", "name": "x",
                    "connection.url": "jdbc:oracle:thin:@db:1521:shop", "mode": "incrementing",
                    "topic.prefix": "p-"}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(v["error_count"], 2, "{v}");
    assert!(
        errors_of(&v, "connection.url")[0].contains("no suitable driver for jdbc:oracle"),
        "{v}"
    );
    assert!(
        errors_of(&v, "incrementing.column.name")[0].contains("required for mode incrementing"),
        "{v}"
    );
    let (code, v2) = http
        .put(
            "/connector-plugins/JdbcSourceConnector/config/validate",
            &json!({"connector.class": "JdbcSourceConnector", "name": "x",
                    "connection.url": "jdbc:sqlite::memory:", "mode": "bulk", "topic.prefix": "p-",
                    "dialect.name": "PostgreSqlDatabaseDialect",
                    "transaction.isolation.mode": "SERIALIZABLE"}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(v2["error_count"], 2, "{v2}");
    assert!(
        errors_of(&v2, "dialect.name")[0].contains("driver speaks SqliteDatabaseDialect"),
        "{v2}"
    );
    assert!(
        errors_of(&v2, "transaction.isolation.mode")[0].contains("only DEFAULT"),
        "{v2}"
    );

    let (code, v) = http
        .post(
            "/connectors",
            &json!({"name": "bad-sink", "config": {"connector.class": "JdbcSinkConnector",
                    "connection.url": "jdbc:sqlite::memory:", "topics": "t",
                    "delete.enabled": "true", "insert.mode": "upsert"}}),
        )
        .await;
    assert_eq!(code, 400, "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("Deletes are only supported for pk.mode record_key"),
        "{msg}"
    );
    assert!(
        msg.contains("insert.mode upsert needs a primary key"),
        "{msg}"
    );
    let (_, list) = http.get("/connectors").await;
    assert_eq!(list, json!([]), "nothing half-created");

    // A database that cannot be reached: the connector fails and says why.
    let closed = support::free_port();
    create(
        &http,
        "unreachable",
        json!({"connector.class": "JdbcSourceConnector",
               "connection.url": format!("jdbc:postgresql://127.0.0.1:{closed}/db"),
               "connection.attempts": "1", "mode": "bulk", "topic.prefix": "u-"}),
    )
    .await;
    let deadline = tokio::time::Instant::now() + support::DEADLINE;
    loop {
        let (_, s) = http.get("/connectors/unreachable/status").await;
        if s["connector"]["state"] == "FAILED" {
            let trace = s["connector"]["trace"].as_str().unwrap_or_default();
            assert!(trace.contains("Could not connect to database"), "{s}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "connector never failed: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    w.shutdown().await.expect("worker stops");
    env.shutdown().await;
}

/// The compose stack's JDBC examples (deploy/examples/jdbc-*.json with
/// postgres-init.sql) as they are, with the database host pointed at the
/// test's PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_deploy_examples_copy_orders_into_orders_copy() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/examples");
    let pg = Postgres::start();
    let db = pg.database("shop").await;
    let init = std::fs::read_to_string(examples.join("postgres-init.sql")).unwrap();
    sqlx::raw_sql(&init)
        .execute(&db)
        .await
        .expect("postgres-init.sql");
    let env = Env::start().await;
    let w = worker(&env, "offsets-6").await;
    let http = Http::new(&w);
    for file in ["jdbc-source.json", "jdbc-sink.json"] {
        let text = std::fs::read_to_string(examples.join(file)).unwrap();
        let text = text.replace("//postgres:5432/", &format!("//127.0.0.1:{}/", pg.port));
        let body: Value = serde_json::from_str(&text).unwrap();
        let (code, answer) = http.post("/connectors", &body).await;
        assert_eq!(code, 201, "{file}: {answer}");
    }
    wait_until("orders copied", || async {
        pg_count(&db, "SELECT count(*) FROM orders_copy").await == 3
    })
    .await;
    let copied: Vec<(i32, String, String)> =
        sqlx::query_as("SELECT id, customer, amount::text FROM orders_copy ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        copied,
        [
            (1, "ada", "12.50"),
            (2, "grace", "99.00"),
            (3, "linus", "7.25")
        ]
        .map(|(i, c, a)| (i, c.to_string(), a.to_string()))
    );
    w.shutdown().await.expect("worker stops");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_source_and_sink() {
    use support::mysql::MariaDb;
    let maria = MariaDb::start();
    let db = maria.database("shop").await;
    let my = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query(sql)
                .execute(&db)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    };
    my(
        "CREATE TABLE accounts (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, \
        name VARCHAR(50) NOT NULL, balance DECIMAL(10,2), active TINYINT(1), \
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))",
    )
    .await;
    my("INSERT INTO accounts (name, balance, active) VALUES \
        ('ann', 10.50, 1), ('bob', NULL, 0), ('cy', -3.25, NULL)")
    .await;
    let env = Env::start().await;
    env.create_topic("orders", 1).await;
    let w = worker(&env, "offsets-7").await;
    let http = Http::new(&w);
    let url = maria.jdbc_url("shop");
    create(
        &http,
        "my-source",
        json!({"connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
               "connection.url": url, "mode": "timestamp+incrementing",
               "incrementing.column.name": "id", "timestamp.column.name": "updated_at",
               "table.whitelist": "accounts", "topic.prefix": "my-",
               "poll.interval.ms": "100"}),
    )
    .await;
    let rows = payloads(&env, "my-accounts", 3).await;
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["name"], "ann");
    assert_eq!(rows[0]["balance"], "BBo=");
    assert_eq!(rows[0]["active"], true);
    assert_eq!(rows[2]["active"], Value::Null);
    my("UPDATE accounts SET name = 'bobby', updated_at = CURRENT_TIMESTAMP(3) + INTERVAL 1 SECOND WHERE id = 2").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rows = payloads(&env, "my-accounts", 4).await;
    assert_eq!(rows[3]["name"], "bobby");

    create(
        &http,
        "my-sink",
        json!({"connector.class": "JdbcSinkConnector", "connection.url": url,
               "topics": "orders", "insert.mode": "upsert", "pk.mode": "record_value",
               "pk.fields": "id", "auto.create": "true", "auto.evolve": "true"}),
    )
    .await;
    let s = order_schema(false);
    let o1 = json_record(
        &s,
        &json!({"id": 1, "item": "pen", "qty": 2, "price": "BNI=", "at": 1_700_000_000_123i64}),
    );
    let o1b = json_record(
        &s,
        &json!({"id": 1, "item": "pen", "qty": 5, "price": "BNI=", "at": 1_700_000_000_123i64}),
    );
    let o2 = json_record(
        &order_schema(true),
        &json!({"id": 2, "item": "ink", "qty": null, "price": null, "at": 0, "note": "rush"}),
    );
    env.produce(
        "orders",
        &[(None, Some(&o1)), (None, Some(&o1b)), (None, Some(&o2))],
    )
    .await;
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&db)
                .await
                .unwrap_or(-1)
        }
    };
    wait_until("two orders, one updated, one with a note", || async {
        count("SELECT count(*) FROM orders").await == 2
            && count("SELECT qty FROM orders WHERE id = 1").await == 5
            && count("SELECT count(*) FROM orders WHERE note = 'rush'").await == 1
    })
    .await;
    let (price, at): (String, String) =
        sqlx::query_as("SELECT CAST(price AS CHAR), CAST(`at` AS CHAR) FROM orders WHERE id = 1")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        (price.as_str(), at.as_str()),
        ("12.34", "2023-11-14 22:13:20.123")
    );
    w.shutdown().await.expect("worker stops");
    env.shutdown().await;
}
