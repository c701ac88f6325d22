//! `io.confluent.connect.jdbc.JdbcSourceConnector`: polls tables (or one
//! `query`) into topics named `topic.prefix` + table name.
//!
//! Modes, as Confluent's connector has them:
//! - `bulk`: the whole table every `poll.interval.ms`;
//! - `incrementing`: rows whose `incrementing.column.name` is above the last one seen;
//! - `timestamp`: rows whose `timestamp.column.name` (the first non-null of
//!   several) is after the last one seen and before the database's clock
//!   minus `timestamp.delay.interval.ms`;
//! - `timestamp+incrementing`: both, so updates and inserts within one
//!   timestamp are told apart.
//!
//! The source partition is `{"protocol": "1", "table": "<schema>.<table>"}`
//! (`{"query": <query>}` in query mode); offsets are `{"incrementing": n}`
//! and/or `{"timestamp": millis, "timestamp_nanos": nanos-of-second}`, as
//! Confluent's connector stores them, so a restarted task resumes after the
//! last row delivered. A database that goes away makes the task log and
//! poll again later (`query.retry.attempts`, -1 = for ever).
//!
//! Tables are listed again every `table.poll.interval.ms`: a table created
//! later gets a task within that time.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value as Json};

use super::db::{ColumnMeta, Db, ResultColumn, SqlValue};
use super::dialect::{ColumnKind, Dialect, NumericMapping, TableId};
use super::{connection_def, Conn, ConnectionConfig};
use crate::config::def::{split_list, ConfigKey, ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, ConfigValue, Props, Width};
use crate::connectors::{ConnectorPlugin, ConnectorType, SourceTask};
use crate::data::{ConnectRecord, SchemaBuilder, SchemaRef, SourceRecord, Struct, Value};
use crate::error::{Error, Result};
use crate::storage::offsets::OffsetReader;

const MODE: &str = "Mode";
const CONNECTOR: &str = "Connector";
const DATABASE: &str = "Database";

const INCREMENTING: &str = "incrementing";
const TIMESTAMP: &str = "timestamp";
const TIMESTAMP_NANOS: &str = "timestamp_nanos";
/// The column name the offset timestamp is read under.
const TS_ALIAS: &str = "__strom_offset_ts";

pub struct JdbcSourceConnector;

fn key(name: &str, ty: ConfigType, default: Default, imp: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ty, default, imp, doc)
}

fn val(v: &str) -> Default {
    Default::Value(v.to_string())
}

/// The first of several config names that is set (old and new spellings).
fn first_set<'a>(props: &'a Props, names: &[&str]) -> Option<&'a String> {
    names
        .iter()
        .filter_map(|n| props.get(*n))
        .find(|v| !v.trim().is_empty())
}

