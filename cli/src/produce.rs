//! `strom produce`: one record per line of standard input, like
//! `kafka-console-producer.sh` and `kcat -P`.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::client::{
    error_description, error_name, kafka_err, parse_key_value, topic_error, CliContext, ClientArgs,
    REQUEST_TIMEOUT,
};

/// How many delivery failures are reported one by one before only counting.
const MAX_REPORTED_FAILURES: usize = 10;

#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// Topic to produce to.
    pub topic: String,

    /// Split each line at the first SEP into key and value (kcat's -K).
    /// `\t` and `\n` are understood.
    #[arg(short = 'K', long, value_name = "SEP")]
    pub key_separator: Option<String>,

    /// kafka-console-producer reader properties: parse.key, key.separator,
    /// parse.headers, headers.delimiter, headers.separator,
    /// headers.key.separator, null.marker, ignore.error (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub properties: Vec<(String, String)>,

    /// A header added to every record, `KEY=VALUE` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub headers: Vec<(String, String)>,

    /// Produce every record to this partition (default: by key hash, or
    /// spread when there is no key).
    #[arg(short = 'p', long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,

    /// Acknowledgements to wait for.
    #[arg(long, value_enum, default_value_t = Acks::All)]
    pub acks: Acks,

    /// Compression codec for record batches.
    #[arg(long, value_enum, default_value_t = Compression::None)]
    pub compression: Compression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Acks {
    /// Wait for all in-sync replicas.
    All,
    /// Wait for the leader only.
    #[value(name = "1")]
    One,
    /// Do not wait.
    #[value(name = "0")]
    Zero,
}

impl Acks {
    fn as_config(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::One => "1",
            Acks::Zero => "0",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    fn as_config(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// How `--header` values and per-line headers are parsed out of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFormat {
    /// Ends the headers part of a line (`headers.delimiter`, default tab).
    pub delimiter: Vec<u8>,
    /// Between headers (`headers.separator`, default `,`).
    pub separator: Vec<u8>,
    /// Between a header's key and value (`headers.key.separator`, default `:`).
    pub key_separator: Vec<u8>,
}

/// How a line of input becomes a record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineFormat {
    /// Split key from value at the first occurrence (`parse.key`).
    pub key_separator: Option<Vec<u8>>,
    /// Headers lead the line (`parse.headers`).
    pub headers: Option<HeaderFormat>,
    /// A key, value or header value equal to this is sent as null.
    pub null_marker: Option<Vec<u8>>,
    /// A line without the key separator becomes a value with a null key
    /// instead of an error (`ignore.error`).
    pub ignore_error: bool,
}

/// One parsed input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Turn `\t`, `\n`, `\r` and `\\` into the characters they name.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => bail!("property {key}: expected true or false, got '{value}'"),
    }
}

impl LineFormat {
    /// From `-K` and the console producer's `--property` settings.
    pub fn from_args(key_separator: Option<&str>, properties: &[(String, String)]) -> Result<Self> {
        let mut parse_key = false;
        let mut key_sep = "\t".to_string();
        let mut parse_headers = false;
        let mut headers = HeaderFormat {
            delimiter: b"\t".to_vec(),
            separator: b",".to_vec(),
            key_separator: b":".to_vec(),
        };
        let mut format = LineFormat::default();
        for (k, v) in properties {
            match k.as_str() {
                "parse.key" => parse_key = parse_bool(k, v)?,
                "key.separator" => key_sep = unescape(v),
                "parse.headers" => parse_headers = parse_bool(k, v)?,
                "headers.delimiter" => headers.delimiter = unescape(v).into_bytes(),
                "headers.separator" => headers.separator = unescape(v).into_bytes(),
                "headers.key.separator" => headers.key_separator = unescape(v).into_bytes(),
                "null.marker" => format.null_marker = Some(v.as_bytes().to_vec()),
                "ignore.error" => format.ignore_error = parse_bool(k, v)?,
                other => bail!(
                    "unknown --property '{other}' (known: parse.key, key.separator, \
                     parse.headers, headers.delimiter, headers.separator, \
                     headers.key.separator, null.marker, ignore.error)"
                ),
            }
        }
        if let Some(sep) = key_separator {
            parse_key = true;
            key_sep = unescape(sep);
        }
        if parse_key {
            if key_sep.is_empty() {
                bail!("the key separator must not be empty");
            }
            format.key_separator = Some(key_sep.into_bytes());
        }
        if parse_headers {
            if headers.delimiter.is_empty()
                || headers.separator.is_empty()
                || headers.key_separator.is_empty()
            {
                bail!("header delimiters and separators must not be empty");
            }
            format.headers = Some(headers);
        }
        Ok(format)
    }

