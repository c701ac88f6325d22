//! What differs between the databases: identifier quoting, placeholders,
//! the SQL type of a Connect schema, the Connect schema of a SQL type, upsert.

use std::fmt;

use crate::data::schema::logical;
use crate::data::{Schema, SchemaBuilder, SchemaRef, Type};
use crate::error::{Error, Result};

/// A database dialect (Confluent's `PostgreSqlDatabaseDialect`,
/// `MySqlDatabaseDialect`, `SqliteDatabaseDialect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

/// A table, with its schema (namespace) where the database has them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId {
    pub schema: Option<String>,
    pub name: String,
}

impl TableId {
    /// `schema.table` or `table`, as `table.whitelist` and the source
    /// partition write it.
    pub fn parse(s: &str) -> TableId {
        match s.rsplit_once('.') {
            Some((schema, name)) => TableId {
                schema: Some(schema.trim_matches('"').to_string()),
                name: name.trim_matches('"').to_string(),
            },
            None => TableId {
                schema: None,
                name: s.trim_matches('"').to_string(),
            },
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// How a column's values are read and what Connect schema they get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Bool,
    Int16,
    Int32,
    Int64,
    /// MySQL's unsigned integers, as INT64.
    UInt64,
    Float32,
    Float64,
    /// NUMERIC/DECIMAL with a known scale: Connect's Decimal.
    Decimal(i32),
    Text,
    Bytes,
    Date,
    Time,
    /// TIMESTAMP without time zone, read as UTC (`db.timezone`).
    Timestamp,
    /// TIMESTAMP WITH TIME ZONE.
    TimestampTz,
    /// PostgreSQL UUID, as a STRING.
    Uuid,
    /// PostgreSQL JSON/JSONB, as a STRING.
    Json,
    /// A type with no Connect mapping: the column is left out, as Confluent's
    /// connector does, with a warning.
    Unsupported,
}

impl ColumnKind {
    /// The Connect schema of the column's values.
    pub fn schema(self, optional: bool) -> Option<SchemaRef> {
        let b = match self {
            ColumnKind::Bool => SchemaBuilder::new(Type::Boolean),
            ColumnKind::Int16 => SchemaBuilder::new(Type::Int16),
            ColumnKind::Int32 => SchemaBuilder::new(Type::Int32),
            ColumnKind::Int64 | ColumnKind::UInt64 => SchemaBuilder::new(Type::Int64),
            ColumnKind::Float32 => SchemaBuilder::new(Type::Float32),
            ColumnKind::Float64 => SchemaBuilder::new(Type::Float64),
            ColumnKind::Decimal(scale) => logical::decimal(scale),
            ColumnKind::Text | ColumnKind::Uuid | ColumnKind::Json => {
                SchemaBuilder::new(Type::String)
            }
            ColumnKind::Bytes => SchemaBuilder::new(Type::Bytes),
            ColumnKind::Date => logical::date(),
            ColumnKind::Time => logical::time(),
            ColumnKind::Timestamp | ColumnKind::TimestampTz => logical::timestamp(),
            ColumnKind::Unsupported => return None,
        };
        Some(b.set_optional(optional).build())
    }

    /// Whether values of this kind can be an incrementing column.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            ColumnKind::Int16
                | ColumnKind::Int32
                | ColumnKind::Int64
                | ColumnKind::UInt64
                | ColumnKind::Decimal(0)
        )
    }

    pub fn is_timestamp(self) -> bool {
        matches!(
            self,
            ColumnKind::Timestamp | ColumnKind::TimestampTz | ColumnKind::Date
        )
    }
}

/// `numeric.mapping`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumericMapping {
    None,
    PrecisionOnly,
    BestFit,
    BestFitEagerDouble,
}

impl NumericMapping {
    pub fn parse(s: &str) -> NumericMapping {
        match s.to_ascii_lowercase().as_str() {
            "precision_only" => NumericMapping::PrecisionOnly,
            "best_fit" => NumericMapping::BestFit,
            "best_fit_eager_double" => NumericMapping::BestFitEagerDouble,
            _ => NumericMapping::None,
        }
    }

