//! `io.confluent.connect.jdbc.JdbcSinkConnector`: writes records with a
//! STRUCT value schema to the table named by `table.name.format`.
//!
//! - `insert.mode`: `insert`, `upsert` (`INSERT ... ON CONFLICT ... DO UPDATE`)
//!   or `update`; with `delete.enabled`, a tombstone deletes its row.
//! - `pk.mode`: `none`, `kafka` (`__connect_topic`, `__connect_partition`,
//!   `__connect_offset`), `record_key` (a primitive key named by `pk.fields`,
//!   or fields of a STRUCT key) or `record_value` (fields of the value).
//! - `auto.create` creates a missing table from the record schema, with the
//!   key columns as its primary key; `auto.evolve` adds columns for new
//!   optional fields (or fields with a default).
//!
//! Each `put` is one transaction, so a batch is written whole or not at all.
//! A database error makes the worker hand the same records back after
//! `retry.backoff.ms`, up to `max.retries` times in a row; then the task fails.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::db::{self, ColumnMeta, SqlValue};
use super::dialect::{Dialect, TableId};
use super::{connection_def, Conn, ConnectionConfig};
use crate::config::def::{split_list, ConfigKey, ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, ConfigValue, Props, Width};
use crate::connectors::{ConnectorPlugin, ConnectorType, SinkTask};
use crate::data::{Schema, SchemaRef, SinkRecord, Type, Value};
use crate::error::{Error, Result};

const WRITES: &str = "Writes";
const DATA_MAPPING: &str = "Data Mapping";
const DDL: &str = "DDL Support";
const RETRIES: &str = "Retries";

/// `pk.mode=kafka`'s default column names.
const KAFKA_PK: [&str; 3] = ["__connect_topic", "__connect_partition", "__connect_offset"];

pub struct JdbcSinkConnector;

fn key(name: &str, ty: ConfigType, default: Default, imp: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ty, default, imp, doc)
}

fn val(v: &str) -> Default {
    Default::Value(v.to_string())
}

