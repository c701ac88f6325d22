//! Idempotent producers: librdkafka with `enable.idempotence=true` behind a
//! proxy that drops the connection after the broker appended a batch but
//! before the answer reached the producer. The producer retries the same
//! batches; the broker must answer them as duplicates, so every record is
//! stored exactly once, in order.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use rdkafka::producer::FutureRecord;
use strom_broker::BrokerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

const PRODUCE: i16 = 0;

/// Where the proxy forwards to (changes when the broker restarts on a new port).
type Target = Arc<std::sync::Mutex<std::net::SocketAddr>>;

/// Read one size-prefixed frame (prefix included).
async fn read_frame(s: &mut tokio::net::tcp::OwnedReadHalf) -> Option<Vec<u8>> {
    let mut size = [0u8; 4];
    s.read_exact(&mut size).await.ok()?;
    let n = i32::from_be_bytes(size);
    let mut buf = vec![0u8; 4 + n.max(0) as usize];
    buf[..4].copy_from_slice(&size);
    s.read_exact(&mut buf[4..]).await.ok()?;
    Some(buf)
}

/// A proxy in front of the broker that swallows the answer to the first
/// `drops` Produce requests and cuts the connection instead.
async fn run_proxy(
    listener: TcpListener,
    target: Target,
    drops: Arc<AtomicUsize>,
    dropped: Arc<Notify>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let drops = drops.clone();
        let dropped = dropped.clone();
        let broker = *target.lock().expect("lock");
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(broker).await else {
                return;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let produce_ids = Arc::new(std::sync::Mutex::new(Vec::<i32>::new()));
            let ids = produce_ids.clone();
            let up = tokio::spawn(async move {
                while let Some(frame) = read_frame(&mut cr).await {
                    if frame.len() >= 12 {
                        let api = i16::from_be_bytes([frame[4], frame[5]]);
                        let cid = i32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]);
                        if api == PRODUCE {
                            ids.lock().expect("lock").push(cid);
                        }
                    }
                    if sw.write_all(&frame).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(frame) = read_frame(&mut sr).await {
                let cid = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                let is_produce = produce_ids.lock().expect("lock").contains(&cid);
                if is_produce
                    && drops
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
                        .is_ok()
                {
                    dropped.notify_one();
                    break; // the batch is appended; the producer never hears of it
                }
                if cw.write_all(&frame).await.is_err() {
                    break;
                }
            }
            up.abort();
        });
    }
}