    /// The kind of a NUMERIC(precision, scale) column.
    pub fn numeric(self, precision: Option<i32>, scale: Option<i32>) -> ColumnKind {
        let (p, s) = match (precision, scale) {
            (Some(p), Some(s)) if p > 0 => (p, s),
            // Unconstrained NUMERIC: no fixed scale for a Decimal schema.
            _ => return ColumnKind::Float64,
        };
        if self != NumericMapping::None && s == 0 && p <= 18 {
            return match p {
                0..=4 => ColumnKind::Int16,
                5..=9 => ColumnKind::Int32,
                _ => ColumnKind::Int64,
            };
        }
        match self {
            NumericMapping::BestFit if s > 0 && p <= 15 => ColumnKind::Float64,
            NumericMapping::BestFitEagerDouble if s > 0 => ColumnKind::Float64,
            _ => ColumnKind::Decimal(s),
        }
    }
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSqlDatabaseDialect",
            Dialect::MySql => "MySqlDatabaseDialect",
            Dialect::Sqlite => "SqliteDatabaseDialect",
        }
    }

    /// An identifier, quoted when `quote` (`"x"`; MySQL: `` `x` ``).
    pub fn ident(self, name: &str, quote: bool) -> String {
        match (quote, self) {
            (false, _) => name.to_string(),
            (true, Dialect::MySql) => format!("`{}`", name.replace('`', "``")),
            (true, _) => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    pub fn table(self, t: &TableId, quote: bool) -> String {
        match &t.schema {
            Some(s) if self != Dialect::Sqlite => {
                format!("{}.{}", self.ident(s, quote), self.ident(&t.name, quote))
            }
            _ => self.ident(&t.name, quote),
        }
    }

    /// The `n`th (1-based) statement parameter.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::MySql => "?".to_string(),
            Dialect::Sqlite => format!("?{n}"),
        }
    }

    /// `(p1,..,pcols),(..)` for `rows` rows: the VALUES of a multi-row INSERT.
    pub fn tuples(self, rows: usize, cols: usize) -> String {
        let mut out = String::new();
        for r in 0..rows {
            if r > 0 {
                out.push(',');
            }
            let ps: Vec<String> = (1..=cols).map(|c| self.placeholder(r * cols + c)).collect();
            out.push_str(&format!("({})", ps.join(",")));
        }
        out
    }

    /// The most parameters one statement may have.
    pub fn max_params(self) -> usize {
        match self {
            Dialect::Postgres | Dialect::MySql => 65_535,
            // SQLITE_MAX_VARIABLE_NUMBER since 3.32.
            Dialect::Sqlite => 32_766,
        }
    }

    /// The column kind of a SQL type name (as the catalog or the driver
    /// reports it), with NUMERIC's precision and scale when known.
    pub fn kind_of(
        self,
        type_name: &str,
        precision: Option<i32>,
        scale: Option<i32>,
        numeric: NumericMapping,
    ) -> ColumnKind {
        let t = type_name.trim().to_ascii_uppercase();
        let base = t.split('(').next().unwrap_or_default().trim();
        // NUMERIC(10,2) as SQLite declares it.
        let (precision, scale) = match (precision, parse_precision(&t)) {
            (None, Some((p, s))) => (Some(p), Some(s)),
            _ => (precision, scale),
        };
        match self {
            Dialect::Postgres => match base {
                "BOOL" | "BOOLEAN" => ColumnKind::Bool,
                "INT2" | "SMALLINT" => ColumnKind::Int16,
                "INT4" | "INTEGER" | "INT" | "SERIAL" => ColumnKind::Int32,
                "INT8" | "BIGINT" | "BIGSERIAL" | "OID" => ColumnKind::Int64,
                "FLOAT4" | "REAL" => ColumnKind::Float32,
                "FLOAT8" | "DOUBLE PRECISION" => ColumnKind::Float64,
                "NUMERIC" | "DECIMAL" => numeric.numeric(precision, scale),
                "TEXT" | "VARCHAR" | "CHARACTER VARYING" | "BPCHAR" | "CHARACTER" | "CHAR"
                | "NAME" | "CITEXT" => ColumnKind::Text,
                "BYTEA" => ColumnKind::Bytes,
                "DATE" => ColumnKind::Date,
                "TIME" | "TIME WITHOUT TIME ZONE" => ColumnKind::Time,
                "TIMESTAMP" | "TIMESTAMP WITHOUT TIME ZONE" => ColumnKind::Timestamp,
                "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => ColumnKind::TimestampTz,
                "UUID" => ColumnKind::Uuid,
                "JSON" | "JSONB" => ColumnKind::Json,
                _ => ColumnKind::Unsupported,
            },
            // COLUMN_TYPE as information_schema gives it (`int(11) unsigned`,
            // `tinyint(1)`), or the driver's type name (`INT UNSIGNED`).
            Dialect::MySql => {
                let unsigned = t.contains("UNSIGNED");
                let base = base.trim_end_matches(" UNSIGNED").trim();
                match base {
                    "TINYINT" if t.starts_with("TINYINT(1)") => ColumnKind::Bool,
                    "BOOLEAN" | "BOOL" => ColumnKind::Bool,
                    _ if unsigned
                        && matches!(
                            base,
                            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "INTEGER" | "BIGINT"
                        ) =>
                    {
                        ColumnKind::UInt64
                    }
                    "TINYINT" | "SMALLINT" => ColumnKind::Int16,
                    "MEDIUMINT" | "INT" | "INTEGER" => ColumnKind::Int32,
                    "BIGINT" => ColumnKind::Int64,
                    "FLOAT" => ColumnKind::Float32,
                    "DOUBLE" | "REAL" => ColumnKind::Float64,
                    "DECIMAL" | "NUMERIC" => numeric.numeric(precision, scale),
                    "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT"
                    | "ENUM" | "SET" => ColumnKind::Text,
                    "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                        ColumnKind::Bytes
                    }
                    "DATE" => ColumnKind::Date,
                    "TIME" => ColumnKind::Time,
                    "DATETIME" => ColumnKind::Timestamp,
                    "TIMESTAMP" => ColumnKind::TimestampTz,
                    "JSON" => ColumnKind::Json,
                    _ => ColumnKind::Unsupported,
                }
            }
            // SQLite's declared types follow its affinity rules.
            Dialect::Sqlite => match base {
                "BOOLEAN" | "BOOL" => ColumnKind::Bool,
                "DATE" => ColumnKind::Date,
                "TIME" => ColumnKind::Time,
                "DATETIME" | "TIMESTAMP" => ColumnKind::Timestamp,
                "NUMERIC" | "DECIMAL" => numeric.numeric(precision, scale),
                _ if base.contains("INT") => ColumnKind::Int64,
                _ if base.contains("CHAR") || base.contains("CLOB") || base.contains("TEXT") => {
                    ColumnKind::Text
                }
                _ if base.contains("BLOB") || base.is_empty() => ColumnKind::Bytes,
                _ if base.contains("REAL") || base.contains("FLOA") || base.contains("DOUB") => {
                    ColumnKind::Float64
                }
                "NULL" => ColumnKind::Unsupported,
                _ => ColumnKind::Float64,
            },
        }
    }

    /// The SQL type of a column holding values of `schema` (auto.create /
    /// auto.evolve); `key`: a primary key column (MySQL cannot index TEXT).
    pub fn sql_type(self, schema: &Schema, key: bool) -> Result<String> {
        if let Some(name) = &schema.name {
            let t = match (self, name.as_str()) {
                (Dialect::Postgres, logical::DECIMAL) => Some("DECIMAL".to_string()),
                (Dialect::MySql, logical::DECIMAL) => Some(format!(
                    "DECIMAL(65,{})",
                    logical::scale(schema).clamp(0, 30)
                )),
                (Dialect::MySql, logical::TIME) => Some("TIME(3)".to_string()),
                (Dialect::MySql, logical::TIMESTAMP) => Some("DATETIME(3)".to_string()),
                (Dialect::Sqlite, logical::DECIMAL) => Some("NUMERIC".to_string()),
                (_, logical::DATE) => Some("DATE".to_string()),
                (_, logical::TIME) => Some("TIME".to_string()),
                (Dialect::Postgres, logical::TIMESTAMP) => Some("TIMESTAMP".to_string()),
                (Dialect::Sqlite, logical::TIMESTAMP) => Some("DATETIME".to_string()),
                _ => None,
            };
            if let Some(t) = t {
                return Ok(t);
            }
        }
        let t = match (self, schema.ty) {
            (Dialect::Postgres, Type::Int8 | Type::Int16) => "SMALLINT",
            (Dialect::Postgres, Type::Int32) => "INT",
            (Dialect::Postgres, Type::Int64) => "BIGINT",
            (Dialect::Postgres, Type::Float32) => "REAL",
            (Dialect::Postgres, Type::Float64) => "DOUBLE PRECISION",
            (Dialect::Postgres, Type::Boolean) => "BOOLEAN",
            (Dialect::Postgres, Type::String) => "TEXT",
            (Dialect::Postgres, Type::Bytes) => "BYTEA",
            (Dialect::MySql, Type::Int8) => "TINYINT",
            (Dialect::MySql, Type::Int16) => "SMALLINT",
            (Dialect::MySql, Type::Int32) => "INT",
            (Dialect::MySql, Type::Int64) => "BIGINT",
            (Dialect::MySql, Type::Float32) => "FLOAT",
            (Dialect::MySql, Type::Float64) => "DOUBLE",
            (Dialect::MySql, Type::Boolean) => "TINYINT",
            (Dialect::MySql, Type::String) if key => "VARCHAR(256)",
            (Dialect::MySql, Type::String) => "TEXT",
            (Dialect::MySql, Type::Bytes) if key => "VARBINARY(1024)",
            (Dialect::MySql, Type::Bytes) => "BLOB",
            (Dialect::Sqlite, Type::Int8 | Type::Int16 | Type::Int32 | Type::Int64) => "INTEGER",
            (Dialect::Sqlite, Type::Float32 | Type::Float64) => "REAL",
            (Dialect::Sqlite, Type::Boolean) => "INTEGER",
            (Dialect::Sqlite, Type::String) => "TEXT",
            (Dialect::Sqlite, Type::Bytes) => "BLOB",
            (_, ty) => {
                return Err(Error::Connect(format!(
                    "{} (SqlType) type doesn't have a mapping to the SQL database column type",
                    ty.upper_name()
                )))
            }
        };
        Ok(t.to_string())
    }

    /// `INSERT ... ON CONFLICT (keys) DO UPDATE SET ...` (PostgreSQL, SQLite ≥
    /// 3.24); MySQL: `INSERT ... ON DUPLICATE KEY UPDATE ...`.
    pub fn upsert(self, table: &str, keys: &[String], others: &[String], quote: bool) -> String {
        let all: Vec<String> = keys
            .iter()
            .chain(others)
            .map(|c| self.ident(c, quote))
            .collect();
        let params: Vec<String> = (1..=all.len()).map(|i| self.placeholder(i)).collect();
        if self == Dialect::MySql {
            // With nothing to update, a key column set to itself keeps the row.
            let sets: Vec<String> = if others.is_empty() { keys } else { others }
                .iter()
                .map(|c| {
                    let c = self.ident(c, quote);
                    format!("{c}=VALUES({c})")
                })
                .collect();
            return format!(
                "INSERT INTO {table}({}) VALUES({}) ON DUPLICATE KEY UPDATE {}",
                all.join(","),
                params.join(","),
                sets.join(",")
            );
        }
        let conflict: Vec<String> = keys.iter().map(|c| self.ident(c, quote)).collect();
        let action = if others.is_empty() {
            "DO NOTHING".to_string()
        } else {
            let sets: Vec<String> = others
                .iter()
                .map(|c| {
                    let c = self.ident(c, quote);
                    format!("{c}=EXCLUDED.{c}")
                })
                .collect();
            format!("DO UPDATE SET {}", sets.join(","))
        };
        format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) {action}",
            all.join(","),
            params.join(","),
            conflict.join(",")
        )
    }
}

