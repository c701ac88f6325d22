//! The connection pool, catalog lookups, and the mapping between SQL values
//! and Connect values, for PostgreSQL, MySQL/MariaDB and SQLite.
//!
//! The two databases have different sqlx row and argument types; the value
//! mapping is written once in the macros `bind_values!` and `read_value!`
//! and expanded for each.

use std::str::FromStr;
use std::time::Duration;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Column, Executor, Row, Statement, TypeInfo};

use super::dialect::{ColumnKind, Dialect, NumericMapping, TableId};
use super::url::DbUrl;
use super::ConnectionConfig;
use crate::data::schema::logical;
use crate::data::{Schema, Type, Value};
use crate::error::{Error, Result};

/// Bind every value of `$params` to the query `$q`; `$decimal` turns a
/// `BigDecimal` into what the database takes.
macro_rules! bind_values {
    ($q:expr, $params:expr, $decimal:expr) => {{
        let mut q = $q;
        for v in $params.iter() {
            q = match v {
                SqlValue::Null(kind) => match kind {
                    ColumnKind::Bool => q.bind(None::<bool>),
                    ColumnKind::Int16 => q.bind(None::<i16>),
                    ColumnKind::Int32 => q.bind(None::<i32>),
                    ColumnKind::Int64 | ColumnKind::UInt64 => q.bind(None::<i64>),
                    ColumnKind::Float32 => q.bind(None::<f32>),
                    ColumnKind::Float64 => q.bind(None::<f64>),
                    ColumnKind::Decimal(_) => q.bind(None::<BigDecimal>.as_ref().map($decimal)),
                    ColumnKind::Bytes => q.bind(None::<Vec<u8>>),
                    ColumnKind::Date => q.bind(None::<NaiveDate>),
                    ColumnKind::Time => q.bind(None::<NaiveTime>),
                    ColumnKind::Timestamp => q.bind(None::<NaiveDateTime>),
                    ColumnKind::TimestampTz => q.bind(None::<DateTime<Utc>>),
                    ColumnKind::Text
                    | ColumnKind::Uuid
                    | ColumnKind::Json
                    | ColumnKind::Unsupported => q.bind(None::<String>),
                },
                SqlValue::Bool(b) => q.bind(*b),
                SqlValue::I16(n) => q.bind(*n),
                SqlValue::I32(n) => q.bind(*n),
                SqlValue::I64(n) => q.bind(*n),
                SqlValue::F32(n) => q.bind(*n),
                SqlValue::F64(n) => q.bind(*n),
                SqlValue::Decimal(d) => q.bind(($decimal)(d)),
                SqlValue::Text(s) => q.bind(s.clone()),
                SqlValue::Bytes(b) => q.bind(b.clone()),
                SqlValue::Date(d) => q.bind(*d),
                SqlValue::Time(t) => q.bind(*t),
                SqlValue::Timestamp(t) => q.bind(*t),
                SqlValue::TimestampTz(t) => q.bind(*t),
            };
        }
        q
    }};
}

