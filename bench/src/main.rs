//! `strom-bench`: the load generator behind `bench/run.sh`.
//!
//! It speaks to any Kafka-compatible broker through librdkafka, so the same
//! program measures Strom and Apache Kafka. Each subcommand prints one JSON
//! object on stdout with its measurements:
//!
//! - `produce`: N records from P concurrent producers → records/s and MB/s.
//! - `consume`: read N records of a topic from the beginning → records/s, MB/s.
//! - `latency`: produce at a fixed rate while a consumer reads; the time from
//!   send to receipt of every record goes into an HDR histogram → p50/p99/p99.9.
//! - `startup`: start a broker command, produce until the first record is
//!   acknowledged → milliseconds from spawn to that acknowledgement.
//!
//! Kafka's own `kafka-producer-perf-test` and `kafka-consumer-perf-test` are run
//! by `bench/run.py` next to these; this program covers what those tools do not
//! (many producers in one process, a latency histogram at a fixed rate, start-up).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "strom-bench", about = "Load generator for Strom's benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Produce records as fast as the broker takes them.
    Produce(ProduceArgs),
    /// Read a topic from the beginning.
    Consume(ConsumeArgs),
    /// End-to-end latency at a fixed rate.
    Latency(LatencyArgs),
    /// Time from starting a broker to its first acknowledged record.
    Startup(StartupArgs),
}

#[derive(Debug, Args)]
struct Common {
    /// bootstrap.servers
    #[arg(long)]
    bootstrap: String,
    /// Topic to use (must exist, except for `startup`).
    #[arg(long)]
    topic: String,
    /// Extra librdkafka properties, `key=value`.
    #[arg(long = "prop", value_parser = parse_kv)]
    props: Vec<(String, String)>,
}

#[derive(Debug, Args)]
struct ProduceArgs {
    #[command(flatten)]
    common: Common,
    /// Records in all (split evenly over the producers).
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 1024)]
    record_size: usize,
    /// Concurrent producers (one librdkafka client and thread each).
    #[arg(long, default_value_t = 1)]
    producers: u32,
    /// acks: 0, 1 or all.
    #[arg(long, default_value = "1")]
    acks: String,
    /// compression.type
    #[arg(long, default_value = "none")]
    compression: String,
}