/// A broker on 127.0.0.1 (port picked by the OS) that advertises the proxy.
fn proxied_config(dir: &std::path::Path, proxy_port: u16) -> BrokerConfig {
    let props: BTreeMap<String, String> = [
        ("listeners", "PLAINTEXT://127.0.0.1:0".to_string()),
        (
            "advertised.listeners",
            format!("PLAINTEXT://127.0.0.1:{proxy_port}"),
        ),
        ("log.dirs", dir.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    BrokerConfig::from_properties(props).expect("config")
}

/// A broker behind the connection-cutting proxy.
struct Proxied {
    broker: Option<strom_broker::RunningBroker>,
    dir: tempfile::TempDir,
    proxy_port: u16,
    target: Target,
    /// How many more Produce answers the proxy swallows.
    drops: Arc<AtomicUsize>,
    /// Notified each time the proxy swallowed one.
    dropped: Arc<Notify>,
    bootstrap: String,
}

impl Proxied {
    async fn start(drops: usize) -> Self {
        let proxy = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy_port = proxy.local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("tempdir");
        let broker = strom_broker::start(proxied_config(dir.path(), proxy_port))
            .await
            .expect("start");
        let target = Arc::new(std::sync::Mutex::new(broker.listen_addrs()[0]));
        let drops = Arc::new(AtomicUsize::new(drops));
        let dropped = Arc::new(Notify::new());
        tokio::spawn(run_proxy(
            proxy,
            target.clone(),
            drops.clone(),
            dropped.clone(),
        ));
        Self {
            broker: Some(broker),
            dir,
            proxy_port,
            target,
            drops,
            dropped,
            bootstrap: format!("127.0.0.1:{proxy_port}"),
        }
    }

    /// Stop the broker and start it again on the same data (on a new port).
    async fn restart(&mut self) {
        if let Some(b) = self.broker.take() {
            b.shutdown().await.expect("shutdown");
        }
        let broker = strom_broker::start(proxied_config(self.dir.path(), self.proxy_port))
            .await
            .expect("restart");
        *self.target.lock().expect("lock") = broker.listen_addrs()[0];
        self.broker = Some(broker);
    }

    async fn shutdown(mut self) {
        if let Some(b) = self.broker.take() {
            b.shutdown().await.expect("shutdown");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_batches_after_lost_answers_are_not_duplicated() {
    let proxied = Proxied::start(3).await;
    let bootstrap = proxied.bootstrap.clone();

    let topic = unique_name("idempotent");
    create_topic(&admin(&bootstrap), &topic, 2, &[]).await;
    let producer = producer(
        &bootstrap,
        &[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", "20"),
            ("message.timeout.ms", "60000"),
        ],
    );
    let total = 300;
    let mut deliveries = Vec::new();
    for i in 0..total {
        let key = format!("k{}", i % 7);
        let value = format!("v{i}");
        let queued = producer
            .send_result(FutureRecord::to(&topic).key(&key).payload(&value))
            .map_err(|(e, _)| e)
            .expect("record queued");
        deliveries.push(queued);
        if i % 50 == 49 {
            // Let a few requests go out between bursts so several are cut.
            tokio::task::yield_now().await;
        }
    }
    for d in futures::future::join_all(deliveries).await {
        d.expect("delivery future")
            .expect("every record is acknowledged");
    }
    assert_eq!(
        proxied.drops.load(Ordering::SeqCst),
        0,
        "the proxy cut connections after appends"
    );

    let records = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
    let all: Vec<_> = records.values().flatten().collect();
    assert_eq!(all.len(), total, "each record stored exactly once");
    for msgs in records.values() {
        // Per key (hence per partition), values appear in send order.
        let mut last: BTreeMap<String, usize> = BTreeMap::new();
        for m in msgs {
            let n: usize = payload_str(m)[1..].parse().expect("value number");
            if let Some(prev) = last.insert(key_str(m).to_string(), n) {
                assert!(prev < n, "order kept within a partition: {prev} then {n}");
            }
        }
    }
    proxied.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_broker_restart_is_still_a_duplicate() {
    let mut proxied = Proxied::start(0).await;
    let bootstrap = proxied.bootstrap.clone();
    let topic = unique_name("idempotent-restart");
    create_topic(&admin(&bootstrap), &topic, 1, &[]).await;
    let producer = producer(
        &bootstrap,
        &[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("message.timeout.ms", "60000"),
        ],
    );
    produce_one(&producer, &topic, "k", "first").await;
    // The next answer is lost; the broker restarts before the producer retries.
    proxied.drops.store(1, Ordering::SeqCst);
    let pending = producer
        .send_result(FutureRecord::to(&topic).key("k").payload("retried"))
        .map_err(|(e, _)| e)
        .expect("queued");
    tokio::time::timeout(STEP_TIMEOUT, proxied.dropped.notified())
        .await
        .expect("the proxy swallowed an answer");
    proxied.restart().await;
    let delivery = pending
        .await
        .expect("delivery future")
        .expect("retried record acknowledged");
    let (partition, offset) = (delivery.partition, delivery.offset);
    assert_eq!(
        (partition, offset),
        (0, 1),
        "the retry gets the original offset"
    );
    let records = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
    let values: Vec<&str> = records[&0].iter().map(payload_str).collect();
    assert_eq!(values, ["first", "retried"], "stored exactly once");
    proxied.shutdown().await;
}
