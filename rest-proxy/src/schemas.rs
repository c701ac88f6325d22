//! Schemas for the `avro`, `jsonschema` and `protobuf` formats: registered
//! and looked up through the schema registry library's caching client,
//! parsed once per id (references resolved), and the values converted with
//! its [`strom_schema_registry::codec`].
//!
//! Subjects follow TopicNameStrategy: `{topic}-key`, `{topic}-value`.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use strom_schema_registry::client::{RegisteredSchema, RegistryClient};
use strom_schema_registry::codec::{self, CodecError};
use strom_schema_registry::schema::{ParsedSchema, ResolvedReference, SchemaReference, SchemaType};

use crate::error::{Error, Result};

/// A schema the proxy serializes with.
#[derive(Clone)]
pub struct Resolved {
    pub id: i32,
    pub subject: Option<String>,
    pub version: Option<i32>,
    pub schema: Arc<ParsedSchema>,
}

/// The schema registry as the proxy uses it.
pub struct Schemas {
    client: Option<RegistryClient>,
    parsed: Mutex<HashMap<i32, Arc<ParsedSchema>>>,
    versions: Mutex<HashMap<(String, i32), i32>>,
}

/// TopicNameStrategy's subject.
pub fn subject(topic: &str, is_key: bool) -> String {
    format!("{topic}-{}", if is_key { "key" } else { "value" })
}

fn registry_error(e: strom_schema_registry::Error) -> Error {
    use strom_schema_registry::Error as E;
    match e {
        E::Remote {
            status: 422,
            message,
            ..
        } => Error::InvalidSchema(message),
        E::Remote {
            status,
            error_code,
            message,
        } => Error::SchemaRetrieval(format!(
            "{message} (HTTP {status}, error code {error_code})"
        )),
        other => Error::SchemaRetrieval(other.to_string()),
    }
}

/// A value that does not fit its schema: 42205; bytes that do not decode: a Kafka error.
pub fn codec_error(e: CodecError) -> Error {
    match e {
        CodecError::Mismatch(m) => Error::InvalidSchema(m),
        CodecError::Malformed(m) => Error::Kafka {
            message: format!("Error deserializing a record: {m}"),
            retriable: false,
        },
    }
}

impl Schemas {
    pub fn new(url: Option<&str>) -> Result<Schemas> {
        let client = match url {
            Some(u) => Some(RegistryClient::new(u).map_err(|e| Error::Config(e.to_string()))?),
            None => None,
        };
        Ok(Schemas {
            client,
            parsed: Mutex::new(HashMap::new()),
            versions: Mutex::new(HashMap::new()),
        })
    }

    pub fn configured(&self) -> bool {
        self.client.is_some()
    }

    fn client(&self) -> Result<&RegistryClient> {
        self.client.as_ref().ok_or_else(|| {
            Error::SchemaRetrieval("no schema registry is configured (schema.registry.url)".into())
        })
    }