#[derive(Debug, Args)]
struct ConsumeArgs {
    #[command(flatten)]
    common: Common,
    /// Records to read before stopping.
    #[arg(long)]
    records: u64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

#[derive(Debug, Args)]
struct LatencyArgs {
    #[command(flatten)]
    common: Common,
    /// Records per second.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of measurement (after a one-second warm-up).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Value size in bytes (at least 8).
    #[arg(long, default_value_t = 1024)]
    record_size: usize,
    /// acks: 0, 1 or all.
    #[arg(long, default_value = "all")]
    acks: String,
}

#[derive(Debug, Args)]
struct StartupArgs {
    /// Topic to produce the first record to (auto-created by the broker).
    #[arg(long, default_value = "startup-probe")]
    topic: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// The broker command; it must print `listening on HOST:PORT` on stdout.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected key=value, got {s:?}"))
}

fn client_config(bootstrap: &str, props: &[(String, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (k, v) in props {
        config.set(k, v);
    }
    config
}

/// Counts acknowledgements and failures of one producer (shared with the
/// thread that reads the counts).
#[derive(Clone, Default)]
struct Counting(Arc<Counts>);

#[derive(Default)]
struct Counts {
    acked: AtomicU64,
    failed: AtomicU64,
}

impl std::ops::Deref for Counting {
    type Target = Counts;
    fn deref(&self) -> &Counts {
        &self.0
    }
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Each producer's queue is bounded like the Java producer's default
/// `buffer.memory` (32 MiB) unless `--prop` sets it. librdkafka's own default
/// (1 GiB or 100 000 records) let 16 producers queue most of a 2 GB run, so
/// the run measured the client allocating 1.7 GB of fresh memory.
const QUEUE_BOUND: &str = "queue.buffering.max.kbytes";
const JAVA_BUFFER_MEMORY_KIB: &str = "32768";

fn produce(args: ProduceArgs) -> Result<serde_json::Value> {
    let per_producer = args.records / u64::from(args.producers.max(1));
    let total = per_producer * u64::from(args.producers.max(1));
    let value = vec![b'x'; args.record_size];
    let start = Instant::now();
    let handles: Vec<_> = (0..args.producers.max(1))
        .map(|_| {
            let mut config = client_config(&args.common.bootstrap, &args.common.props);
            if config.get(QUEUE_BOUND).is_none() {
                config.set(QUEUE_BOUND, JAVA_BUFFER_MEMORY_KIB);
            }
            config
                .set("acks", &args.acks)
                .set("compression.type", &args.compression)
                .set("enable.idempotence", "false");
            let topic = args.common.topic.clone();
            let value = value.clone();
            thread::spawn(move || -> Result<(u64, u64)> {
                let counting = Counting::default();
                let producer: BaseProducer<Counting> =
                    config.create_with_context(counting.clone())?;
                for _ in 0..per_producer {
                    let mut record = BaseRecord::to(&topic).payload(&value[..]).key(&[][..]);
                    let mut served = false;
                    loop {
                        match producer.send(record) {
                            Ok(()) => break,
                            Err((
                                KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                                r,
                            )) => {
                                record = r;
                                // The queue frees room as delivery reports are
                                // served. Serve what is there; if that was not
                                // enough, sleep instead of polling with a
                                // timeout: rdkafka's poll keeps polling until
                                // its deadline and, under a millisecond left,
                                // polls with 0 ms, which spins a core.
                                if served {
                                    thread::sleep(Duration::from_micros(500));
                                }
                                producer.poll(Duration::ZERO);
                                served = true;
                            }
                            Err((e, _)) => return Err(e.into()),
                        }
                    }
                    producer.poll(Duration::ZERO);
                }
                producer.flush(Duration::from_secs(120))?;
                Ok((
                    counting.acked.load(Ordering::Relaxed),
                    counting.failed.load(Ordering::Relaxed),
                ))
            })
        })
        .collect();
    let mut acked = 0;
    let mut failed = 0;
    for h in handles {
        let (a, f) = h
            .join()
            .map_err(|_| anyhow::anyhow!("producer thread panicked"))??;
        acked += a;
        failed += f;
    }
    let secs = start.elapsed().as_secs_f64();
    if failed > 0 || acked != total {
        bail!("{failed} of {total} records failed ({acked} acknowledged)");
    }
    Ok(json!({
        "records": total,
        "seconds": secs,
        "records_per_sec": total as f64 / secs,
        "mb_per_sec": (total as f64 * args.record_size as f64) / secs / 1_048_576.0,
    }))
}

fn assign_all(consumer: &BaseConsumer, topic: &str) -> Result<()> {
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(30))?;
    let t = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .context("topic not in metadata")?;
    if t.partitions().is_empty() {
        bail!("topic {topic} has no partitions (does it exist?)");
    }
    let mut tpl = TopicPartitionList::new();
    for p in t.partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    Ok(())
}

fn consume(args: ConsumeArgs) -> Result<serde_json::Value> {
    let mut config = client_config(&args.common.bootstrap, &args.common.props);
    config
        .set("group.id", "strom-bench")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer = config.create()?;
    let start = Instant::now();
    assign_all(&consumer, &args.common.topic)?;
    let deadline = start + Duration::from_secs(args.timeout_secs);
    let (mut records, mut bytes) = (0u64, 0u64);
    while records < args.records {
        if Instant::now() > deadline {
            bail!(
                "read {records} of {} records in {}s",
                args.records,
                args.timeout_secs
            );
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                records += 1;
                bytes += m.payload_len() as u64;
            }
            Some(Err(e)) => bail!("consumer error: {e}"),
            None => {}
        }
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(json!({
        "records": records,
        "seconds": secs,
        "records_per_sec": records as f64 / secs,
        "mb_per_sec": bytes as f64 / secs / 1_048_576.0,
    }))
}

fn latency(args: LatencyArgs) -> Result<serde_json::Value> {
    if args.record_size < 8 {
        bail!("--record-size must be at least 8");
    }
    let topic = args.common.topic.clone();
    let mut cconfig = client_config(&args.common.bootstrap, &args.common.props);
    cconfig
        .set("group.id", "strom-bench-latency")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "latest")
        .set("fetch.wait.max.ms", "500");
    let consumer: BaseConsumer = cconfig.create()?;
    let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(30))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().iter().map(|p| p.id()).collect())
        .unwrap_or_default();
    if partitions.is_empty() {
        bail!("topic {topic} has no partitions (does it exist?)");
    }
    // Start every partition at its current end, as an explicit offset, so no
    // record produced from now on is missed.
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        let (_, high) = consumer.fetch_watermarks(&topic, *p, Duration::from_secs(30))?;
        tpl.add_partition_offset(&topic, *p, Offset::Offset(high))?;
    }
    consumer.assign(&tpl)?;

    let base = Instant::now();
    let warmup = Duration::from_secs(1);
    let measure = Duration::from_secs(args.seconds);
    let total = args.rate * (args.seconds + 1);

    let mut pconfig = client_config(&args.common.bootstrap, &args.common.props);
    pconfig
        .set("acks", &args.acks)
        .set("linger.ms", "0")
        .set("enable.idempotence", "false");
    let producer: BaseProducer = pconfig.create()?;
    let size = args.record_size;
    let rate = args.rate;
    let producer_thread = thread::spawn(move || -> Result<()> {
        let mut value = vec![b'x'; size];
        for i in 0..total {
            let due = Duration::from_nanos(i * 1_000_000_000 / rate);
            while base.elapsed() < due {
                producer.poll(Duration::ZERO);
                let left = due.saturating_sub(base.elapsed());
                if left > Duration::from_micros(200) {
                    thread::sleep(left - Duration::from_micros(100));
                }
            }
            let now = base.elapsed().as_nanos() as u64;
            value[..8].copy_from_slice(&now.to_le_bytes());
            let key = (i as u32).to_le_bytes();
            let record = BaseRecord::to(&topic).payload(&value[..]).key(&key[..]);
            producer.send(record).map_err(|(e, _)| e)?;
            producer.poll(Duration::ZERO);
        }
        producer.flush(Duration::from_secs(60))?;
        Ok(())
    });

    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut received = 0u64;
    let deadline = warmup + measure + Duration::from_secs(30);
    while received < total {
        if base.elapsed() > deadline {
            bail!("received {received} of {total} records");
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let now = base.elapsed().as_nanos() as u64;
                let payload = m.payload().context("record without value")?;
                let sent_at = u64::from_le_bytes(payload[..8].try_into()?);
                received += 1;
                if Duration::from_nanos(sent_at) >= warmup {
                    hist.record(((now.saturating_sub(sent_at)) / 1000).max(1))?;
                }
            }
            Some(Err(e)) => bail!("consumer error: {e}"),
            None => {}
        }
    }
    producer_thread
        .join()
        .map_err(|_| anyhow::anyhow!("producer thread panicked"))??;
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok(json!({
        "records": hist.len(),
        "rate": args.rate,
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "p999_ms": ms(0.999),
        "max_ms": hist.max() as f64 / 1000.0,
        "mean_ms": hist.mean() / 1000.0,
    }))
}