impl ConnectorPlugin for JdbcSourceConnector {
    fn class(&self) -> &'static str {
        super::SOURCE_CLASS
    }

    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }

    fn config_def(&self) -> ConfigDef {
        connection_def(ConfigDef::new())
            .define(key("table.whitelist", ConfigType::List, val(""), Importance::Medium,
                "Tables to copy (table or schema.table); all tables when empty. Alias of table.include.list.")
                .group(DATABASE, 10, Width::Long, "Table Whitelist"))
            .define(key("table.include.list", ConfigType::List, val(""), Importance::Medium,
                "Tables to copy (table or schema.table); all tables when empty.")
                .group(DATABASE, 11, Width::Long, "Table Include List"))
            .define(key("table.blacklist", ConfigType::List, val(""), Importance::Medium,
                "Tables not to copy. Alias of table.exclude.list.")
                .group(DATABASE, 12, Width::Long, "Table Blacklist"))
            .define(key("table.exclude.list", ConfigType::List, val(""), Importance::Medium,
                "Tables not to copy.")
                .group(DATABASE, 13, Width::Long, "Table Exclude List"))
            .define(key("schema.pattern", ConfigType::String, Default::Null, Importance::Medium,
                "Schemas to take tables from, as a LIKE pattern (% and _); all when unset.")
                .group(DATABASE, 14, Width::Short, "Schema pattern"))
            .define(key("catalog.pattern", ConfigType::String, Default::Null, Importance::Medium,
                "The catalogs to take tables from, as a LIKE pattern: the connection's database (SQLite: main) must match; all when unset.")
                .group(DATABASE, 15, Width::Short, "Catalog pattern"))
            .define(key("table.types", ConfigType::List, val("TABLE"), Importance::Low,
                "Table types to copy: TABLE and/or VIEW.")
                .validator(Validator::Custom(super::check_table_types))
                .group(DATABASE, 16, Width::Medium, "Table Types"))
            .define(key("numeric.mapping", ConfigType::String, Default::Null, Importance::Low,
                "How NUMERIC columns map: none (Decimal), precision_only, best_fit or best_fit_eager_double.")
                .validator(Validator::Custom(check_numeric_mapping))
                .group(DATABASE, 17, Width::Short, "Map Numeric Values, Integral or Decimal, By Precision and Scale"))
            .define(key("numeric.precision.mapping", ConfigType::Boolean, val("false"), Importance::Low,
                "Deprecated: true is numeric.mapping=precision_only.")
                .group(DATABASE, 18, Width::Short, "Map Numeric Values By Precision (deprecated)"))
            .define(key("mode", ConfigType::String, Default::Required, Importance::High,
                "How to find new rows: bulk, incrementing, timestamp or timestamp+incrementing.")
                .validator(Validator::OneOf(&["bulk", "timestamp", "incrementing", "timestamp+incrementing"], false))
                .group(MODE, 1, Width::Medium, "Table Loading Mode"))
            .define(key("incrementing.column.name", ConfigType::String, val(""), Importance::Medium,
                "The strictly increasing integer column (incrementing modes).")
                .group(MODE, 2, Width::Medium, "Incrementing Column Name"))
            .define(key("timestamp.column.name", ConfigType::List, val(""), Importance::Medium,
                "The timestamp column(s) of the timestamp modes; with several, the first non-null counts.")
                .group(MODE, 3, Width::Medium, "Timestamp Column Name"))
            .define(key("timestamp.initial", ConfigType::Long, Default::Null, Importance::Low,
                "Epoch milliseconds to start the timestamp modes from; -1 is now; unset is 1970.")
                .group(MODE, 4, Width::Medium, "Unix time value of initial timestamp"))
            .define(key("validate.non.null", ConfigType::Boolean, val("true"), Importance::Low,
                "Whether to refuse incrementing and timestamp columns that are nullable.")
                .group(MODE, 5, Width::Short, "Validate Non Null"))
            .define(key("query", ConfigType::String, val(""), Importance::Medium,
                "A SELECT to copy instead of tables; its result is filtered by the mode's conditions.")
                .group(MODE, 6, Width::Short, "Query"))
            .define(key("query.suffix", ConfigType::String, val(""), Importance::Low,
                "Text appended to every query the connector runs.")
                .group(MODE, 7, Width::Medium, "Query suffix"))
            .define(key("transaction.isolation.mode", ConfigType::String, val("DEFAULT"), Importance::Low,
                "Transaction isolation of the queries: DEFAULT, the database's own (the only one supported).")
                .validator(Validator::Custom(check_isolation))
                .group(MODE, 8, Width::Medium, "Transaction Isolation Mode"))
            .define(key("query.retry.attempts", ConfigType::Int, val("-1"), Importance::Low,
                "How many times a failing query is tried again before the task fails; -1 is for ever.")
                .validator(Validator::AtLeast(-1))
                .group(MODE, 9, Width::Short, "Query Retry Attempts"))
            .define(key("poll.interval.ms", ConfigType::Int, val("5000"), Importance::High,
                "Milliseconds between polls of each table.")
                .validator(Validator::AtLeast(1))
                .group(CONNECTOR, 1, Width::Short, "Poll Interval (ms)"))
            .define(key("batch.max.rows", ConfigType::Int, val("100"), Importance::Low,
                "The most rows one poll returns.")
                .validator(Validator::AtLeast(1))
                .group(CONNECTOR, 2, Width::Short, "Max Rows Per Batch"))
            .define(key("table.poll.interval.ms", ConfigType::Long, val("60000"), Importance::Low,
                "How often to look for new or dropped tables.")
                .group(CONNECTOR, 3, Width::Short, "Metadata Change Monitoring Interval (ms)"))
            .define(key("topic.prefix", ConfigType::String, Default::Required, Importance::High,
                "Prefix of the topic names: topic.prefix + table name, or the topic itself in query mode.")
                .group(CONNECTOR, 4, Width::Medium, "Topic Prefix"))
            .define(key("timestamp.delay.interval.ms", ConfigType::Long, val("0"), Importance::High,
                "How long after a row's timestamp before it is copied, so transactions with earlier timestamps can finish.")
                .validator(Validator::AtLeast(0))
                .group(CONNECTOR, 5, Width::Medium, "Delay Interval (ms)"))
    }

    fn validate(&self, props: &Props, values: &mut [ConfigValue]) {
        super::validate_connection(props, values);
        let mut error = |name: &str, msg: String| {
            if let Some(v) = values.iter_mut().find(|v| v.name == name) {
                v.errors.push(msg);
            }
        };
        let mode = props.get("mode").map(String::as_str).unwrap_or_default();
        let inc = props
            .get("incrementing.column.name")
            .filter(|v| !v.trim().is_empty());
        let ts = props
            .get("timestamp.column.name")
            .filter(|v| !v.trim().is_empty());
        if mode.contains("incrementing") && inc.is_none() {
            error(
                "incrementing.column.name",
                format!("Missing required configuration \"incrementing.column.name\" which is required for mode {mode}"),
            );
        }
        if mode.contains("timestamp") && ts.is_none() {
            error(
                "timestamp.column.name",
                format!("Missing required configuration \"timestamp.column.name\" which is required for mode {mode}"),
            );
        }
        let query = props.get("query").filter(|q| !q.trim().is_empty());
        let include = first_set(props, &["table.whitelist", "table.include.list"]);
        let exclude = first_set(props, &["table.blacklist", "table.exclude.list"]);
        if query.is_some() && (include.is_some() || exclude.is_some()) {
            error(
                "query",
                "Do not specify table filtering configs with 'query'".into(),
            );
        }
        if include.is_some() && exclude.is_some() {
            error(
                "table.whitelist",
                "Only one of table.whitelist (table.include.list) and table.blacklist (table.exclude.list) can be set".into(),
            );
        }
    }

    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>> {
        self.config_def().parse(props).map_err(Error::Config)?;
        if props.get("query").is_some_and(|q| !q.trim().is_empty()) {
            return Ok(vec![props.clone()]);
        }
        let tables = list_tables(props)?;
        if tables.is_empty() {
            tracing::warn!("no tables match the JDBC source connector's configuration; no tasks");
            return Ok(Vec::new());
        }
        let groups = max_tasks.clamp(1, tables.len());
        let mut tasks = vec![Vec::new(); groups];
        for (i, t) in tables.iter().enumerate() {
            tasks[i % groups].push(t.to_string());
        }
        Ok(tasks
            .into_iter()
            .map(|ts| {
                let mut p = props.clone();
                p.insert("tables".into(), ts.join(","));
                p
            })
            .collect())
    }

    fn source_task(&self) -> Option<Box<dyn SourceTask>> {
        Some(Box::new(JdbcSourceTask::default()))
    }

    fn alter_offsets(&self, _props: &Props, offsets: &[(Json, Option<Json>)]) -> Result<bool> {
        for (partition, offset) in offsets {
            if partition.get("table").is_none() && partition.get("query").is_none() {
                return Err(Error::BadRequest(
                    "Partition objects for the JDBC source connector must contain the key 'table' or 'query'".into(),
                ));
            }
            let Some(Json::Object(o)) = offset else {
                continue;
            };
            for (k, v) in o {
                if ![INCREMENTING, TIMESTAMP, TIMESTAMP_NANOS].contains(&k.as_str()) {
                    return Err(Error::BadRequest(format!(
                        "Unknown offset key '{k}': the JDBC source connector's offsets have 'incrementing', 'timestamp' and 'timestamp_nanos'"
                    )));
                }
                if v.as_i64().is_none() {
                    return Err(Error::BadRequest(format!(
                        "The value for the '{k}' key in the offset is expected to be an integer"
                    )));
                }
            }
        }
        Ok(true)
    }
}

