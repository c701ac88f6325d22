//! API v2: `application/vnd.kafka[.{format}].v2+json`.
//!
//! - [`topics`] — `GET /topics`, `GET /topics/{t}`, `GET /topics/{t}/partitions[/{p}[/offsets]]`, `GET /brokers`
//! - [`produce`] — `POST /topics/{t}`, `POST /topics/{t}/partitions/{p}`
//! - [`consumers`] — `/consumers/{g}` instances: subscription, assignments,
//!   positions, records, offsets

pub mod consumers;
pub mod produce;
pub mod topics;

use axum::http::HeaderMap;
use axum::Router;
use strom_schema_registry::schema::SchemaType;

use super::AppState;
use crate::error::Error;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(topics::routes())
        .merge(produce::routes())
        .merge(consumers::routes())
}

/// An embedded format of v2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Binary,
    Json,
    Avro,
    JsonSchema,
    Protobuf,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Binary => "binary",
            Format::Json => "json",
            Format::Avro => "avro",
            Format::JsonSchema => "jsonschema",
            Format::Protobuf => "protobuf",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "binary" => Format::Binary,
            "json" => Format::Json,
            "avro" => Format::Avro,
            "jsonschema" => Format::JsonSchema,
            "protobuf" => Format::Protobuf,
            _ => return None,
        })
    }

    /// The schema type of a schema-based format.
    pub fn schema_type(self) -> Option<SchemaType> {
        match self {
            Format::Avro => Some(SchemaType::Avro),
            Format::JsonSchema => Some(SchemaType::Json),
            Format::Protobuf => Some(SchemaType::Protobuf),
            Format::Binary | Format::Json => None,
        }
    }

    /// The media type of records in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Binary => "application/vnd.kafka.binary.v2+json",
            Format::Json => "application/vnd.kafka.json.v2+json",
            Format::Avro => "application/vnd.kafka.avro.v2+json",
            Format::JsonSchema => "application/vnd.kafka.jsonschema.v2+json",
            Format::Protobuf => "application/vnd.kafka.protobuf.v2+json",
        }
    }
}

/// The embedded format a media type names: `Some(None)` for
/// `application/vnd.kafka.v2+json` / `application/json` (no embedded
/// format), `None` for anything that is not a v2 media type.
pub fn media_type_format(media: &str) -> Option<Option<Format>> {
    let media = media.trim().to_ascii_lowercase();
    if media == "application/vnd.kafka.v2+json" || media == "application/json" {
        return Some(None);
    }
    let inner = media
        .strip_prefix("application/vnd.kafka.")?
        .strip_suffix(".v2+json")?;
    Format::parse(inner).map(Some)
}

/// The embedded format of a request body, from its `Content-Type`;
/// a media type that is not v2's is 415.
pub fn body_format(headers: &HeaderMap, default: Format) -> Result<Format, Error> {
    let ct = super::content_type(headers).ok_or(Error::UnsupportedMediaType)?;
    match media_type_format(&ct) {
        Some(Some(f)) => Ok(f),
        Some(None) => Ok(default),
        _ => Err(Error::UnsupportedMediaType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert_eq!(
            media_type_format("application/vnd.kafka.binary.v2+json"),
            Some(Some(Format::Binary))
        );
        assert_eq!(
            media_type_format("application/vnd.kafka.jsonschema.v2+json"),
            Some(Some(Format::JsonSchema))
        );
        assert_eq!(
            media_type_format("application/vnd.kafka.v2+json"),
            Some(None)
        );
        assert_eq!(media_type_format("application/vnd.kafka.xml.v2+json"), None);
        assert_eq!(media_type_format("text/plain"), None);
    }
}