/// Read column `$name` of `$row` as a Connect value of `$kind`. `$decimal`
/// reads a Decimal column as a decimal string.
macro_rules! read_value {
    ($row:expr, $name:expr, $kind:expr, $decimal:ident, $uuid_json:ident, $unsigned:ident) => {{
        let row = $row;
        let name: &str = $name;
        let err = |e: sqlx::Error| Error::Data(format!("reading column {name}: {e}"));
        let v: Option<Value> = match $kind {
            ColumnKind::Bool => row
                .try_get::<Option<bool>, _>(name)
                .map_err(err)?
                .map(Value::Boolean),
            ColumnKind::Int16 => row
                .try_get::<Option<i16>, _>(name)
                .map_err(err)?
                .map(Value::Int16),
            ColumnKind::Int32 => row
                .try_get::<Option<i32>, _>(name)
                .map_err(err)?
                .map(Value::Int32),
            ColumnKind::Int64 => row
                .try_get::<Option<i64>, _>(name)
                .map_err(err)?
                .map(Value::Int64),
            ColumnKind::UInt64 => $unsigned(row, name).map_err(err)?.map(Value::Int64),
            ColumnKind::Float32 => row
                .try_get::<Option<f32>, _>(name)
                .map_err(err)?
                .map(Value::Float32),
            ColumnKind::Float64 => row
                .try_get::<Option<f64>, _>(name)
                .map_err(err)?
                .map(Value::Float64),
            ColumnKind::Decimal(scale) => match $decimal(row, name, scale).map_err(err)? {
                Some(text) => Some(Value::Bytes(
                    logical::decimal_from_string(&text, scale).ok_or_else(|| {
                        Error::Data(format!("column {name}: {text} is not a decimal"))
                    })?,
                )),
                None => None,
            },
            ColumnKind::Text => row
                .try_get::<Option<String>, _>(name)
                .map_err(err)?
                .map(Value::String),
            ColumnKind::Uuid | ColumnKind::Json => $uuid_json(row, name, $kind)
                .map_err(err)?
                .map(Value::String),
            ColumnKind::Bytes => row
                .try_get::<Option<Vec<u8>>, _>(name)
                .map_err(err)?
                .map(Value::Bytes),
            ColumnKind::Date => row
                .try_get::<Option<NaiveDate>, _>(name)
                .map_err(err)?
                .map(|d| Value::Int32(date_to_days(d))),
            ColumnKind::Time => row
                .try_get::<Option<NaiveTime>, _>(name)
                .map_err(err)?
                .map(|t| Value::Int32(time_to_millis(t))),
            ColumnKind::Timestamp => row
                .try_get::<Option<NaiveDateTime>, _>(name)
                .map_err(err)?
                .map(|t| Value::Int64(t.and_utc().timestamp_millis())),
            ColumnKind::TimestampTz => row
                .try_get::<Option<DateTime<Utc>>, _>(name)
                .map_err(err)?
                .map(|t| Value::Int64(t.timestamp_millis())),
            ColumnKind::Unsupported => None,
        };
        Ok::<Value, Error>(v.unwrap_or(Value::Null))
    }};
}

/// A value bound to a statement parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    /// NULL of the given column kind.
    Null(ColumnKind),
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Decimal(BigDecimal),
    Text(String),
    Bytes(Vec<u8>),
    Date(NaiveDate),
    Time(NaiveTime),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
}

/// A column as the catalog describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnMeta {
    pub name: String,
    /// The type name as the catalog gives it (`int4`, `VARCHAR(20)`).
    pub type_name: String,
    pub nullable: bool,
    pub precision: Option<i32>,
    pub scale: Option<i32>,
}

/// A column of a result, with how its values are read.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub kind: ColumnKind,
}

/// A row of `information_schema.columns`: name, type, nullable, numeric
/// precision and scale.
type ColumnRow<N> = (String, String, String, Option<N>, Option<N>);

/// A connection pool to one database.
#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

/// `$body` with `$p` bound to the pool, whichever database it is.
macro_rules! each_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            Db::Postgres($p) => $body,
            Db::MySql($p) => $body,
            Db::Sqlite($p) => $body,
        }
    };
}

/// The rows of `$q` read with `$read` into `$out`, at most `$limit`.
macro_rules! fetch_rows {
    ($q:expr, $pool:expr, $ctx:expr, $out:expr, $limit:expr, $ts:expr, $columns:expr, $read:ident, $read_ts:ident) => {{
        use futures::TryStreamExt;
        let mut rows = $q.fetch($pool);
        while let Some(row) = rows.try_next().await.map_err(|e| sql_error($ctx, e))? {
            let at = $ts.map(|c| $read_ts(&row, c)).transpose()?.flatten();
            $out.push(($read(&row, $columns)?, at));
            if $out.len() >= $limit {
                break;
            }
        }
    }};
}

/// Run each statement of `$batches` with each of its parameter rows in one
/// transaction on `$pool`; the rows affected are added to `$affected`.
macro_rules! write_batches {
    ($pool:expr, $batches:expr, $affected:expr, $decimal:expr) => {{
        let mut tx = $pool.begin().await.map_err(|e| sql_error("BEGIN", e))?;
        for (sql, rows) in $batches {
            for params in rows {
                let q = bind_values!(sqlx::query(sql), params, $decimal);
                $affected += q
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| sql_error(sql, e))?
                    .rows_affected();
            }
        }
        tx.commit().await.map_err(|e| sql_error("COMMIT", e))?;
    }};
}