/// Only the database's own isolation level is supported: the queries are
/// single statements in autocommit, and other levels are refused, not ignored.
fn check_isolation(v: &str) -> Option<String> {
    let known = [
        "DEFAULT",
        "READ_UNCOMMITTED",
        "READ_COMMITTED",
        "REPEATABLE_READ",
        "SERIALIZABLE",
        "SQL_SERVER_SNAPSHOT",
    ];
    if !known.contains(&v.trim()) {
        return Some(format!("Invalid value {v} for configuration transaction.isolation.mode: String must be one of: {}", known.join(", ")));
    }
    (v.trim() != "DEFAULT").then(|| format!(
        "transaction.isolation.mode {v} is not supported by Strom's JDBC source; only DEFAULT (the database's own isolation level) is"
    ))
}

fn check_numeric_mapping(v: &str) -> Option<String> {
    (!matches!(
        v.to_ascii_lowercase().as_str(),
        "none" | "precision_only" | "best_fit" | "best_fit_eager_double"
    ))
    .then(|| format!("Invalid value {v} for configuration numeric.mapping: String must be one of: none, precision_only, best_fit, best_fit_eager_double"))
}

/// SQL LIKE (`%`, `_`) as a match.
fn like(pattern: &str, s: &str) -> bool {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(s))
}