    fn nullable(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        match &self.null_marker {
            Some(marker) if marker.as_slice() == bytes => None,
            _ => Some(bytes.to_vec()),
        }
    }

    /// Parse one line (without its line ending).
    pub fn parse_line(&self, line: &[u8]) -> Result<ParsedLine, String> {
        let mut rest = line;
        let mut headers = Vec::new();
        if let Some(hf) = &self.headers {
            let (head, tail) = match split_once(rest, &hf.delimiter) {
                Some(parts) => parts,
                None if self.ignore_error => (&b""[..], rest),
                None => return Err("headers delimiter not found".into()),
            };
            rest = tail;
            if !head.is_empty() {
                for header in split_all(head, &hf.separator) {
                    let (key, value) = match split_once(header, &hf.key_separator) {
                        Some((k, v)) => (k, self.nullable(v)),
                        None => (header, None),
                    };
                    let key = std::str::from_utf8(key)
                        .map_err(|_| "header key is not valid UTF-8".to_string())?;
                    headers.push((key.to_string(), value));
                }
            }
        }
        let (key, value) = match &self.key_separator {
            None => (None, rest),
            Some(sep) => match split_once(rest, sep) {
                Some((k, v)) => (self.nullable(k), v),
                None if self.ignore_error => (None, rest),
                None => return Err("key separator not found".into()),
            },
        };
        Ok(ParsedLine {
            key,
            value: self.nullable(value),
            headers,
        })
    }
}

/// Split at the first occurrence of `sep` (non-empty).
pub fn split_once<'a>(haystack: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    if sep.is_empty() || sep.len() > haystack.len() {
        return None;
    }
    haystack
        .windows(sep.len())
        .position(|w| w == sep)
        .map(|i| (&haystack[..i], &haystack[i + sep.len()..]))
}

fn split_all<'a>(mut haystack: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some((head, tail)) = split_once(haystack, sep) {
        parts.push(head);
        haystack = tail;
    }
    parts.push(haystack);
    parts
}

/// Strip a trailing `\n` or `\r\n`.
pub fn trim_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Counts delivery outcomes and reports the first failures.
#[derive(Debug, Default)]
struct Deliveries {
    delivered: u64,
    failed: u64,
}

impl Deliveries {
    fn record(&mut self, line_number: u64, result: Result<Result<(), KafkaError>, String>) {
        match result {
            Ok(Ok(())) => self.delivered += 1,
            Ok(Err(e)) => self.fail(line_number, &delivery_error(&e)),
            Err(message) => self.fail(line_number, &message),
        }
    }

    fn fail(&mut self, line_number: u64, message: &str) {
        self.failed += 1;
        if self.failed as usize <= MAX_REPORTED_FAILURES {
            eprintln!("Error: line {line_number}: delivery failed: {message}");
        } else if self.failed as usize == MAX_REPORTED_FAILURES + 1 {
            eprintln!("Error: more deliveries failed; only counting from here on");
        }
    }
}

fn delivery_error(e: &KafkaError) -> String {
    match e.rdkafka_error_code() {
        Some(code) => format!("{}: {}", error_name(code), error_description(code)),
        None => e.to_string(),
    }
}

type Pending = FuturesUnordered<
    futures::future::BoxFuture<'static, (u64, Result<Result<(), KafkaError>, String>)>,
>;

fn track(pending: &Pending, line_number: u64, delivery: DeliveryFuture) {
    pending.push(Box::pin(async move {
        let outcome = match delivery.await {
            Ok(Ok(_)) => Ok(Ok(())),
            Ok(Err((e, _))) => Ok(Err(e)),
            Err(_) => Err("the producer was closed before delivery".to_string()),
        };
        (line_number, outcome)
    }));
}