    /// References resolved depth-first, as the schema model takes them.
    async fn resolve_refs(&self, refs: &[SchemaReference]) -> Result<Vec<ResolvedReference>> {
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            let s = self
                .client()?
                .version(&r.subject, r.version)
                .await
                .map_err(registry_error)?;
            let nested = Box::pin(self.resolve_refs(&s.references)).await?;
            out.push(ResolvedReference {
                name: r.name.clone(),
                schema_type: s.schema_type,
                schema: s.schema,
                references: nested,
            });
        }
        Ok(out)
    }

    async fn parse(&self, s: &RegisteredSchema) -> Result<Arc<ParsedSchema>> {
        if let Some(p) = self.parsed.lock().get(&s.id) {
            return Ok(p.clone());
        }
        let refs = self.resolve_refs(&s.references).await?;
        let parsed = Arc::new(
            ParsedSchema::parse(s.schema_type, &s.schema, &refs)
                .map_err(|e| Error::InvalidSchema(e.message))?,
        );
        self.parsed.lock().insert(s.id, parsed.clone());
        Ok(parsed)
    }

    fn check_type(expected: Option<SchemaType>, s: &RegisteredSchema) -> Result<()> {
        match expected {
            Some(t) if t != s.schema_type => Err(Error::InvalidSchema(format!(
                "schema {} is a {} schema, not {}",
                s.id, s.schema_type, t
            ))),
            _ => Ok(()),
        }
    }

    /// The schema with `id` (of type `expected` when given).
    pub async fn by_id(&self, id: i32, expected: Option<SchemaType>) -> Result<Resolved> {
        let s = self
            .client()?
            .schema_by_id(id)
            .await
            .map_err(registry_error)?;
        Self::check_type(expected, &s)?;
        Ok(Resolved {
            id,
            subject: None,
            version: None,
            schema: self.parse(&s).await?,
        })
    }

    /// The schema with `id`, and its version under `subject`.
    pub async fn by_id_in(
        &self,
        subject: &str,
        id: i32,
        expected: Option<SchemaType>,
    ) -> Result<Resolved> {
        let s = self
            .client()?
            .schema_by_id(id)
            .await
            .map_err(registry_error)?;
        Self::check_type(expected, &s)?;
        let key = (subject.to_string(), id);
        let cached = self.versions.lock().get(&key).copied();
        let version = match cached {
            Some(v) => v,
            None => {
                let found = self
                    .client()?
                    .lookup(subject, s.schema_type, &s.schema, &s.references)
                    .await
                    .map_err(registry_error)?;
                let v = found.version.unwrap_or(-1);
                self.versions.lock().insert(key, v);
                v
            }
        };
        Ok(Resolved {
            id,
            subject: Some(subject.to_string()),
            version: Some(version),
            schema: self.parse(&s).await?,
        })
    }

    /// Version `version` of `subject`.
    pub async fn by_version(
        &self,
        subject: &str,
        version: i32,
        expected: Option<SchemaType>,
    ) -> Result<Resolved> {
        let s = self
            .client()?
            .version(subject, version)
            .await
            .map_err(registry_error)?;
        Self::check_type(expected, &s)?;
        Ok(Resolved {
            id: s.id,
            subject: Some(subject.to_string()),
            version: s.version,
            schema: self.parse(&s).await?,
        })
    }

    /// The latest version of `subject`.
    pub async fn latest(&self, subject: &str, expected: Option<SchemaType>) -> Result<Resolved> {
        let s = self
            .client()?
            .latest(subject)
            .await
            .map_err(registry_error)?;
        Self::check_type(expected, &s)?;
        Ok(Resolved {
            id: s.id,
            subject: Some(subject.to_string()),
            version: s.version,
            schema: self.parse(&s).await?,
        })
    }

    /// Register `text` under `subject` (or find it there); parse errors are 42205.
    pub async fn register(
        &self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
    ) -> Result<Resolved> {
        ParsedSchema::parse(schema_type, text, &[]).map_err(|e| Error::InvalidSchema(e.message))?;
        let id = self
            .client()?
            .register(subject, schema_type, text, &[])
            .await
            .map_err(registry_error)?;
        self.by_id_in(subject, id, Some(schema_type)).await
    }

    /// Serialize a JSON value with a resolved schema (Confluent's framing).
    pub fn serialize(&self, schema: &Resolved, value: &Value) -> Result<Vec<u8>> {
        codec::encode(&schema.schema, schema.id, value).map_err(codec_error)
    }

    /// Deserialize a framed payload; `expected` is the consumer's format.
    pub async fn deserialize(&self, bytes: &[u8], expected: SchemaType) -> Result<Value> {
        let (id, payload) = codec::split(bytes).map_err(codec_error)?;
        let s = self.by_id(id, None).await?;
        if s.schema.schema_type() != expected {
            return Err(Error::Kafka {
                message: format!(
                    "Error deserializing a record: schema {id} is {}, the consumer reads {expected}",
                    s.schema.schema_type()
                ),
                retriable: false,
            });
        }
        codec::decode(&s.schema, payload).map_err(codec_error)
    }
}
