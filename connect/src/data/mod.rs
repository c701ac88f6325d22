//! Connect's data model: [`Schema`] (the types INT8..INT64, FLOAT32/64,
//! BOOLEAN, STRING, BYTES, ARRAY, MAP, STRUCT; optional, default, name,
//! version, doc, parameters; the logical types Decimal, Date, Time,
//! Timestamp), [`Value`] and [`Struct`], and [`ConnectRecord`] with its
//! source and sink forms.

pub mod record;
pub mod schema;
pub mod value;

pub use record::{ConnectRecord, Header, SinkRecord, SourceRecord};
pub use schema::{logical, Field, Schema, SchemaBuilder, SchemaRef, Type};
pub use value::{Struct, Value};