/// Fail fast on a topic that does not exist (rather than after librdkafka's
/// 30 s of waiting for it to appear) or a partition it does not have.
fn check_topic(producer: &FutureProducer<CliContext>, args: &ProduceArgs) -> Result<()> {
    let metadata = producer
        .client()
        .fetch_metadata(Some(&args.topic), REQUEST_TIMEOUT)
        .map_err(kafka_err)
        .with_context(|| {
            format!(
                "cannot fetch metadata from {}",
                args.client.bootstrap_server
            )
        })?;
    let Some(topic) = metadata.topics().iter().find(|t| t.name() == args.topic) else {
        bail!(topic_error(
            RDKafkaErrorCode::UnknownTopicOrPartition,
            &args.topic
        ));
    };
    match topic.error().map(RDKafkaErrorCode::from) {
        None => {}
        // Being created (e.g. auto-created by this very request).
        Some(RDKafkaErrorCode::LeaderNotAvailable) => return Ok(()),
        Some(code) => bail!(topic_error(code, &args.topic)),
    }
    if let Some(p) = args.partition {
        let count = topic.partitions().len();
        if usize::try_from(p).map_or(true, |p| p >= count) {
            bail!(
                "UNKNOWN_TOPIC_OR_PARTITION: Topic '{}' has no partition {p} (it has {count}).",
                args.topic
            );
        }
    }
    Ok(())
}