/// Whether `t` is named by an entry of a table list (`table` or `schema.table`).
fn listed(list: &[String], t: &TableId) -> bool {
    list.iter().any(|e| {
        let e = TableId::parse(e);
        e.name == t.name && (e.schema.is_none() || e.schema == t.schema)
    })
}

/// The tables the connector copies, listed again at most every
/// `table.poll.interval.ms` (the worker asks for task configs often): a new
/// table gets its task config within that time. When the database cannot be
/// reached, the last list stands.
fn list_tables(props: &Props) -> Result<Vec<TableId>> {
    type Listings = HashMap<String, (Instant, Vec<TableId>)>;
    static LISTED: OnceLock<Mutex<Listings>> = OnceLock::new();
    let listed = LISTED.get_or_init(|| Mutex::new(HashMap::new()));
    let key = format!("{props:?}");
    let interval = Duration::from_millis(
        props
            .get("table.poll.interval.ms")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(60_000),
    );
    let cached = listed.lock().get(&key).cloned();
    if let Some((at, tables)) = &cached {
        if at.elapsed() < interval {
            return Ok(tables.clone());
        }
    }
    match list_tables_now(props) {
        Ok(tables) => {
            if cached.as_ref().is_some_and(|(_, old)| *old != tables) {
                tracing::info!(?tables, "the tables to copy changed");
            }
            listed.lock().insert(key, (Instant::now(), tables.clone()));
            Ok(tables)
        }
        Err(e) => match cached {
            Some((_, tables)) => {
                tracing::warn!(error = %e, "listing tables failed; keeping the last list");
                Ok(tables)
            }
            None => Err(e),
        },
    }
}