/// `(precision, scale)` from a declared type such as `NUMERIC(10,2)`.
fn parse_precision(t: &str) -> Option<(i32, i32)> {
    let inner = t.split_once('(')?.1.split_once(')')?.0;
    let mut parts = inner.split(',').map(|p| p.trim().parse::<i32>());
    let p = parts.next()?.ok()?;
    let s = match parts.next() {
        Some(s) => s.ok()?,
        None => 0,
    };
    Some((p, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_sql_types() {
        let n = NumericMapping::None;
        assert_eq!(
            Dialect::Postgres.kind_of("INT4", None, None, n),
            ColumnKind::Int32
        );
        assert_eq!(
            Dialect::Postgres.kind_of("timestamp without time zone", None, None, n),
            ColumnKind::Timestamp
        );
        assert_eq!(
            Dialect::Postgres.kind_of("NUMERIC", Some(10), Some(2), n),
            ColumnKind::Decimal(2)
        );
        assert_eq!(
            Dialect::Postgres.kind_of("NUMERIC", Some(10), Some(2), NumericMapping::BestFit),
            ColumnKind::Float64
        );
        assert_eq!(
            Dialect::Postgres.kind_of("NUMERIC", Some(9), Some(0), NumericMapping::BestFit),
            ColumnKind::Int32
        );
        assert_eq!(
            Dialect::Sqlite.kind_of("DECIMAL(12,3)", None, None, n),
            ColumnKind::Decimal(3)
        );
        assert_eq!(
            Dialect::Sqlite.kind_of("varchar(20)", None, None, n),
            ColumnKind::Text
        );
        assert_eq!(
            Dialect::Sqlite.kind_of("BIGINT", None, None, n),
            ColumnKind::Int64
        );
        assert_eq!(
            Dialect::Postgres.kind_of("point", None, None, n),
            ColumnKind::Unsupported
        );
    }

    #[test]
    fn upsert_statements() {
        assert_eq!(
            Dialect::Postgres.upsert("\"t\"", &["id".into()], &["a".into(), "b".into()], true),
            "INSERT INTO \"t\" (\"id\",\"a\",\"b\") VALUES ($1,$2,$3) ON CONFLICT (\"id\") DO UPDATE SET \"a\"=EXCLUDED.\"a\",\"b\"=EXCLUDED.\"b\""
        );
        assert_eq!(
            Dialect::Sqlite.upsert("t", &["id".into()], &[], false),
            "INSERT INTO t (id) VALUES (?1) ON CONFLICT (id) DO NOTHING"
        );
    }

    #[test]
    fn mysql() {
        let n = NumericMapping::None;
        let m = Dialect::MySql;
        assert_eq!(m.kind_of("tinyint(1)", None, None, n), ColumnKind::Bool);
        assert_eq!(
            m.kind_of("int(11) unsigned", None, None, n),
            ColumnKind::UInt64
        );
        assert_eq!(m.kind_of("INT", None, None, n), ColumnKind::Int32);
        assert_eq!(
            m.kind_of("decimal(10,2)", Some(10), Some(2), n),
            ColumnKind::Decimal(2)
        );
        assert_eq!(
            m.kind_of("datetime(3)", None, None, n),
            ColumnKind::Timestamp
        );
        assert_eq!(m.ident("a`b", true), "`a``b`");
        assert_eq!(
            m.upsert("`t`", &["id".into()], &["v".into()], true),
            "INSERT INTO `t`(`id`,`v`) VALUES(?,?) ON DUPLICATE KEY UPDATE `v`=VALUES(`v`)"
        );
        assert_eq!(
            m.sql_type(&Schema::of(Type::String), true).unwrap(),
            "VARCHAR(256)"
        );
        assert_eq!(
            m.sql_type(&Schema::of(Type::String), false).unwrap(),
            "TEXT"
        );
    }

    #[test]
    fn multi_row_values() {
        assert_eq!(Dialect::Postgres.tuples(2, 2), "($1,$2),($3,$4)");
        assert_eq!(Dialect::MySql.tuples(2, 1), "(?),(?)");
        assert_eq!(Dialect::Sqlite.tuples(1, 3), "(?1,?2,?3)");
    }

    #[test]
    fn table_ids() {
        let t = TableId::parse("public.orders");
        assert_eq!(t.schema.as_deref(), Some("public"));
        assert_eq!(Dialect::Postgres.table(&t, true), "\"public\".\"orders\"");
        assert_eq!(Dialect::Sqlite.table(&TableId::parse("x"), true), "\"x\"");
        assert_eq!(Dialect::Postgres.ident("we\"ird", true), "\"we\"\"ird\"");
    }
}