/// An sqlx error as a Connect error. Every database error is worth a retry
/// (the sink's `max.retries`, the source's next poll), as Confluent's
/// connectors treat `SQLException`.
pub fn sql_error(context: &str, e: sqlx::Error) -> Error {
    Error::Retriable(format!("{context}: {e}"))
}

impl Db {
    /// Connect, trying `connection.attempts` times `connection.backoff.ms` apart.
    pub async fn connect(conf: &ConnectionConfig) -> Result<Db> {
        let mut attempt = 1;
        loop {
            match Db::connect_once(conf).await {
                Ok(db) => return Ok(db),
                Err(e) if attempt < conf.attempts => {
                    tracing::info!(url = %conf.url.redacted(), attempt, error = %e,
                        "unable to connect to the database; will retry");
                    tokio::time::sleep(conf.backoff).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(Error::Connect(format!(
                        "Could not connect to database at {} after {attempt} attempt(s): {e}",
                        conf.url.redacted()
                    )))
                }
            }
        }
    }

    /// One connection attempt; the pool then reconnects by itself.
    pub async fn connect_once(conf: &ConnectionConfig) -> Result<Db> {
        let acquire = Duration::from_secs(10);
        match &conf.url {
            DbUrl::Postgres(server) => {
                let mut opts = PgConnectOptions::new()
                    .host(&server.host)
                    .port(server.port)
                    .application_name(
                        server
                            .application_name
                            .as_deref()
                            .unwrap_or("strom-connect"),
                    )
                    // TLS is not built in: plain connections only (sslmode=disable/allow/prefer).
                    .ssl_mode(PgSslMode::Disable)
                    .options([("TimeZone", "UTC")]);
                if !server.database.is_empty() {
                    opts = opts.database(&server.database);
                }
                if let Some(u) = &server.user {
                    opts = opts.username(u);
                }
                if let Some(p) = &server.password {
                    opts = opts.password(p);
                }
                if let Some(s) = &server.schema {
                    opts = opts.options([("search_path", s.as_str())]);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(acquire)
                    .test_before_acquire(true)
                    .connect_with(opts)
                    .await
                    .map_err(|e| Error::Connect(e.to_string()))?;
                Ok(Db::Postgres(pool))
            }
            DbUrl::MySql(server) => {
                let mut opts = MySqlConnectOptions::new()
                    .host(&server.host)
                    .port(server.port)
                    .ssl_mode(MySqlSslMode::Disabled)
                    .charset("utf8mb4")
                    .timezone(Some("+00:00".to_string()));
                if !server.database.is_empty() {
                    opts = opts.database(&server.database);
                }
                if let Some(u) = &server.user {
                    opts = opts.username(u);
                }
                if let Some(p) = &server.password {
                    opts = opts.password(p);
                }
                let pool = MySqlPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(acquire)
                    .test_before_acquire(true)
                    .connect_with(opts)
                    .await
                    .map_err(|e| Error::Connect(e.to_string()))?;
                Ok(Db::MySql(pool))
            }
            DbUrl::Sqlite { path } => {
                let opts = if path == ":memory:" {
                    SqliteConnectOptions::from_str("sqlite::memory:")
                        .map_err(|e| Error::Connect(e.to_string()))?
                } else {
                    SqliteConnectOptions::new()
                        .filename(path)
                        .create_if_missing(true)
                };
                let pool = SqlitePoolOptions::new()
                    // One connection: SQLite has one writer, and :memory: is per connection.
                    .max_connections(1)
                    .acquire_timeout(acquire)
                    .connect_with(opts.busy_timeout(Duration::from_secs(5)))
                    .await
                    .map_err(|e| Error::Connect(e.to_string()))?;
                Ok(Db::Sqlite(pool))
            }
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Postgres(_) => Dialect::Postgres,
            Db::MySql(_) => Dialect::MySql,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }

    pub async fn close(&self) {
        each_pool!(self, p => p.close().await)
    }

    /// Run a statement without parameters (DDL).
    pub async fn execute(&self, sql: &str) -> Result<()> {
        tracing::info!(sql, "executing");
        each_pool!(self, p => p.execute(sql).await.map(|_| ())).map_err(|e| sql_error(sql, e))
    }

    /// The tables and/or views of the database (PostgreSQL: outside the
    /// system schemas).
    pub async fn tables(&self, tables: bool, views: bool) -> Result<Vec<TableId>> {
        let sql = match self {
            Db::Postgres(_) => {
                "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                 WHERE ((table_type = 'BASE TABLE' AND $1) OR (table_type = 'VIEW' AND $2)) \
                 AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
            }
            Db::MySql(_) => {
                "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR) \
                 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                 AND ((TABLE_TYPE = 'BASE TABLE' AND ?) OR (TABLE_TYPE = 'VIEW' AND ?)) \
                 ORDER BY 1, 2"
            }
            Db::Sqlite(_) => {
                "SELECT NULL, name FROM sqlite_master \
                 WHERE ((type = 'table' AND ?1) OR (type = 'view' AND ?2)) \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
        };
        let rows: Vec<(Option<String>, String)> = each_pool!(self, p => {
            sqlx::query_as(sql).bind(tables).bind(views).fetch_all(p).await
        })
        .map_err(|e| sql_error("listing tables", e))?;
        Ok(rows
            .into_iter()
            .map(|(schema, name)| TableId { schema, name })
            .collect())
    }

    /// A table's columns in order; empty when there is no such table.
    pub async fn columns(&self, table: &TableId) -> Result<Vec<ColumnMeta>> {
        let sql = match self {
            Db::Postgres(_) => {
                "SELECT column_name::text, udt_name::text, is_nullable::text, \
                 numeric_precision::int8, numeric_scale::int8 FROM information_schema.columns \
                 WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 \
                 ORDER BY ordinal_position"
            }
            Db::MySql(_) => {
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
                 CAST(IS_NULLABLE AS CHAR), CAST(NUMERIC_PRECISION AS SIGNED), \
                 CAST(NUMERIC_SCALE AS SIGNED) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
                 ORDER BY ORDINAL_POSITION"
            }
            // No schemas (?1 is unused); an INTEGER PRIMARY KEY is the rowid:
            // never null, whatever notnull says.
            Db::Sqlite(_) => {
                "SELECT name, type, CASE WHEN \"notnull\" OR (pk > 0 AND upper(type) = 'INTEGER') \
                 THEN 'NO' ELSE 'YES' END, NULL, NULL \
                 FROM pragma_table_info(?2) WHERE ?1 IS NULL OR ?1 IS NOT NULL ORDER BY cid"
            }
        };
        let rows: Vec<ColumnRow<i64>> = each_pool!(self, p => {
            sqlx::query_as(sql)
                .bind(table.schema.as_deref())
                .bind(&table.name)
                .fetch_all(p)
                .await
        })
        .map_err(|e| sql_error(&format!("describing table {table}"), e))?;
        Ok(rows
            .into_iter()
            .map(|(name, ty, nullable, precision, scale)| ColumnMeta {
                name,
                type_name: ty,
                nullable: nullable == "YES",
                precision: precision.map(|p| p as i32),
                scale: scale.map(|s| s as i32),
            })
            .collect())
    }

    /// The columns a query returns, as the driver describes them.
    pub async fn query_columns(
        &self,
        sql: &str,
        numeric: NumericMapping,
    ) -> Result<Vec<ResultColumn>> {
        let ctx = format!("preparing {sql}");
        let dialect = self.dialect();
        let cols: Vec<(String, String)> = each_pool!(self, p => {
            let st = p.prepare(sql).await.map_err(|e| sql_error(&ctx, e))?;
            st.columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
                .collect()
        });
        Ok(cols
            .into_iter()
            .map(|(name, ty)| ResultColumn {
                kind: dialect.kind_of(&ty, None, None, numeric),
                name,
            })
            .collect())
    }

    /// The database's clock (PostgreSQL, MySQL), or this machine's (SQLite,
    /// which runs in this process).
    pub async fn now(&self) -> Result<DateTime<Utc>> {
        match self {
            Db::Postgres(p) => {
                let (now,): (DateTime<Utc>,) = sqlx::query_as("SELECT CURRENT_TIMESTAMP")
                    .fetch_one(p)
                    .await
                    .map_err(|e| sql_error("reading the database time", e))?;
                Ok(now)
            }
            Db::MySql(p) => {
                let (now,): (NaiveDateTime,) = sqlx::query_as("SELECT UTC_TIMESTAMP(6)")
                    .fetch_one(p)
                    .await
                    .map_err(|e| sql_error("reading the database time", e))?;
                Ok(now.and_utc())
            }
            Db::Sqlite(_) => Ok(Utc::now()),
        }
    }

    /// Run a SELECT with `params` and read `columns` of every row (by
    /// name), at most `limit` rows; with `ts`, also that column of each row
    /// at full precision (for offsets).
    pub async fn select(
        &self,
        sql: &str,
        params: &[SqlValue],
        columns: &[ResultColumn],
        ts: Option<&ResultColumn>,
        limit: usize,
    ) -> Result<Vec<(Vec<Value>, Option<NaiveDateTime>)>> {
        let ctx = format!("running {sql}");
        let mut out = Vec::new();
        match self {
            Db::Postgres(p) => {
                let q = bind_values!(sqlx::query(sql), params, |d: &BigDecimal| d.clone());
                fetch_rows!(q, p, &ctx, out, limit, ts, columns, read_pg, read_ts_pg);
            }
            Db::MySql(p) => {
                let q = bind_values!(sqlx::query(sql), params, |d: &BigDecimal| d.clone());
                fetch_rows!(
                    q,
                    p,
                    &ctx,
                    out,
                    limit,
                    ts,
                    columns,
                    read_mysql,
                    read_ts_mysql
                );
            }
            Db::Sqlite(p) => {
                let q = bind_values!(sqlx::query(sql), params, |d: &BigDecimal| d.to_string());
                fetch_rows!(
                    q,
                    p,
                    &ctx,
                    out,
                    limit,
                    ts,
                    columns,
                    read_sqlite,
                    read_ts_sqlite
                );
            }
        }
        Ok(out)
    }

    /// Run each statement with each of its parameter rows, all in one transaction.
    pub async fn write(&self, batches: &[(String, Vec<Vec<SqlValue>>)]) -> Result<u64> {
        let mut affected = 0;
        match self {
            Db::Postgres(p) => write_batches!(p, batches, affected, |d: &BigDecimal| d.clone()),
            Db::MySql(p) => write_batches!(p, batches, affected, |d: &BigDecimal| d.clone()),
            Db::Sqlite(p) => write_batches!(p, batches, affected, |d: &BigDecimal| d.to_string()),
        }
        Ok(affected)
    }
}

fn pg_decimal(row: &PgRow, name: &str, scale: i32) -> Result<Option<String>, sqlx::Error> {
    Ok(row
        .try_get::<Option<BigDecimal>, _>(name)?
        .map(|d| d.with_scale(i64::from(scale)).to_string()))
}

fn pg_uuid_json(row: &PgRow, name: &str, kind: ColumnKind) -> Result<Option<String>, sqlx::Error> {
    Ok(if kind == ColumnKind::Uuid {
        row.try_get::<Option<uuid::Uuid>, _>(name)?
            .map(|u| u.to_string())
    } else {
        row.try_get::<Option<serde_json::Value>, _>(name)?
            .map(|j| j.to_string())
    })
}

fn sqlite_decimal(row: &SqliteRow, name: &str, scale: i32) -> Result<Option<String>, sqlx::Error> {
    // NUMERIC affinity stores integers and reals; text that is no number stays text.
    if let Ok(v) = row.try_get::<Option<i64>, _>(name) {
        return Ok(v.map(|n| n.to_string()));
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(name) {
        return Ok(v.map(|f| format!("{f:.prec$}", prec = scale.max(0) as usize)));
    }
    row.try_get::<Option<String>, _>(name)
}

fn sqlite_text(
    row: &SqliteRow,
    name: &str,
    _kind: ColumnKind,
) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(name)
}

fn mysql_decimal(row: &MySqlRow, name: &str, scale: i32) -> Result<Option<String>, sqlx::Error> {
    Ok(row
        .try_get::<Option<BigDecimal>, _>(name)?
        .map(|d| d.with_scale(i64::from(scale)).to_string()))
}

fn mysql_json(
    row: &MySqlRow,
    name: &str,
    _kind: ColumnKind,
) -> Result<Option<String>, sqlx::Error> {
    Ok(row
        .try_get::<Option<serde_json::Value>, _>(name)?
        .map(|j| j.to_string()))
}

fn mysql_unsigned(row: &MySqlRow, name: &str) -> Result<Option<i64>, sqlx::Error> {
    row.try_get::<Option<u64>, _>(name)?
        .map(|n| i64::try_from(n).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// Unsigned columns are MySQL's only.
fn no_unsigned<R>(_row: &R, name: &str) -> Result<Option<i64>, sqlx::Error> {
    Err(sqlx::Error::ColumnNotFound(format!("{name} (unsigned)")))
}

fn read_pg(row: &PgRow, columns: &[ResultColumn]) -> Result<Vec<Value>> {
    columns
        .iter()
        .map(|c| read_value!(row, &c.name, c.kind, pg_decimal, pg_uuid_json, no_unsigned))
        .collect()
}

fn read_mysql(row: &MySqlRow, columns: &[ResultColumn]) -> Result<Vec<Value>> {
    columns
        .iter()
        .map(|c| {
            read_value!(
                row,
                &c.name,
                c.kind,
                mysql_decimal,
                mysql_json,
                mysql_unsigned
            )
        })
        .collect()
}

fn read_sqlite(row: &SqliteRow, columns: &[ResultColumn]) -> Result<Vec<Value>> {
    columns
        .iter()
        .map(|c| {
            read_value!(
                row,
                &c.name,
                c.kind,
                sqlite_decimal,
                sqlite_text,
                no_unsigned
            )
        })
        .collect()
}

/// A timestamp column of a row at full precision, as UTC.
macro_rules! read_ts {
    ($row:expr, $col:expr) => {{
        let row = $row;
        let c: &ResultColumn = $col;
        let err = |e: sqlx::Error| Error::Data(format!("reading column {}: {e}", c.name));
        Ok(match c.kind {
            ColumnKind::TimestampTz => row
                .try_get::<Option<DateTime<Utc>>, _>(c.name.as_str())
                .map_err(err)?
                .map(|t| t.naive_utc()),
            ColumnKind::Date => row
                .try_get::<Option<NaiveDate>, _>(c.name.as_str())
                .map_err(err)?
                .and_then(|d| d.and_hms_opt(0, 0, 0)),
            _ => row
                .try_get::<Option<NaiveDateTime>, _>(c.name.as_str())
                .map_err(err)?,
        })
    }};
}

fn read_ts_pg(row: &PgRow, c: &ResultColumn) -> Result<Option<NaiveDateTime>> {
    read_ts!(row, c)
}

fn read_ts_mysql(row: &MySqlRow, c: &ResultColumn) -> Result<Option<NaiveDateTime>> {
    read_ts!(row, c)
}

fn read_ts_sqlite(row: &SqliteRow, c: &ResultColumn) -> Result<Option<NaiveDateTime>> {
    read_ts!(row, c)
}

pub fn date_to_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

pub fn time_to_millis(t: NaiveTime) -> i32 {
    (t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32
}

/// The column kind of a Connect schema (for NULLs of it).
pub fn kind_of_schema(schema: &Schema) -> ColumnKind {
    match schema.name.as_deref() {
        Some(logical::DECIMAL) => return ColumnKind::Decimal(logical::scale(schema)),
        Some(logical::DATE) => return ColumnKind::Date,
        Some(logical::TIME) => return ColumnKind::Time,
        Some(logical::TIMESTAMP) => return ColumnKind::Timestamp,
        _ => {}
    }
    match schema.ty {
        Type::Boolean => ColumnKind::Bool,
        Type::Int8 | Type::Int16 => ColumnKind::Int16,
        Type::Int32 => ColumnKind::Int32,
        Type::Int64 => ColumnKind::Int64,
        Type::Float32 => ColumnKind::Float32,
        Type::Float64 => ColumnKind::Float64,
        Type::Bytes => ColumnKind::Bytes,
        _ => ColumnKind::Text,
    }
}

/// A Connect value of `schema` as a statement parameter.
pub fn to_sql(value: &Value, schema: &Schema) -> Result<SqlValue> {
    let bad = || {
        Error::Data(format!(
            "value {value} does not match its schema {}",
            schema.ty.upper_name()
        ))
    };
    Ok(match (schema.name.as_deref(), value) {
        (_, Value::Null) => SqlValue::Null(kind_of_schema(schema)),
        (Some(logical::DECIMAL), Value::Bytes(b)) => {
            let text = logical::decimal_to_string(b, logical::scale(schema));
            SqlValue::Decimal(BigDecimal::from_str(&text).map_err(|_| bad())?)
        }
        (Some(logical::DATE), Value::Int32(days)) => SqlValue::Date(
            NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(i64::from(*days))))
                .ok_or_else(bad)?,
        ),
        (Some(logical::TIME), Value::Int32(ms)) => SqlValue::Time(
            NaiveTime::from_num_seconds_from_midnight_opt(
                (*ms / 1000) as u32,
                ((*ms % 1000) * 1_000_000) as u32,
            )
            .ok_or_else(bad)?,
        ),
        (Some(logical::TIMESTAMP), Value::Int64(ms)) => SqlValue::Timestamp(
            DateTime::from_timestamp_millis(*ms)
                .ok_or_else(bad)?
                .naive_utc(),
        ),
        (_, Value::Boolean(b)) => SqlValue::Bool(*b),
        (_, Value::Int8(n)) => SqlValue::I16(i16::from(*n)),
        (_, Value::Int16(n)) => SqlValue::I16(*n),
        (_, Value::Int32(n)) => SqlValue::I32(*n),
        (_, Value::Int64(n)) => SqlValue::I64(*n),
        (_, Value::Float32(n)) => SqlValue::F32(*n),
        (_, Value::Float64(n)) => SqlValue::F64(*n),
        (_, Value::String(s)) => SqlValue::Text(s.clone()),
        (_, Value::Bytes(b)) => SqlValue::Bytes(b.clone()),
        _ => {
            return Err(Error::Data(format!(
                "{} values cannot be written to a column",
                schema.ty.upper_name()
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SchemaBuilder;

    #[test]
    fn connect_values_to_sql() {
        let ts = logical::timestamp().build();
        assert_eq!(
            to_sql(&Value::Int64(86_400_123), &ts).unwrap(),
            SqlValue::Timestamp(
                NaiveDate::from_ymd_opt(1970, 1, 2)
                    .unwrap()
                    .and_hms_milli_opt(0, 0, 0, 123)
                    .unwrap()
            )
        );
        let dec = logical::decimal(2).build();
        let bytes = logical::decimal_from_string("-12.34", 2).unwrap();
        assert_eq!(
            to_sql(&Value::Bytes(bytes), &dec).unwrap(),
            SqlValue::Decimal(BigDecimal::from_str("-12.34").unwrap())
        );
        let opt = SchemaBuilder::new(Type::Int32).optional().build();
        assert_eq!(
            to_sql(&Value::Null, &opt).unwrap(),
            SqlValue::Null(ColumnKind::Int32)
        );
        let date = logical::date().build();
        assert_eq!(
            to_sql(&Value::Int32(1), &date).unwrap(),
            SqlValue::Date(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap())
        );
        assert!(to_sql(
            &Value::Array(vec![]),
            &SchemaBuilder::new(Type::Array).build()
        )
        .is_err());
    }

    #[test]
    fn days_and_millis() {
        assert_eq!(
            date_to_days(NaiveDate::from_ymd_opt(1970, 1, 11).unwrap()),
            10
        );
        assert_eq!(
            time_to_millis(NaiveTime::from_hms_milli_opt(1, 0, 0, 5).unwrap()),
            3_600_005
        );
    }
}
