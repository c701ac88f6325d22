//! API v3 produce: single records with BINARY, JSON and STRING keys and
//! values, headers and timestamps; and a streamed produce of 10,000 records
//! on one chunked request, read back with an rdkafka consumer.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use support::{assert_error, b64, read_topic, Env};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_produce_single_records() {
    let env = Env::start().await;
    env.create_topic("r", 2).await;
    let id = env.cluster_id().await;
    let h = &env.http;
    let path = format!("/v3/clusters/{id}/topics/r/records");

    let first = json!({
        "partition_id": 1,
        "key": {"type": "BINARY", "data": b64(b"k1")},
        "value": {"type": "JSON", "data": {"x": 1}},
        "headers": [{"name": "h1", "value": b64(b"v1")}, {"name": "h2"}],
        "timestamp": "2021-02-05T19:14:42.123Z",
    });
    let (status, ct, v) = h.post_json(&path, &first).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"), "{v}");
    assert_eq!(
        v,
        json!({
            "error_code": 200,
            "cluster_id": id,
            "topic_name": "r",
            "partition_id": 1,
            "offset": 0,
            "timestamp": "2021-02-05T19:14:42.123Z",
            "key": {"type": "BINARY", "size": 2},
            "value": {"type": "JSON", "size": 7},
        })
    );
    let (status, _, v) = h
        .post_json(
            &path,
            &json!({"partition_id": 1, "value": {"type": "STRING", "data": "héllo"}}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["offset"], 1);
    assert!(v.get("key").is_none(), "no key, no key field: {v}");
    assert_eq!(v["value"], json!({"type": "STRING", "size": 6}));
    assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));

    let read = read_topic(&env.bootstrap, "r", 2, 2).await;
    assert_eq!(read[0].partition, 1);
    assert_eq!(read[0].key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(read[0].value.as_deref(), Some(&br#"{"x":1}"#[..]));
    assert_eq!(
        read[0].headers,
        vec![
            ("h1".to_string(), Some(b"v1".to_vec())),
            ("h2".to_string(), None)
        ]
    );
    assert_eq!(read[0].timestamp, Some(1_612_552_482_123));
    assert_eq!(
        (read[1].key.as_deref(), read[1].value.as_deref()),
        (None, Some("héllo".as_bytes()))
    );

    // Bad records are answered one by one; the rest still goes through.
    let (status, _, v) = h
        .post_json(&path, &json!({"value": {"type": "BINARY", "data": "%%%"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["error_code"], 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("base64"), "{v}");
    let (_, _, v) = h
        .post_json(
            &path,
            &json!({"partition_id": 5, "value": {"type": "STRING", "data": "x"}}),
        )
        .await;
    assert_eq!(v["error_code"], 40402, "{v}");
    let (_, _, v) = h
        .post_json(&path, &json!({"value": {"type": "XML", "data": "x"}}))
        .await;
    assert_eq!(v["error_code"], 400, "{v}");
    let (_, _, v) = h.post_json(&path, &json!({"value": {"data": "x"}})).await;
    // No type means the subject's latest schema; there is no registry here.
    assert_eq!(v["error_code"], 40801, "a value without a type: {v}");
    assert_error(&h.post(&path, "text/plain", &first).await, 415, 415);
    assert_error(
        &h.post_json(&format!("/v3/clusters/{id}/topics/nope/records"), &first)
            .await,
        404,
        40403,
    );
    assert_error(
        &h.post_json("/v3/clusters/other/topics/r/records", &first)
            .await,
        404,
        404,
    );
    // Nothing of the refused ones was written.
    let (_, _, v) = h.get("/topics/r/partitions/1/offsets").await;
    assert_eq!(v["end_offset"], 2);
    env.shutdown().await;
}

/// Send `body` as a chunked HTTP/1.1 request in pieces of `chunk` bytes (so
/// JSON objects straddle chunk boundaries), return the decoded answer body.
async fn post_chunked(base: &str, path: &str, body: &[u8], chunk: usize) -> (u16, Vec<u8>) {
    let addr = base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let (mut rd, mut wr) = stream.split();
    let write = async {
        wr.write_all(head.as_bytes()).await.expect("write head");
        for piece in body.chunks(chunk) {
            wr.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .await
                .expect("write");
            wr.write_all(piece).await.expect("write");
            wr.write_all(b"\r\n").await.expect("write");
        }
        wr.write_all(b"0\r\n\r\n").await.expect("write end");
    };
    let read = async {
        let mut raw = Vec::new();
        rd.read_to_end(&mut raw).await.expect("read answer");
        raw
    };
    let ((), raw) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(write, read)
    })
    .await
    .expect("streamed produce within 120 s");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut rest = &raw[split + 4..];
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    if !chunked {
        return (status, rest.to_vec());
    }
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16).unwrap();
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    (status, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_streamed_produce_of_10000_records() {
    const N: usize = 10_000;
    let env = Env::start().await;
    env.create_topic("stream", 3).await;
    let id = env.cluster_id().await;

    let mut body = Vec::new();
    for i in 0..N {
        let record = json!({
            "key": {"type": "STRING", "data": format!("key-{}", i % 17)},
            "value": {"type": "STRING", "data": format!("message-{i}")},
        });
        body.extend_from_slice(record.to_string().as_bytes());
        if i % 3 == 0 {
            body.push(b'\n');
        }
    }
    let (status, answer) = post_chunked(
        &env.proxy_url(),
        &format!("/v3/clusters/{id}/topics/stream/records"),
        &body,
        1000,
    )
    .await;
    assert_eq!(status, 200);
    let results: Vec<Value> = serde_json::Deserializer::from_slice(&answer)
        .into_iter::<Value>()
        .map(|r| r.expect("answer is JSON objects"))
        .collect();
    assert_eq!(results.len(), N, "one answer per record");

    // Every record acknowledged once; offsets per partition 0, 1, 2, ... in request order.
    let mut next: HashMap<i64, i64> = HashMap::new();
    let mut where_: Vec<(i32, i64)> = Vec::with_capacity(N);
    let mut key_partition: HashMap<usize, i64> = HashMap::new();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["error_code"], 200, "record {i}: {r}");
        let p = r["partition_id"].as_i64().unwrap();
        let off = r["offset"].as_i64().unwrap();
        let expected = next.entry(p).or_insert(0);
        assert_eq!(off, *expected, "record {i} in partition {p}");
        *expected += 1;
        assert_eq!(
            *key_partition.entry(i % 17).or_insert(p),
            p,
            "key of record {i}"
        );
        where_.push((p as i32, off));
    }
    assert_eq!(next.values().sum::<i64>(), N as i64);

    // Read back: exactly N records, each where its answer said, in order.
    let read = read_topic(&env.bootstrap, "stream", 3, N).await;
    let at: HashMap<(i32, i64), &support::Read> =
        read.iter().map(|r| ((r.partition, r.offset), r)).collect();
    assert_eq!(at.len(), N, "no duplicates");
    for (i, w) in where_.iter().enumerate() {
        let r = at[w];
        assert_eq!(r.value.as_deref(), Some(format!("message-{i}").as_bytes()));
        assert_eq!(r.key.as_deref(), Some(format!("key-{}", i % 17).as_bytes()));
    }

    // A body cut off mid-object: the records before it go through, then one error.
    let mut cut = json!({"value": {"type": "STRING", "data": "whole"}})
        .to_string()
        .into_bytes();
    cut.extend_from_slice(br#"{"value": {"type": "STRING", "da"#);
    let (status, answer) = post_chunked(
        &env.proxy_url(),
        &format!("/v3/clusters/{id}/topics/stream/records"),
        &cut,
        7,
    )
    .await;
    assert_eq!(status, 200);
    let results: Vec<Value> = serde_json::Deserializer::from_slice(&answer)
        .into_iter::<Value>()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0]["error_code"], 200);
    assert_eq!(results[1]["error_code"], 400);
    env.shutdown().await;
}
