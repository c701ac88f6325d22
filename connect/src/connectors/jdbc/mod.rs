//! Confluent's JDBC connectors (`io.confluent.connect.jdbc.JdbcSourceConnector`
//! and `JdbcSinkConnector`) for PostgreSQL, MySQL/MariaDB and SQLite, on `sqlx`.
//!
//! - [`source`]: tables (or one query) polled in `bulk`, `incrementing`,
//!   `timestamp` or `timestamp+incrementing` mode into one topic per table.
//! - [`sink`]: records with a STRUCT value written with INSERT, upsert or
//!   UPDATE (and DELETE for tombstones), tables created and evolved from the
//!   record schema.
//! - [`dialect`]: what differs between the databases (quoting, DDL types,
//!   upsert, catalog queries); [`db`] the connection and the mapping between
//!   SQL values and Connect values.
//!
//! Connection URLs are the JDBC ones users have (`jdbc:postgresql://host:5432/db`,
//! `jdbc:mysql://host:3306/db`, `jdbc:sqlite:/path/file.db`); see [`url`].

pub mod db;
pub mod dialect;
pub mod sink;
pub mod source;
pub mod url;

use std::future::Future;
use std::time::Duration;

use crate::config::def::{ConfigKey, ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, ConfigValue, Props, Width};
use crate::error::{Error, Result};

pub const SOURCE_CLASS: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";
pub const SINK_CLASS: &str = "io.confluent.connect.jdbc.JdbcSinkConnector";

const DATABASE: &str = "Database";

/// The connection settings both connectors have.
pub fn connection_def(def: ConfigDef) -> ConfigDef {
    def.define(
        ConfigKey::new(
            "connection.url",
            ConfigType::String,
            Default::Required,
            Importance::High,
            "JDBC connection URL: jdbc:postgresql://host:port/database?user=..&password=.., jdbc:mysql://host:port/database or jdbc:sqlite:/path/to/file.db",
        )
        .validator(Validator::Custom(url::check))
        .group(DATABASE, 1, Width::Long, "JDBC URL"),
    )
    .define(
        ConfigKey::new(
            "connection.user",
            ConfigType::String,
            Default::Null,
            Importance::High,
            "JDBC connection user.",
        )
        .group(DATABASE, 2, Width::Long, "JDBC User"),
    )
    .define(
        ConfigKey::new(
            "connection.password",
            ConfigType::Password,
            Default::Null,
            Importance::High,
            "JDBC connection password.",
        )
        .group(DATABASE, 3, Width::Short, "JDBC Password"),
    )
    .define(
        ConfigKey::new(
            "connection.attempts",
            ConfigType::Int,
            Default::Value("3".into()),
            Importance::Low,
            "Maximum number of attempts to get a valid JDBC connection.",
        )
        .validator(Validator::AtLeast(1))
        .group(DATABASE, 4, Width::Short, "JDBC connection attempts"),
    )
    .define(
        ConfigKey::new(
            "connection.backoff.ms",
            ConfigType::Long,
            Default::Value("10000".into()),
            Importance::Low,
            "Backoff time in milliseconds between connection attempts.",
        )
        .group(DATABASE, 5, Width::Short, "JDBC connection backoff in milliseconds"),
    )
    .define(
        ConfigKey::new(
            "dialect.name",
            ConfigType::String,
            Default::Value(String::new()),
            Importance::Low,
            "The database dialect; empty picks it from the connection URL.",
        )
        .validator(Validator::OneOf(
            &[
                "",
                "PostgreSqlDatabaseDialect",
                "MySqlDatabaseDialect",
                "SqliteDatabaseDialect",
            ],
            false,
        ))
        .group(DATABASE, 6, Width::Long, "Database Dialect"),
    )
    .define(
        ConfigKey::new(
            "quote.sql.identifiers",
            ConfigType::String,
            Default::Value("always".into()),
            Importance::Medium,
            "When to quote table names, column names and other identifiers in SQL statements: always or never.",
        )
        .validator(Validator::OneOf(&["always", "never"], true))
        .group(DATABASE, 7, Width::Medium, "Quote Identifiers"),
    )
    .define(
        ConfigKey::new(
            "db.timezone",
            ConfigType::String,
            Default::Value("UTC".into()),
            Importance::Medium,
            "Time zone of TIMESTAMP columns without a time zone. Only UTC is supported.",
        )
        .validator(Validator::OneOf(&["UTC", "Z", "GMT", "Etc/UTC"], false))
        .group(DATABASE, 8, Width::Medium, "DB time zone"),
    )
}

/// `dialect.name` set to another dialect than the URL's driver speaks.
fn dialect_mismatch(props: &Props, url: &url::DbUrl) -> Option<String> {
    let named = props
        .get("dialect.name")
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())?;
    let spoken = url.dialect().name();
    (named != spoken).then(|| {
        format!(
            "dialect.name {named} does not match the connection URL, whose driver speaks {spoken}"
        )
    })
}