fn list_tables_now(props: &Props) -> Result<Vec<TableId>> {
    let conn = ConnectionConfig::from_props(props)?;
    let include = first_set(props, &["table.whitelist", "table.include.list"])
        .map(|v| split_list(v))
        .unwrap_or_default();
    let exclude = first_set(props, &["table.blacklist", "table.exclude.list"])
        .map(|v| split_list(v))
        .unwrap_or_default();
    let schema_pattern = props.get("schema.pattern").cloned();
    // The connection's database is the one catalog there is.
    if let Some(p) = props.get("catalog.pattern").filter(|p| !p.is_empty()) {
        if !like(p, conn.url.catalog()) {
            tracing::warn!(catalog = conn.url.catalog(), pattern = %p,
                "the connection's database does not match catalog.pattern: no tables");
            return Ok(Vec::new());
        }
    }
    let views = super::views_allowed(props);
    let tables_only = props.get("table.types").is_none_or(|t| {
        split_list(t)
            .iter()
            .any(|t| t.eq_ignore_ascii_case("TABLE"))
    });
    let all = super::run_detached(move |rt| {
        rt.block_on(async move {
            let db = Db::connect(&conn).await?;
            let r = db.tables(tables_only, views).await;
            db.close().await;
            r
        })
    })?;
    Ok(all
        .into_iter()
        .filter(|t| {
            schema_pattern
                .as_deref()
                .is_none_or(|p| t.schema.as_deref().is_some_and(|s| like(p, s)))
        })
        .filter(|t| include.is_empty() || listed(&include, t))
        .filter(|t| !listed(&exclude, t))
        .collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

impl Mode {
    fn parse(s: &str) -> Result<Mode> {
        Ok(match s {
            "bulk" => Mode::Bulk,
            "incrementing" => Mode::Incrementing,
            "timestamp" => Mode::Timestamp,
            "timestamp+incrementing" => Mode::TimestampIncrementing,
            other => return Err(Error::config(format!("Invalid mode {other}"))),
        })
    }

    fn incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }

    fn timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

/// Where a table or query has been read up to.
#[derive(Clone, Debug, Default, PartialEq)]
struct Position {
    incrementing: Option<i64>,
    timestamp: Option<NaiveDateTime>,
}

impl Position {
    fn from_json(o: &Json) -> Position {
        let incrementing = o.get(INCREMENTING).and_then(Json::as_i64);
        let timestamp = o.get(TIMESTAMP).and_then(Json::as_i64).and_then(|ms| {
            let secs = ms.div_euclid(1000);
            let nanos = o
                .get(TIMESTAMP_NANOS)
                .and_then(Json::as_i64)
                .unwrap_or(ms.rem_euclid(1000) * 1_000_000);
            DateTime::from_timestamp(secs, nanos as u32).map(|t| t.naive_utc())
        });
        Position {
            incrementing,
            timestamp,
        }
    }

    fn to_json(&self) -> Map<String, Json> {
        let mut m = Map::new();
        if let Some(i) = self.incrementing {
            m.insert(INCREMENTING.into(), json!(i));
        }
        if let Some(t) = self.timestamp {
            let utc = t.and_utc();
            m.insert(TIMESTAMP.into(), json!(utc.timestamp_millis()));
            m.insert(TIMESTAMP_NANOS.into(), json!(utc.timestamp_subsec_nanos()));
        }
        m
    }
}

/// The columns of a table or query and the record schema built from them.
struct Shape {
    columns: Vec<ResultColumn>,
    schema: SchemaRef,
    incrementing: Option<usize>,
    timestamp: Option<ResultColumn>,
}

/// One table (or the query) and where it has been read up to.
struct Querier {
    table: Option<TableId>,
    query: Option<String>,
    topic: String,
    partition: Map<String, Json>,
    position: Position,
    shape: Option<Shape>,
    /// Rows read but not returned yet (bulk and timestamp modes read a whole result).
    pending: VecDeque<SourceRecord>,
    next_due: Instant,
    failures: u32,
}

/// Reads its tables (or the query) in turn.
#[derive(Default)]
pub struct JdbcSourceTask {
    conn: Conn,
    mode: Option<Mode>,
    incrementing_column: String,
    timestamp_columns: Vec<String>,
    numeric: Option<NumericMapping>,
    validate_non_null: bool,
    suffix: String,
    poll_interval: Duration,
    batch_max_rows: usize,
    delay: chrono::Duration,
    retry_attempts: i64,
    queriers: Vec<Querier>,
}

impl SourceTask for JdbcSourceTask {
    fn start(&mut self, props: &Props, offsets: OffsetReader) -> Result<()> {
        let def = JdbcSourceConnector.config_def();
        let parsed = def.parse(props).map_err(Error::Config)?;
        let mode = Mode::parse(&parsed.string("mode").unwrap_or_default())?;
        let conn = ConnectionConfig::from_props(props)?;
        self.mode = Some(mode);
        self.incrementing_column = parsed
            .string("incrementing.column.name")
            .unwrap_or_default();
        self.timestamp_columns = parsed.list("timestamp.column.name");
        self.numeric = Some(match parsed.string("numeric.mapping") {
            Some(m) => NumericMapping::parse(&m),
            None if parsed.bool("numeric.precision.mapping") => NumericMapping::PrecisionOnly,
            None => NumericMapping::None,
        });
        self.validate_non_null = parsed.bool("validate.non.null");
        self.suffix = parsed.string("query.suffix").unwrap_or_default();
        self.poll_interval = Duration::from_millis(parsed.int("poll.interval.ms").max(1) as u64);
        self.batch_max_rows = parsed.int("batch.max.rows").max(1) as usize;
        self.delay = chrono::Duration::milliseconds(parsed.int("timestamp.delay.interval.ms"));
        self.retry_attempts = parsed.int("query.retry.attempts");
        if mode.incrementing() && self.incrementing_column.is_empty() {
            return Err(Error::config(
                "incrementing.column.name is required for mode incrementing",
            ));
        }
        if mode.timestamp() && self.timestamp_columns.is_empty() {
            return Err(Error::config(
                "timestamp.column.name is required for the timestamp modes",
            ));
        }
        let initial = match props.get("timestamp.initial").map(|v| v.trim()) {
            Some("-1") => Some(Utc::now().naive_utc()),
            Some(ms) if !ms.is_empty() => ms
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis)
                .map(|t| t.naive_utc()),
            _ => None,
        };
        let prefix = parsed.string("topic.prefix").unwrap_or_default();
        let query = parsed.string("query").filter(|q| !q.trim().is_empty());
        let now = Instant::now();
        let mut queriers = Vec::new();
        let mut add = |table: Option<TableId>, query: Option<String>| {
            let mut partition = Map::new();
            let topic = match (&table, &query) {
                (Some(t), _) => {
                    partition.insert("protocol".into(), json!("1"));
                    partition.insert("table".into(), json!(t.to_string()));
                    format!("{prefix}{}", t.name)
                }
                (None, Some(q)) => {
                    partition.insert("query".into(), json!(q));
                    prefix.clone()
                }
                (None, None) => unreachable!(),
            };
            let stored = offsets.offset(&Json::Object(partition.clone()));
            let mut position = stored.as_ref().map(Position::from_json).unwrap_or_default();
            if mode.timestamp() && position.timestamp.is_none() {
                position.timestamp = initial;
            }
            tracing::info!(topic = %topic, ?position, "JDBC source starts");
            queriers.push(Querier {
                table,
                query,
                topic,
                partition,
                position,
                shape: None,
                pending: VecDeque::new(),
                next_due: now,
                failures: 0,
            });
        };
        match query {
            Some(q) => add(None, Some(q)),
            None => {
                for t in split_list(props.get("tables").map(String::as_str).unwrap_or("")) {
                    add(Some(TableId::parse(&t)), None);
                }
            }
        }
        self.queriers = queriers;
        self.conn.open(&conn)?;
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(i) = (0..self.queriers.len()).min_by_key(|&i| {
            let q = &self.queriers[i];
            if q.pending.is_empty() {
                q.next_due
            } else {
                Instant::now() - Duration::from_secs(1)
            }
        }) else {
            std::thread::sleep(Duration::from_millis(100));
            return Ok(Vec::new());
        };
        if self.queriers[i].pending.is_empty() {
            let wait = self.queriers[i]
                .next_due
                .saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait.min(Duration::from_millis(100)));
                return Ok(Vec::new());
            }
            match self.query(i) {
                Ok(()) => self.queriers[i].failures = 0,
                Err(Error::Retriable(e)) => {
                    let q = &mut self.queriers[i];
                    q.failures += 1;
                    q.shape = None;
                    q.next_due = Instant::now() + self.poll_interval;
                    if self.retry_attempts >= 0 && i64::from(q.failures) > self.retry_attempts {
                        return Err(Error::Connect(format!(
                            "Failed to query {} {} times: {e}",
                            q.topic, q.failures
                        )));
                    }
                    tracing::warn!(topic = %q.topic, attempt = q.failures, error = %e,
                        "failed to run the query; will try again");
                    return Ok(Vec::new());
                }
                Err(e) => return Err(e),
            }
        }
        let q = &mut self.queriers[i];
        let n = q.pending.len().min(self.batch_max_rows);
        Ok(q.pending.drain(..n).collect())
    }

    fn stop(&mut self) {
        self.conn.close();
    }
}