pub async fn run(args: ProduceArgs) -> Result<()> {
    let format = LineFormat::from_args(args.key_separator.as_deref(), &args.properties)?;
    let producer: FutureProducer<CliContext> = args
        .client
        .client_config(&[
            ("acks", args.acks.as_config()),
            ("compression.type", args.compression.as_config()),
            // Same key, same partition as the Java client.
            ("partitioner", "murmur2_random"),
            // Like Kafka's console producer: idempotent when acks=all.
            (
                "enable.idempotence",
                if args.acks.as_config() == "all" {
                    "true"
                } else {
                    "false"
                },
            ),
            // As with Kafka's console producer, the broker decides whether
            // producing to a missing topic creates it.
            ("allow.auto.create.topics", "true"),
        ])?
        .create_with_context(CliContext)
        .map_err(kafka_err)?;
    check_topic(&producer, &args)?;

    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut buf = Vec::with_capacity(4096);
    let mut line_number = 0u64;
    let mut deliveries = Deliveries::default();
    let mut pending: Pending = FuturesUnordered::new();
    let mut input_error = None;

    // Ctrl-C ends the input like end-of-file: what was read is still delivered.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        buf.clear();
        let n = tokio::select! {
            _ = &mut ctrl_c => break,
            n = stdin.read_until(b'\n', &mut buf) => n.context("reading standard input")?,
        };
        if n == 0 {
            break;
        }
        line_number += 1;
        let line = trim_line_ending(&buf);
        let parsed = match format.parse_line(line) {
            Ok(p) => p,
            Err(e) => {
                input_error = Some(format!("line {line_number}: {e}"));
                break;
            }
        };
        let mut headers =
            OwnedHeaders::new_with_capacity(args.headers.len() + parsed.headers.len());
        for (k, v) in &args.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v.as_bytes()),
            });
        }
        for (k, v) in &parsed.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&args.topic).headers(headers);
        if let Some(key) = parsed.key.as_deref() {
            record = record.key(key);
        }
        if let Some(value) = parsed.value.as_deref() {
            record = record.payload(value);
        }
        if let Some(p) = args.partition {
            record = record.partition(p);
        }
        loop {
            match producer.send_result(record) {
                Ok(delivery) => {
                    track(&pending, line_number, delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    // Wait for a delivery to make room in the queue.
                    match pending.next().await {
                        Some((n, outcome)) => deliveries.record(n, outcome),
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                Err((e, _)) => {
                    deliveries.record(line_number, Ok(Err(e)));
                    break;
                }
            }
        }
        // Collect whatever has completed, so memory stays bounded.
        while let Some(Some((n, outcome))) = futures::FutureExt::now_or_never(pending.next()) {
            deliveries.record(n, outcome);
        }
    }

    while let Some((n, outcome)) = pending.next().await {
        deliveries.record(n, outcome);
    }
    // Everything is delivered or failed by now; flush is a formality.
    producer.flush(Duration::from_secs(30)).map_err(kafka_err)?;
    tracing::debug!(
        delivered = deliveries.delivered,
        failed = deliveries.failed,
        "done"
    );

    if let Some(e) = input_error {
        bail!("{e} ({} records sent before it)", deliveries.delivered);
    }
    if deliveries.failed > 0 {
        bail!(
            "{} of {} records failed",
            deliveries.failed,
            deliveries.failed + deliveries.delivered
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_lines_are_values() {
        let f = LineFormat::from_args(None, &[]).unwrap();
        let p = f.parse_line(b"a:b").unwrap();
        assert_eq!(p.key, None);
        assert_eq!(p.value.as_deref(), Some(&b"a:b"[..]));
        assert!(p.headers.is_empty());
        assert_eq!(f.parse_line(b"").unwrap().value, Some(vec![]));
    }

    #[test]
    fn key_separator_splits_at_first() {
        let f = LineFormat::from_args(Some(":"), &[]).unwrap();
        let p = f.parse_line(b"k1:v:1").unwrap();
        assert_eq!(p.key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(p.value.as_deref(), Some(&b"v:1"[..]));
        let p = f.parse_line(b":v").unwrap();
        assert_eq!(p.key, Some(vec![]));
        assert!(f.parse_line(b"no separator").is_err());

        let f = LineFormat::from_args(Some("::"), &[]).unwrap();
        let p = f.parse_line(b"a:b::c").unwrap();
        assert_eq!(p.key.as_deref(), Some(&b"a:b"[..]));
        assert_eq!(p.value.as_deref(), Some(&b"c"[..]));

        let f = LineFormat::from_args(Some("\\t"), &[]).unwrap();
        assert_eq!(f.key_separator.as_deref(), Some(&b"\t"[..]));
        assert!(LineFormat::from_args(Some(""), &[]).is_err());
    }

    #[test]
    fn console_producer_properties() {
        let f = LineFormat::from_args(None, &props(&[("parse.key", "true")])).unwrap();
        assert_eq!(f.key_separator.as_deref(), Some(&b"\t"[..]));
        let f = LineFormat::from_args(
            None,
            &props(&[("parse.key", "true"), ("key.separator", ":")]),
        )
        .unwrap();
        let p = f.parse_line(b"k:v").unwrap();
        assert_eq!(p.key.as_deref(), Some(&b"k"[..]));
        // key.separator alone does not turn key parsing on (as in Kafka).
        let f = LineFormat::from_args(None, &props(&[("key.separator", ":")])).unwrap();
        assert_eq!(f.key_separator, None);
        assert!(LineFormat::from_args(None, &props(&[("parse.key", "yes")])).is_err());
        assert!(LineFormat::from_args(None, &props(&[("no.such", "1")])).is_err());
    }

    #[test]
    fn ignore_error_and_null_marker() {
        let f = LineFormat::from_args(
            Some(":"),
            &props(&[("ignore.error", "true"), ("null.marker", "NULL")]),
        )
        .unwrap();
        let p = f.parse_line(b"just value").unwrap();
        assert_eq!(p.key, None);
        assert_eq!(p.value.as_deref(), Some(&b"just value"[..]));
        let p = f.parse_line(b"k:NULL").unwrap();
        assert_eq!(p.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(p.value, None);
        let p = f.parse_line(b"NULL:v").unwrap();
        assert_eq!(p.key, None);
    }

    #[test]
    fn line_headers() {
        let f = LineFormat::from_args(
            None,
            &props(&[
                ("parse.headers", "true"),
                ("parse.key", "true"),
                ("null.marker", "NULL"),
            ]),
        )
        .unwrap();
        let p = f
            .parse_line(b"h1:v1,h2,h3:NULL,h4:a:b\tkey\tvalue")
            .unwrap();
        assert_eq!(
            p.headers,
            vec![
                ("h1".to_string(), Some(b"v1".to_vec())),
                ("h2".to_string(), None),
                ("h3".to_string(), None),
                ("h4".to_string(), Some(b"a:b".to_vec())),
            ]
        );
        assert_eq!(p.key.as_deref(), Some(&b"key"[..]));
        assert_eq!(p.value.as_deref(), Some(&b"value"[..]));
        let p = f.parse_line(b"\tk\tv").unwrap();
        assert!(p.headers.is_empty());
        assert!(f.parse_line(b"no delimiter").is_err());
    }

    #[test]
    fn line_endings_and_escapes() {
        assert_eq!(trim_line_ending(b"a\r\n"), b"a");
        assert_eq!(trim_line_ending(b"a\n"), b"a");
        assert_eq!(trim_line_ending(b"a"), b"a");
        assert_eq!(trim_line_ending(b"a\r"), b"a");
        assert_eq!(unescape(r"a\tb\nc\\d\x\"), "a\tb\nc\\d\\x\\");
    }

    #[test]
    fn split_helpers() {
        assert_eq!(split_once(b"abc", b""), None);
        assert_eq!(split_once(b"a", b"ab"), None);
        assert_eq!(split_once(b"a=b", b"="), Some((&b"a"[..], &b"b"[..])));
        assert_eq!(split_all(b"a,b,,c", b","), vec![&b"a"[..], b"b", b"", b"c"]);
    }
}