/// Checks of the connection settings beyond each field's validator, for
/// both connectors' `validate`: `dialect.name` must match the URL.
pub fn validate_connection(props: &Props, values: &mut [ConfigValue]) {
    let Some(Ok(url)) = props.get("connection.url").map(|u| url::DbUrl::parse(u)) else {
        return;
    };
    if let Some(msg) = dialect_mismatch(props, &url) {
        if let Some(v) = values.iter_mut().find(|v| v.name == "dialect.name") {
            v.errors.push(msg);
        }
    }
}

/// `table.types`' validator (both connectors): TABLE and/or VIEW.
pub fn check_table_types(v: &str) -> Option<String> {
    crate::config::def::split_list(v)
        .iter()
        .find(|t| !matches!(t.to_ascii_uppercase().as_str(), "TABLE" | "VIEW"))
        .map(|t| {
            format!("Invalid value {t} for configuration table.types: TABLE and VIEW are supported")
        })
}

/// Whether a `table.types` value allows views.
pub fn views_allowed(props: &Props) -> bool {
    props.get("table.types").is_some_and(|t| {
        crate::config::def::split_list(t)
            .iter()
            .any(|t| t.eq_ignore_ascii_case("VIEW"))
    })
}

/// Where to connect and how hard to try, from a connector's or task's config.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    pub url: url::DbUrl,
    pub attempts: u32,
    pub backoff: Duration,
    pub quote: bool,
}

impl ConnectionConfig {
    pub fn from_props(props: &Props) -> Result<Self> {
        let raw = props
            .get("connection.url")
            .ok_or_else(|| Error::config("Missing required configuration \"connection.url\""))?;
        let mut url = url::DbUrl::parse(raw).map_err(Error::Config)?;
        if let Some(msg) = dialect_mismatch(props, &url) {
            return Err(Error::Config(msg));
        }
        if let Some(u) = props.get("connection.user").filter(|u| !u.is_empty()) {
            url.set_user(u);
        }
        if let Some(p) = props.get("connection.password").filter(|p| !p.is_empty()) {
            url.set_password(p);
        }
        let int = |k: &str, d: u64| {
            props
                .get(k)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(d)
        };
        Ok(ConnectionConfig {
            url,
            attempts: int("connection.attempts", 3).max(1) as u32,
            backoff: Duration::from_millis(int("connection.backoff.ms", 10_000)),
            quote: !props
                .get("quote.sql.identifiers")
                .is_some_and(|q| q.eq_ignore_ascii_case("never")),
        })
    }
}

/// A small runtime of its own for a JDBC task's database calls: tasks are
/// synchronous and run on the blocking pool, sqlx is async. Dropped without
/// blocking, so a task may be dropped anywhere.
pub struct DbRuntime(Option<tokio::runtime::Runtime>);

impl DbRuntime {
    pub fn new() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(DbRuntime(Some(rt)))
    }

    /// Run `f` to completion (call from a blocking thread, never from async code).
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0.as_ref().expect("runtime present").block_on(f)
    }
}

impl Drop for DbRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// A task's connection: its runtime, its pool, and how it quotes identifiers.
/// Without a pool (before `open`), the dialect is PostgreSQL's.
#[derive(Default)]
pub struct Conn {
    rt: Option<DbRuntime>,
    db: Option<db::Db>,
    pub quote: bool,
}

impl Conn {
    /// Connect (`connection.attempts` times at most).
    pub fn open(&mut self, conf: &ConnectionConfig) -> Result<()> {
        let rt = DbRuntime::new()?;
        self.db = Some(rt.block_on(db::Db::connect(conf))?);
        self.rt = Some(rt);
        self.quote = conf.quote;
        Ok(())
    }

    pub fn close(&mut self) {
        if let (Some(rt), Some(db)) = (&self.rt, self.db.take()) {
            rt.block_on(db.close());
        }
        self.rt = None;
    }

    /// The runtime and the pool, once open.
    pub fn parts(&self) -> Result<(&DbRuntime, &db::Db)> {
        match (&self.rt, &self.db) {
            (Some(rt), Some(db)) => Ok((rt, db)),
            _ => Err(Error::Connect("the database connection is not open".into())),
        }
    }

    pub fn dialect(&self) -> dialect::Dialect {
        self.db
            .as_ref()
            .map(db::Db::dialect)
            .unwrap_or(dialect::Dialect::Postgres)
    }

    pub fn ident(&self, name: &str) -> String {
        self.dialect().ident(name, self.quote)
    }

    pub fn table(&self, t: &dialect::TableId) -> String {
        self.dialect().table(t, self.quote)
    }
}

/// Run `f` on a thread of its own with a runtime of its own: for database
/// calls from code that may itself be running on an async runtime
/// (connector start and validation).
pub fn run_detached<T: Send + 'static>(
    f: impl FnOnce(&DbRuntime) -> Result<T> + Send + 'static,
) -> Result<T> {
    std::thread::spawn(move || {
        let rt = DbRuntime::new()?;
        f(&rt)
    })
    .join()
    .map_err(|_| Error::Connect("the database thread panicked".into()))?
}