impl JdbcSourceTask {
    fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    fn ident(&self, name: &str) -> String {
        self.conn.ident(name)
    }

    /// The timestamp expression of the timestamp modes.
    fn timestamp_expr(&self, prefix: &str) -> String {
        let cols: Vec<String> = self
            .timestamp_columns
            .iter()
            .map(|c| format!("{prefix}{}", self.ident(c)))
            .collect();
        if cols.len() == 1 {
            cols[0].clone()
        } else {
            format!("COALESCE({})", cols.join(","))
        }
    }

    /// The base SELECT of querier `i` (its table, or the query wrapped so
    /// conditions can follow) and the prefix of its columns.
    fn base_select(&self, i: usize) -> (String, String) {
        let q = &self.queriers[i];
        let from = match (&q.table, &q.query) {
            (Some(t), _) => self.conn.table(t),
            (None, Some(query)) => format!("({query})"),
            _ => unreachable!(),
        };
        (
            format!("SELECT * FROM {from} AS strom_source"),
            "strom_source.".into(),
        )
    }

    /// Work out the columns and record schema of querier `i`.
    fn shape(&self, i: usize) -> Result<Shape> {
        let (rt, db) = self.conn.parts()?;
        let numeric = self.numeric.unwrap_or(NumericMapping::None);
        let q = &self.queriers[i];
        let dialect = db.dialect();
        let (columns, metas): (Vec<ResultColumn>, Vec<ColumnMeta>) = match &q.table {
            Some(t) => {
                let metas = rt.block_on(db.columns(t))?;
                if metas.is_empty() {
                    return Err(Error::Retriable(format!("table {t} does not exist")));
                }
                let cols = metas
                    .iter()
                    .map(|m| ResultColumn {
                        name: m.name.clone(),
                        kind: dialect.kind_of(&m.type_name, m.precision, m.scale, numeric),
                    })
                    .collect();
                (cols, metas)
            }
            None => {
                let (sql, _) = self.base_select(i);
                (rt.block_on(db.query_columns(&sql, numeric))?, Vec::new())
            }
        };
        let what = match &q.table {
            Some(t) => format!("table {t}"),
            None => "the query".to_string(),
        };
        let nullable = |name: &str| {
            metas
                .iter()
                .find(|m| m.name == name)
                .is_none_or(|m| m.nullable)
        };
        let mut builder = SchemaBuilder::struct_();
        if let Some(t) = &q.table {
            builder = builder.name(&t.name);
        }
        let mut kept = Vec::new();
        for c in columns {
            match c.kind.schema(nullable(&c.name)) {
                Some(s) => {
                    builder = builder.field(&c.name, s);
                    kept.push(c);
                }
                None => {
                    tracing::warn!(column = %c.name, "{what}: column of an unsupported type left out")
                }
            }
        }
        let mode = self.mode.expect("started");
        let find = |name: &str, check: fn(ColumnKind) -> bool, what_col: &str| -> Result<usize> {
            let idx = kept.iter().position(|c| c.name == name).ok_or_else(|| {
                Error::Connect(format!("Cannot find {what_col} column {name} in {what}"))
            })?;
            if !check(kept[idx].kind) {
                return Err(Error::Connect(format!(
                    "The {what_col} column {name} of {what} has a type that cannot be used ({:?})",
                    kept[idx].kind
                )));
            }
            if self.validate_non_null && !metas.is_empty() && nullable(name) {
                return Err(Error::Connect(format!(
                    "Cannot make incremental queries using {what_col} column {name} on {what} because this column is nullable."
                )));
            }
            Ok(idx)
        };
        let incrementing = if mode.incrementing() {
            Some(find(
                &self.incrementing_column,
                ColumnKind::is_integer,
                "incrementing",
            )?)
        } else {
            None
        };
        let timestamp = if mode.timestamp() {
            let mut kind = None;
            for c in &self.timestamp_columns {
                let idx = find(c, ColumnKind::is_timestamp, "timestamp")?;
                kind.get_or_insert(kept[idx].kind);
            }
            Some(ResultColumn {
                name: TS_ALIAS.into(),
                kind: kind.unwrap_or(ColumnKind::Timestamp),
            })
        } else {
            None
        };
        Ok(Shape {
            schema: builder.build(),
            columns: kept,
            incrementing,
            timestamp,
        })
    }