fn startup(args: StartupArgs) -> Result<serde_json::Value> {
    let start = Instant::now();
    let mut child = Command::new(&args.command[0])
        .args(&args.command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {:?}", args.command))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let bootstrap = loop {
        let line = lines
            .next()
            .context("the broker exited before printing `listening on`")??;
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    let listening_ms = start.elapsed().as_secs_f64() * 1000.0;
    // Keep draining the child's stdout so it never blocks on a full pipe.
    thread::spawn(move || for _ in lines {});

    let counting = Counting::default();
    let producer: BaseProducer<Counting> = client_config(&bootstrap, &[])
        .set("acks", "all")
        .set("linger.ms", "0")
        .set("message.timeout.ms", "2000")
        .create_with_context(counting.clone())?;
    let deadline = start + Duration::from_secs(args.timeout_secs);
    let result = loop {
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!(
                "no record acknowledged in {}s",
                args.timeout_secs
            ));
        }
        producer
            .send(BaseRecord::<(), [u8]>::to(&args.topic).payload(&b"probe"[..]))
            .map_err(|(e, _)| e)?;
        let _ = producer.flush(Duration::from_secs(3));
        if counting.acked.load(Ordering::Relaxed) > 0 {
            break Ok(start.elapsed().as_secs_f64() * 1000.0);
        }
        thread::sleep(Duration::from_millis(20));
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let first_ack_ms = result?;
    Ok(json!({ "listening_ms": listening_ms, "first_ack_ms": first_ack_ms }))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let out = match cli.command {
        Cmd::Produce(a) => produce(a)?,
        Cmd::Consume(a) => consume(a)?,
        Cmd::Latency(a) => latency(a)?,
        Cmd::Startup(a) => startup(a)?,
    };
    println!("{out}");
    Ok(())
}