impl ConnectorPlugin for JdbcSinkConnector {
    fn class(&self) -> &'static str {
        super::SINK_CLASS
    }

    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }

    fn config_def(&self) -> ConfigDef {
        connection_def(ConfigDef::new())
            .define(
                key(
                    "insert.mode",
                    ConfigType::String,
                    val("insert"),
                    Importance::High,
                    "insert, upsert (insert or update by primary key) or update.",
                )
                .validator(Validator::OneOf(&["insert", "upsert", "update"], true))
                .group(WRITES, 1, Width::Medium, "Insert Mode"),
            )
            .define(
                key(
                    "batch.size",
                    ConfigType::Int,
                    val("3000"),
                    Importance::Medium,
                    "How many records to write together, where possible.",
                )
                .validator(Validator::AtLeast(0))
                .group(WRITES, 2, Width::Short, "Batch Size"),
            )
            .define(
                key(
                    "delete.enabled",
                    ConfigType::Boolean,
                    val("false"),
                    Importance::Medium,
                    "Whether a tombstone (null value) deletes its row; needs pk.mode=record_key.",
                )
                .group(WRITES, 3, Width::Short, "Enable deletes"),
            )
            .define(
                key(
                    "table.types",
                    ConfigType::List,
                    val("TABLE"),
                    Importance::Low,
                    "The table types the connector may write to: TABLE and/or VIEW.",
                )
                .validator(Validator::Custom(super::check_table_types))
                .group(WRITES, 4, Width::Short, "Table Types"),
            )
            .define(
                key(
                    "table.name.format",
                    ConfigType::String,
                    val("${topic}"),
                    Importance::Medium,
                    "The table to write a record to; ${topic} stands for its topic.",
                )
                .group(DATA_MAPPING, 1, Width::Long, "Table Name Format"),
            )
            .define(
                key(
                    "pk.mode",
                    ConfigType::String,
                    val("none"),
                    Importance::High,
                    "Where the primary key comes from: none, kafka, record_key or record_value.",
                )
                .validator(Validator::OneOf(
                    &["none", "kafka", "record_key", "record_value"],
                    true,
                ))
                .group(DATA_MAPPING, 2, Width::Medium, "Primary Key Mode"),
            )
            .define(
                key(
                    "pk.fields",
                    ConfigType::List,
                    val(""),
                    Importance::Medium,
                    "The primary key columns; their meaning depends on pk.mode.",
                )
                .group(DATA_MAPPING, 3, Width::Long, "Primary Key Fields"),
            )
            .define(
                key(
                    "fields.whitelist",
                    ConfigType::List,
                    val(""),
                    Importance::Medium,
                    "The value fields to write; all when empty.",
                )
                .group(DATA_MAPPING, 4, Width::Long, "Fields Whitelist"),
            )
            .define(
                key(
                    "auto.create",
                    ConfigType::Boolean,
                    val("false"),
                    Importance::Medium,
                    "Whether to create a missing table from the record schema.",
                )
                .group(DDL, 1, Width::Short, "Auto-Create"),
            )
            .define(
                key(
                    "auto.evolve",
                    ConfigType::Boolean,
                    val("false"),
                    Importance::Medium,
                    "Whether to add columns for fields the table lacks.",
                )
                .group(DDL, 2, Width::Short, "Auto-Evolve"),
            )
            .define(
                key(
                    "max.retries",
                    ConfigType::Int,
                    val("10"),
                    Importance::Medium,
                    "How many times a failed write is tried again before the task fails.",
                )
                .validator(Validator::AtLeast(0))
                .group(RETRIES, 1, Width::Short, "Maximum Retries"),
            )
            .define(
                key(
                    "retry.backoff.ms",
                    ConfigType::Int,
                    val("3000"),
                    Importance::Medium,
                    "Milliseconds to wait before trying a failed write again.",
                )
                .validator(Validator::AtLeast(0))
                .group(RETRIES, 2, Width::Short, "Retry Backoff (millis)"),
            )
    }

    fn validate(&self, props: &Props, values: &mut [ConfigValue]) {
        super::validate_connection(props, values);
        let get = |k: &str, d: &str| {
            props
                .get(k)
                .map(|v| v.trim().to_ascii_lowercase())
                .unwrap_or_else(|| d.to_string())
        };
        let pk_mode = get("pk.mode", "none");
        let insert_mode = get("insert.mode", "insert");
        let mut error = |name: &str, msg: String| {
            if let Some(v) = values.iter_mut().find(|v| v.name == name) {
                v.errors.push(msg);
            }
        };
        if get("delete.enabled", "false") == "true" && pk_mode != "record_key" {
            error(
                "delete.enabled",
                "Deletes are only supported for pk.mode record_key".into(),
            );
        }
        if pk_mode == "none" && insert_mode != "insert" {
            error(
                "pk.mode",
                format!("insert.mode {insert_mode} needs a primary key: set pk.mode to kafka, record_key or record_value"),
            );
        }
        let pk_fields = props
            .get("pk.fields")
            .map(|f| split_list(f))
            .unwrap_or_default();
        if pk_mode == "kafka" && !pk_fields.is_empty() && pk_fields.len() != 3 {
            error(
                "pk.fields",
                format!("PK mode is kafka so there should either be no field names defined for defaults {KAFKA_PK:?} to be applicable, or exactly 3, defined fields are: {pk_fields:?}"),
            );
        }
    }

    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>> {
        self.config_def().parse(props).map_err(Error::Config)?;
        Ok(vec![props.clone(); max_tasks.max(1)])
    }

    fn sink_task(&self) -> Option<Box<dyn SinkTask>> {
        Some(Box::new(JdbcSinkTask::default()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum InsertMode {
    #[default]
    Insert,
    Upsert,
    Update,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum PkMode {
    #[default]
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

/// The columns one record writes: key columns first, then the others.
#[derive(Clone, Debug, PartialEq)]
struct Fields {
    keys: Vec<(String, SchemaRef)>,
    others: Vec<(String, SchemaRef)>,
}

#[derive(Default)]
pub struct JdbcSinkTask {
    /// Where to connect; the connection is made by the first write, so a
    /// database that is away when the task starts is retried like a failed write.
    connection: Option<ConnectionConfig>,
    conn: Conn,
    insert_mode: InsertMode,
    pk_mode: PkMode,
    pk_fields: Vec<String>,
    whitelist: Vec<String>,
    table_format: String,
    delete_enabled: bool,
    auto_create: bool,
    auto_evolve: bool,
    max_retries: u32,
    remaining_retries: u32,
    retry_backoff: Duration,
    /// `table.types` includes VIEW.
    views_allowed: bool,
    /// `batch.size`: the most rows one multi-row INSERT carries.
    batch_size: usize,
    /// Columns of the tables written so far.
    tables: HashMap<String, Vec<ColumnMeta>>,
}

impl SinkTask for JdbcSinkTask {
    fn start(&mut self, props: &Props) -> Result<()> {
        let parsed = JdbcSinkConnector
            .config_def()
            .parse(props)
            .map_err(Error::Config)?;
        let conn = ConnectionConfig::from_props(props)?;
        self.insert_mode = match parsed
            .string("insert.mode")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        self.pk_mode = match parsed
            .string("pk.mode")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "kafka" => PkMode::Kafka,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            _ => PkMode::None,
        };
        self.pk_fields = parsed.list("pk.fields");
        self.whitelist = parsed.list("fields.whitelist");
        self.table_format = parsed
            .string("table.name.format")
            .unwrap_or_else(|| "${topic}".into());
        self.delete_enabled = parsed.bool("delete.enabled");
        self.auto_create = parsed.bool("auto.create");
        self.auto_evolve = parsed.bool("auto.evolve");
        self.views_allowed = super::views_allowed(props);
        self.batch_size = (parsed.int("batch.size").max(1)) as usize;
        self.max_retries = parsed.int("max.retries").max(0) as u32;
        self.remaining_retries = self.max_retries;
        self.retry_backoff = Duration::from_millis(parsed.int("retry.backoff.ms").max(0) as u64);
        if self.delete_enabled && self.pk_mode != PkMode::RecordKey {
            return Err(Error::config(
                "Deletes are only supported for pk.mode record_key",
            ));
        }
        self.connection = Some(conn);
        Ok(())
    }

    fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        match self.write(records) {
            Ok(()) => {
                self.remaining_retries = self.max_retries;
                Ok(())
            }
            Err(Error::Retriable(e)) => {
                // The table may have changed under us: look it up again.
                self.tables.clear();
                if self.remaining_retries == 0 {
                    return Err(Error::Connect(format!(
                        "Exceeded max retries ({}) writing to the database: {e}",
                        self.max_retries
                    )));
                }
                self.remaining_retries -= 1;
                tracing::warn!(error = %e, remaining = self.remaining_retries,
                    "write to the database failed; the records will be written again");
                Err(Error::Retriable(e))
            }
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self, _offsets: &BTreeMap<(String, i32), i64>) -> Result<()> {
        // Every put commits its own transaction.
        Ok(())
    }

    fn retry_backoff(&self) -> Duration {
        self.retry_backoff
    }

    fn stop(&mut self) {
        self.conn.close();
    }
}

impl JdbcSinkTask {
    fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    fn ident(&self, name: &str) -> String {
        self.conn.ident(name)
    }

    fn table_name(&self, topic: &str) -> String {
        self.table_format.replace("${topic}", topic)
    }

    /// The key and other columns of a record (Confluent's `FieldsMetadata`).
    fn fields(&self, table: &str, r: &SinkRecord) -> Result<Fields> {
        let rec = &r.record;
        let value_schema = rec.value_schema.as_ref();
        if let Some(s) = value_schema {
            if s.ty != Type::Struct {
                return Err(Error::Connect(format!(
                    "Value schema must be of type Struct, but is of type {} (table {table})",
                    s.ty.upper_name()
                )));
            }
        }
        let mut keys: Vec<(String, SchemaRef)> = Vec::new();
        match self.pk_mode {
            PkMode::None => {}
            PkMode::Kafka => {
                let names: Vec<String> = if self.pk_fields.is_empty() {
                    KAFKA_PK.iter().map(|s| s.to_string()).collect()
                } else {
                    self.pk_fields.clone()
                };
                if names.len() != 3 {
                    return Err(Error::Connect(format!(
                        "PK mode for table '{table}' is kafka so there should either be no field names defined for defaults {KAFKA_PK:?} to be applicable, or exactly 3, defined fields are: {:?}",
                        self.pk_fields
                    )));
                }
                for (n, t) in names
                    .into_iter()
                    .zip([Type::String, Type::Int32, Type::Int64])
                {
                    keys.push((n, Schema::of(t)));
                }
            }
            PkMode::RecordKey => {
                let ks = rec.key_schema.as_ref().ok_or_else(|| {
                    Error::Connect(format!(
                        "PK mode for table '{table}' is RECORD_KEY, but record key schema is missing"
                    ))
                })?;
                if ks.ty.is_primitive() {
                    if self.pk_fields.len() != 1 {
                        return Err(Error::Connect(format!(
                            "Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: {:?}",
                            self.pk_fields
                        )));
                    }
                    keys.push((self.pk_fields[0].clone(), ks.clone()));
                } else if ks.ty == Type::Struct {
                    let names: Vec<String> = if self.pk_fields.is_empty() {
                        ks.fields.iter().map(|f| f.name.clone()).collect()
                    } else {
                        self.pk_fields.clone()
                    };
                    for n in names {
                        let f = ks.field(&n).ok_or_else(|| {
                            Error::Connect(format!(
                                "PK mode for table '{table}' is RECORD_KEY with configured PK fields {:?}, but record key schema does not contain field: {n}",
                                self.pk_fields
                            ))
                        })?;
                        keys.push((n, f.schema.clone()));
                    }
                } else {
                    return Err(Error::Connect(format!(
                        "Key schema must be primitive type or Struct, but is of type: {}",
                        ks.ty.upper_name()
                    )));
                }
            }
            PkMode::RecordValue => {
                let vs = value_schema.ok_or_else(|| {
                    Error::Connect(format!(
                        "PK mode for table '{table}' is RECORD_VALUE, but record value schema is missing"
                    ))
                })?;
                let names: Vec<String> = if self.pk_fields.is_empty() {
                    vs.fields.iter().map(|f| f.name.clone()).collect()
                } else {
                    self.pk_fields.clone()
                };
                for n in names {
                    let f = vs.field(&n).ok_or_else(|| {
                        Error::Connect(format!(
                            "PK mode for table '{table}' is RECORD_VALUE with configured PK fields {:?}, but record value schema does not contain field: {n}",
                            self.pk_fields
                        ))
                    })?;
                    keys.push((n, f.schema.clone()));
                }
            }
        }
        let mut others = Vec::new();
        if let Some(vs) = value_schema {
            for f in &vs.fields {
                if keys.iter().any(|(k, _)| *k == f.name) {
                    continue;
                }
                if !self.whitelist.is_empty() && !self.whitelist.contains(&f.name) {
                    continue;
                }
                others.push((f.name.clone(), f.schema.clone()));
            }
        }
        if keys.is_empty() && others.is_empty() {
            return Err(Error::Connect(format!(
                "No fields found using key and value schemas for table: {table}"
            )));
        }
        Ok(Fields { keys, others })
    }

    /// The values of a record's key columns.
    fn key_values(&self, r: &SinkRecord, fields: &Fields) -> Result<Vec<SqlValue>> {
        let rec = &r.record;
        match self.pk_mode {
            PkMode::None => Ok(Vec::new()),
            PkMode::Kafka => Ok(vec![
                SqlValue::Text(rec.topic.clone()),
                SqlValue::I32(rec.kafka_partition.unwrap_or(r.original_partition)),
                SqlValue::I64(r.kafka_offset),
            ]),
            PkMode::RecordKey => {
                let ks = rec.key_schema.as_ref().expect("checked in fields");
                if ks.ty.is_primitive() {
                    return Ok(vec![db::to_sql(&rec.key, ks)?]);
                }
                let s = rec.key.as_struct().ok_or_else(|| {
                    Error::Data(format!("record key {} is not a Struct", rec.key))
                })?;
                fields
                    .keys
                    .iter()
                    .map(|(n, schema)| {
                        db::to_sql(&s.get(n).cloned().unwrap_or(Value::Null), schema)
                    })
                    .collect()
            }
            PkMode::RecordValue => {
                let s = rec.value.as_struct().ok_or_else(|| {
                    Error::Data(format!("record value {} is not a Struct", rec.value))
                })?;
                fields
                    .keys
                    .iter()
                    .map(|(n, schema)| {
                        db::to_sql(&s.get_or_default(n).unwrap_or(Value::Null), schema)
                    })
                    .collect()
            }
        }
    }

    fn other_values(&self, r: &SinkRecord, fields: &Fields) -> Result<Vec<SqlValue>> {
        if fields.others.is_empty() {
            return Ok(Vec::new());
        }
        let s = r.record.value.as_struct().ok_or_else(|| {
            Error::Data(format!("record value {} is not a Struct", r.record.value))
        })?;
        fields
            .others
            .iter()
            .map(|(n, schema)| db::to_sql(&s.get_or_default(n).unwrap_or(Value::Null), schema))
            .collect()
    }

    /// `"name" TYPE [NOT] NULL [DEFAULT x]`.
    fn column_def(&self, name: &str, schema: &Schema, key: bool) -> Result<String> {
        let mut def = format!(
            "{} {}",
            self.ident(name),
            self.dialect().sql_type(schema, key)?
        );
        if let Some(d) = schema.default.as_ref().and_then(sql_literal) {
            def.push_str(&format!(" DEFAULT {d}"));
        }
        def.push_str(if key || !schema.optional {
            " NOT NULL"
        } else {
            " NULL"
        });
        Ok(def)
    }

    /// Make sure `table` exists with every column of `fields` (auto.create,
    /// auto.evolve), returning nothing or the DDL problem.
    fn ensure_table(&mut self, table: &str, fields: &Fields) -> Result<()> {
        let id = TableId::parse(table);
        let (rt, db) = self.conn.parts()?;
        if !self.tables.contains_key(table) {
            let cols = rt.block_on(db.columns(&id))?;
            if cols.is_empty() {
                if !self.auto_create {
                    return Err(Error::Connect(format!(
                        "Table \"{table}\" is missing and auto-creation is disabled"
                    )));
                }
                let mut defs = Vec::new();
                for (n, s) in &fields.keys {
                    defs.push(self.column_def(n, s, true)?);
                }
                for (n, s) in &fields.others {
                    defs.push(self.column_def(n, s, false)?);
                }
                if !fields.keys.is_empty() {
                    let keys: Vec<String> =
                        fields.keys.iter().map(|(n, _)| self.ident(n)).collect();
                    defs.push(format!("PRIMARY KEY({})", keys.join(",")));
                }
                let sql = format!(
                    "CREATE TABLE {} (\n{})",
                    self.conn.table(&id),
                    defs.join(",\n")
                );
                rt.block_on(db.execute(&sql))?;
                let cols = rt.block_on(db.columns(&id))?;
                self.tables.insert(table.to_string(), cols);
            } else {
                if !self.views_allowed {
                    let views = rt.block_on(db.tables(false, true))?;
                    let is_view = views.iter().any(|v| {
                        v.name == id.name && (id.schema.is_none() || v.schema == id.schema)
                    });
                    if is_view {
                        return Err(Error::Connect(format!(
                            "\"{table}\" is a VIEW, and table.types does not include VIEW"
                        )));
                    }
                }
                self.tables.insert(table.to_string(), cols);
            }
        }
        let existing = &self.tables[table];
        let missing: Vec<&(String, SchemaRef)> = fields
            .keys
            .iter()
            .chain(&fields.others)
            .filter(|(n, _)| !existing.iter().any(|c| c.name.eq_ignore_ascii_case(n)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = missing.iter().map(|(n, _)| n.as_str()).collect();
        if !self.auto_evolve {
            return Err(Error::Connect(format!(
                "Table \"{table}\" is missing fields ({names:?}) and auto-evolution is disabled"
            )));
        }
        let mut statements = Vec::new();
        for (n, s) in &missing {
            if !s.optional && s.default.is_none() {
                return Err(Error::Connect(format!(
                    "Cannot ALTER TABLE \"{table}\" to add missing field {n}, as the field is not optional and does not have a default value"
                )));
            }
            statements.push(format!(
                "ALTER TABLE {} ADD COLUMN {}",
                self.conn.table(&id),
                self.column_def(n, s, false)?
            ));
        }
        for sql in &statements {
            rt.block_on(db.execute(sql))?;
        }
        let cols = rt.block_on(db.columns(&id))?;
        self.tables.insert(table.to_string(), cols);
        Ok(())
    }

    /// The statement for one record and its parameters.
    fn statement(
        &self,
        table: &str,
        r: &SinkRecord,
        fields: &Fields,
    ) -> Result<(String, Vec<SqlValue>)> {
        let d = self.dialect();
        let t = self.conn.table(&TableId::parse(table));
        let key_names: Vec<String> = fields.keys.iter().map(|(n, _)| n.clone()).collect();
        let other_names: Vec<String> = fields.others.iter().map(|(n, _)| n.clone()).collect();
        let keys = self.key_values(r, fields)?;
        if r.record.value.is_null() {
            let conds: Vec<String> = key_names
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{}={}", self.ident(k), d.placeholder(i + 1)))
                .collect();
            return Ok((
                format!("DELETE FROM {t} WHERE {}", conds.join(" AND ")),
                keys,
            ));
        }
        let others = self.other_values(r, fields)?;
        let sql = match self.insert_mode {
            InsertMode::Insert => {
                let n = key_names.len() + other_names.len();
                format!("{}{}", self.insert_prefix(table, fields), d.tuples(1, n))
            }
            InsertMode::Upsert => {
                if key_names.is_empty() {
                    return Err(Error::Connect(format!(
                        "Write to table '{table}' in UPSERT mode requires key field names to be known, check the primary key configuration"
                    )));
                }
                d.upsert(&t, &key_names, &other_names, self.conn.quote)
            }
            InsertMode::Update => {
                if key_names.is_empty() || other_names.is_empty() {
                    return Err(Error::Connect(format!(
                        "Write to table '{table}' in UPDATE mode requires key field names and other fields to be known, check the primary key configuration"
                    )));
                }
                let sets: Vec<String> = other_names
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{}={}", self.ident(c), d.placeholder(i + 1)))
                    .collect();
                let conds: Vec<String> = key_names
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        format!(
                            "{}={}",
                            self.ident(c),
                            d.placeholder(other_names.len() + i + 1)
                        )
                    })
                    .collect();
                let sql = format!(
                    "UPDATE {t} SET {} WHERE {}",
                    sets.join(","),
                    conds.join(" AND ")
                );
                let mut params = others;
                params.extend(keys);
                return Ok((sql, params));
            }
        };
        let mut params = keys;
        params.extend(others);
        Ok((sql, params))
    }

    /// `INSERT INTO t(cols) VALUES`, for one row or several.
    fn insert_prefix(&self, table: &str, fields: &Fields) -> String {
        let cols: Vec<String> = fields
            .keys
            .iter()
            .chain(&fields.others)
            .map(|(c, _)| self.ident(c))
            .collect();
        format!(
            "INSERT INTO {}({}) VALUES",
            self.conn.table(&TableId::parse(table)),
            cols.join(",")
        )
    }

    fn write(&mut self, records: &[SinkRecord]) -> Result<()> {
        if self.conn.parts().is_err() {
            let mut conf = self
                .connection
                .clone()
                .ok_or_else(|| Error::Connect("the task was not started".into()))?;
            conf.attempts = 1;
            self.conn
                .open(&conf)
                .map_err(|e| Error::Retriable(e.to_string()))?;
        }
        // Runs of records with the same statement; plain inserts remember
        // their prefix so a run becomes multi-row INSERTs of batch.size rows.
        let mut batches: Vec<(String, Option<String>, Vec<Vec<SqlValue>>)> = Vec::new();
        for r in records {
            let table = self.table_name(&r.record.topic);
            if r.record.value.is_null() {
                if !self.delete_enabled {
                    // Confluent's sink skips tombstones unless deletes are enabled.
                    continue;
                }
            } else if r.record.value_schema.is_none() {
                return Err(Error::Connect(format!(
                    "Sink connector '{table}' requires records with a non-null Struct value and non-null Struct schema, but found record at (topic='{}',partition={},offset={}) with a {} value and null value schema.",
                    r.record.topic, r.original_partition, r.kafka_offset, r.record.value.java_class()
                )));
            }
            let fields = self.fields(&table, r)?;
            if !r.record.value.is_null() {
                self.ensure_table(&table, &fields)?;
            }
            let (sql, params) = self.statement(&table, r, &fields)?;
            match batches.last_mut() {
                Some((last, _, rows)) if *last == sql => rows.push(params),
                _ => {
                    let insert = (self.insert_mode == InsertMode::Insert
                        && !r.record.value.is_null())
                    .then(|| self.insert_prefix(&table, &fields));
                    batches.push((sql, insert, vec![params]));
                }
            }
        }
        if batches.is_empty() {
            return Ok(());
        }
        let d = self.dialect();
        let mut statements: Vec<(String, Vec<Vec<SqlValue>>)> = Vec::new();
        for (sql, insert, rows) in batches {
            match insert {
                Some(prefix) if rows.len() > 1 => {
                    let cols = rows[0].len().max(1);
                    let per = self.batch_size.min(d.max_params() / cols).max(1);
                    for chunk in rows.chunks(per) {
                        statements.push((
                            format!("{prefix}{}", d.tuples(chunk.len(), cols)),
                            vec![chunk.concat()],
                        ));
                    }
                }
                _ => statements.push((sql, rows)),
            }
        }
        let (rt, db) = self.conn.parts()?;
        rt.block_on(db.write(&statements))?;
        Ok(())
    }
}

/// A schema default as a SQL literal (primitives only).
fn sql_literal(v: &Value) -> Option<String> {
    Some(match v {
        Value::Boolean(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Value::Int8(n) => n.to_string(),
        Value::Int16(n) => n.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Float32(n) => n.to_string(),
        Value::Float64(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ConnectRecord, SchemaBuilder, Struct};

    fn task(pk_mode: PkMode, insert_mode: InsertMode, pk_fields: &[&str]) -> JdbcSinkTask {
        JdbcSinkTask {
            conn: Conn {
                quote: true,
                ..std::default::Default::default()
            },
            pk_mode,
            insert_mode,
            pk_fields: pk_fields.iter().map(|s| s.to_string()).collect(),
            table_format: "${topic}".into(),
            ..std::default::Default::default()
        }
    }

    fn record(
        key: Option<(SchemaRef, Value)>,
        value: Value,
        schema: Option<SchemaRef>,
    ) -> SinkRecord {
        let mut rec = ConnectRecord::new("orders", schema, value);
        if let Some((ks, k)) = key {
            rec.key_schema = Some(ks);
            rec.key = k;
        }
        SinkRecord {
            record: rec,
            kafka_offset: 42,
            original_partition: 3,
            original_topic: "orders".into(),
        }
    }

    fn value_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .field("id", Schema::of(Type::Int32))
            .field("name", Schema::optional(Type::String))
            .build()
    }

    fn value(id: i32, name: &str) -> Value {
        Value::Struct(
            Struct::new(value_schema())
                .with("id", Value::Int32(id))
                .unwrap()
                .with("name", Value::String(name.into()))
                .unwrap(),
        )
    }

    #[test]
    fn upsert_by_record_value() {
        let t = task(PkMode::RecordValue, InsertMode::Upsert, &["id"]);
        let r = record(None, value(1, "a"), Some(value_schema()));
        let fields = t.fields("orders", &r).unwrap();
        assert_eq!(fields.keys.len(), 1);
        assert_eq!(fields.others[0].0, "name");
        let (sql, params) = t.statement("orders", &r, &fields).unwrap();
        assert_eq!(
            sql,
            "INSERT INTO \"orders\" (\"id\",\"name\") VALUES ($1,$2) ON CONFLICT (\"id\") DO UPDATE SET \"name\"=EXCLUDED.\"name\""
        );
        assert_eq!(params, vec![SqlValue::I32(1), SqlValue::Text("a".into())]);
    }

    #[test]
    fn kafka_coordinates_and_updates() {
        let t = task(PkMode::Kafka, InsertMode::Insert, &[]);
        let r = record(None, value(1, "a"), Some(value_schema()));
        let fields = t.fields("orders", &r).unwrap();
        let (sql, params) = t.statement("orders", &r, &fields).unwrap();
        assert!(sql.starts_with("INSERT INTO \"orders\"(\"__connect_topic\",\"__connect_partition\",\"__connect_offset\",\"id\",\"name\")"), "{sql}");
        assert_eq!(
            &params[..3],
            &[
                SqlValue::Text("orders".into()),
                SqlValue::I32(3),
                SqlValue::I64(42)
            ]
        );

        let t = task(PkMode::RecordKey, InsertMode::Update, &["id"]);
        let r = record(
            Some((Schema::of(Type::Int64), Value::Int64(9))),
            value(9, "b"),
            Some(
                SchemaBuilder::struct_()
                    .field("name", Schema::optional(Type::String))
                    .build(),
            ),
        );
        let r = SinkRecord {
            record: ConnectRecord {
                value: Value::Struct(
                    Struct::new(r.record.value_schema.clone().unwrap())
                        .with("name", Value::String("b".into()))
                        .unwrap(),
                ),
                ..r.record
            },
            ..r
        };
        let fields = t.fields("orders", &r).unwrap();
        let (sql, params) = t.statement("orders", &r, &fields).unwrap();
        assert_eq!(sql, "UPDATE \"orders\" SET \"name\"=$1 WHERE \"id\"=$2");
        assert_eq!(params, vec![SqlValue::Text("b".into()), SqlValue::I64(9)]);
    }

    #[test]
    fn tombstones_delete_by_key() {
        let t = task(PkMode::RecordKey, InsertMode::Upsert, &["id"]);
        let r = record(
            Some((Schema::of(Type::Int32), Value::Int32(5))),
            Value::Null,
            None,
        );
        let fields = t.fields("orders", &r).unwrap();
        let (sql, params) = t.statement("orders", &r, &fields).unwrap();
        assert_eq!(sql, "DELETE FROM \"orders\" WHERE \"id\"=$1");
        assert_eq!(params, vec![SqlValue::I32(5)]);
    }

    #[test]
    fn primitive_key_needs_one_pk_field() {
        let t = task(PkMode::RecordKey, InsertMode::Upsert, &[]);
        let r = record(
            Some((Schema::of(Type::Int32), Value::Int32(5))),
            value(5, "x"),
            Some(value_schema()),
        );
        let e = t.fields("orders", &r).unwrap_err().to_string();
        assert!(e.contains("Need exactly one PK column"), "{e}");
    }
}