    /// A timestamp as a parameter compared with the timestamp column.
    fn ts_param(kind: ColumnKind, t: NaiveDateTime) -> SqlValue {
        match kind {
            ColumnKind::TimestampTz => SqlValue::TimestampTz(t.and_utc()),
            ColumnKind::Date => SqlValue::Date(t.date()),
            _ => SqlValue::Timestamp(t),
        }
    }

    /// Run querier `i`'s query and queue its rows as records.
    fn query(&mut self, i: usize) -> Result<()> {
        if self.queriers[i].shape.is_none() {
            let shape = self.shape(i)?;
            self.queriers[i].shape = Some(shape);
        }
        let mode = self.mode.expect("started");
        let dialect = self.dialect();
        let (base, prefix) = self.base_select(i);
        let shape = self.queriers[i].shape.as_ref().expect("shape");
        let position = self.queriers[i].position.clone();
        let mut params = Vec::new();
        let mut p = |v: SqlValue| {
            params.push(v);
            dialect.placeholder(params.len())
        };
        let inc = format!("{prefix}{}", self.ident(&self.incrementing_column));
        let ts = self.timestamp_expr(&prefix);
        let ts_kind = shape
            .timestamp
            .as_ref()
            .map(|c| c.kind)
            .unwrap_or(ColumnKind::Timestamp);
        let (rt, db) = self.conn.parts()?;
        let upper = if mode.timestamp() {
            Some((rt.block_on(db.now())? - self.delay).naive_utc())
        } else {
            None
        };
        let start_ts = position
            .timestamp
            .unwrap_or(DateTime::UNIX_EPOCH.naive_utc());
        let start_inc = position.incrementing.unwrap_or(-1);
        let (select, condition, order, limit) = match mode {
            Mode::Bulk => (base, String::new(), String::new(), usize::MAX),
            Mode::Incrementing => {
                let c = format!(" WHERE {inc} > {}", p(SqlValue::I64(start_inc)));
                (base, c, format!(" ORDER BY {inc} ASC"), self.batch_max_rows)
            }
            Mode::Timestamp => {
                let lo = p(Self::ts_param(ts_kind, start_ts));
                let hi = p(Self::ts_param(ts_kind, upper.expect("upper")));
                (
                    base.replacen(
                        "SELECT *",
                        &format!("SELECT {prefix}*, {ts} AS {TS_ALIAS}"),
                        1,
                    ),
                    format!(" WHERE {ts} > {lo} AND {ts} < {hi}"),
                    format!(" ORDER BY {ts} ASC"),
                    usize::MAX,
                )
            }
            Mode::TimestampIncrementing => {
                let hi = p(Self::ts_param(ts_kind, upper.expect("upper")));
                let eq = p(Self::ts_param(ts_kind, start_ts));
                let after = p(SqlValue::I64(start_inc));
                let gt = p(Self::ts_param(ts_kind, start_ts));
                (
                    base.replacen(
                        "SELECT *",
                        &format!("SELECT {prefix}*, {ts} AS {TS_ALIAS}"),
                        1,
                    ),
                    format!(
                        " WHERE {ts} < {hi} AND (({ts} = {eq} AND {inc} > {after}) OR {ts} > {gt})"
                    ),
                    format!(" ORDER BY {ts}, {inc} ASC"),
                    self.batch_max_rows,
                )
            }
        };
        let limit_clause = if limit == usize::MAX {
            String::new()
        } else {
            format!(" LIMIT {limit}")
        };
        let sql = format!(
            "{select}{condition}{order}{limit_clause}{}",
            if self.suffix.is_empty() {
                String::new()
            } else {
                format!(" {}", self.suffix)
            }
        );
        tracing::debug!(sql = %sql, ?params, "polling");
        let rows = rt.block_on(db.select(
            &sql,
            &params,
            &shape.columns,
            shape.timestamp.as_ref(),
            limit,
        ))?;
        let full = limit != usize::MAX && rows.len() >= limit;
        let q = &mut self.queriers[i];
        let shape = q.shape.as_ref().expect("shape");
        for (values, at) in rows {
            let mut s = Struct::new(shape.schema.clone());
            for (f, v) in s.values.iter_mut().zip(values) {
                *f = v;
            }
            if let Some(idx) = shape.incrementing {
                let n = match &s.values[idx] {
                    Value::Bytes(b) => {
                        crate::data::schema::logical::twos_complement_to_i128(b) as i64
                    }
                    v => v.as_i64().unwrap_or(start_inc),
                };
                q.position.incrementing = Some(n);
            }
            if let Some(at) = at {
                q.position.timestamp = Some(at);
            }
            let offset = if mode == Mode::Bulk {
                Map::new()
            } else {
                q.position.to_json()
            };
            let record = ConnectRecord::new(&q.topic, Some(shape.schema.clone()), Value::Struct(s));
            q.pending.push_back(SourceRecord {
                source_partition: if mode == Mode::Bulk {
                    Map::new()
                } else {
                    q.partition.clone()
                },
                source_offset: offset,
                record,
            });
        }
        q.next_due = if full {
            Instant::now()
        } else {
            Instant::now() + self.poll_interval
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("pub%", "public"));
        assert!(like("p_blic", "public"));
        assert!(!like("pub", "public"));
        assert!(like("a.b", "a.b"));
        assert!(!like("a.b", "axb"));
    }

    #[test]
    fn positions_round_trip_with_nanos() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789)
            .unwrap()
            .naive_utc();
        let p = Position {
            incrementing: Some(7),
            timestamp: Some(t),
        };
        let j = Json::Object(p.to_json());
        assert_eq!(j["timestamp"], json!(1_700_000_000_123i64));
        assert_eq!(j["timestamp_nanos"], json!(123_456_789));
        assert_eq!(Position::from_json(&j), p);
    }

    #[test]
    fn table_lists() {
        let t = TableId {
            schema: Some("public".into()),
            name: "orders".into(),
        };
        assert!(listed(&["orders".into()], &t));
        assert!(listed(&["public.orders".into()], &t));
        assert!(!listed(&["other.orders".into()], &t));
    }
}
