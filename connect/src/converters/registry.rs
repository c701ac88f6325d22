//! What the schema-registry converters (Avro, JSON Schema, Protobuf) share:
//! their common settings (`schema.registry.url`, `auto.register.schemas`,
//! `use.latest.version`, `key.subject.name.strategy`,
//! `value.subject.name.strategy`), the registry client, and finding the
//! schema id to write with (register, look up or take the latest) or the
//! schema to read with (by id).
//!
//! The [`Converter`](super::Converter) interface is synchronous while the
//! registry client is async: registry calls run on one small runtime of
//! their own and the caller waits for the answer (answers are cached, so
//! this happens once per schema).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use strom_schema_registry::client::RegistryClient;
use strom_schema_registry::schema::{ParsedSchema, SchemaType};
use strom_schema_registry::serde::SubjectNameStrategy;

use crate::config::def::{ConfigKey, ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, Props, Width};
use crate::data::{Schema, SchemaRef, Value};
use crate::error::{Error, Result};

const GROUP: &str = "Schema Registry";

fn strategy_valid(v: &str) -> Option<String> {
    v.parse::<SubjectNameStrategy>()
        .err()
        .map(|e| e.to_string())
}

/// The settings every registry converter takes.
pub fn config_def() -> ConfigDef {
    let key = |name: &str, ty, default, imp, doc: &str, order| {
        ConfigKey::new(name, ty, default, imp, doc).group(GROUP, order, Width::Medium, name)
    };
    let strategy = "io.confluent.kafka.serializers.subject.TopicNameStrategy";
    ConfigDef::new()
        .define(
            key(
                "schema.registry.url",
                ConfigType::List,
                Default::Required,
                Importance::High,
                "Comma-separated list of URLs for Schema Registry instances.",
                0,
            )
            .validator(Validator::NonEmptyString),
        )
        .define(key(
            "auto.register.schemas",
            ConfigType::Boolean,
            Default::Value("true".into()),
            Importance::Medium,
            "Specify if the serializer should attempt to register the schema.",
            1,
        ))
        .define(key(
            "use.latest.version",
            ConfigType::Boolean,
            Default::Value("false".into()),
            Importance::Medium,
            "Use the latest version of the subject's schema to serialize.",
            2,
        ))
        .define(
            key(
                "key.subject.name.strategy",
                ConfigType::String,
                Default::Value(strategy.into()),
                Importance::Medium,
                "How to construct the subject name for key schemas.",
                3,
            )
            .validator(Validator::Custom(strategy_valid)),
        )
        .define(
            key(
                "value.subject.name.strategy",
                ConfigType::String,
                Default::Value(strategy.into()),
                Importance::Medium,
                "How to construct the subject name for value schemas.",
                4,
            )
            .validator(Validator::Custom(strategy_valid)),
        )
}

/// A registry failure as a Connect error: the registry unreachable or
/// failing (5xx) is worth a retry (`errors.retry.timeout`), as Confluent's
/// converters make it a retriable `NetworkException`; other answers are data errors.
fn failure(e: strom_schema_registry::error::Error, context: String) -> Error {
    use strom_schema_registry::error::Error as Sr;
    let retriable = match &e {
        Sr::Http(_) => true,
        Sr::Remote { status, .. } => *status >= 500,
        _ => false,
    };
    let msg = format!("{context}: {e}");
    if retriable {
        Error::Retriable(msg)
    } else {
        Error::Data(msg)
    }
}

/// Run `f` on the registry runtime and wait for it (from sync or async code).
pub fn block_on<F>(f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("strom-connect-registry")
            .enable_all()
            .build()
            .expect("the registry client runtime starts")
    });
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let _ = tx.send(f.await);
    });
    // Called from a worker thread of a multi-threaded runtime (a converter
    // in a task's async loop), hand the thread's other work over while
    // waiting: the registry may be served by this very runtime (`strom up`).
    let in_worker = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let wait = || rx.recv().expect("the registry client runtime is running");
    if in_worker {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    }
}

/// A schema to write with: its id and its parsed form.
#[derive(Clone)]
pub struct WriteSchema {
    pub id: i32,
    pub schema: Arc<ParsedSchema>,
}

/// The registry side of a converter.
pub struct Registry {
    client: Arc<RegistryClient>,
    pub auto_register: bool,
    pub use_latest: bool,
    pub strategy: SubjectNameStrategy,
    pub is_key: bool,
    schema_type: SchemaType,
    written: Mutex<HashMap<(String, String), WriteSchema>>,
    read: Mutex<HashMap<i32, Arc<ParsedSchema>>>,
}

impl Registry {
    /// From the converter's settings (already checked against [`config_def`]).
    pub fn configure(props: &Props, is_key: bool, schema_type: SchemaType) -> Result<Registry> {
        let parsed = config_def().parse(props).map_err(Error::Config)?;
        let urls = parsed.list("schema.registry.url");
        let url = urls.first().ok_or_else(|| {
            Error::config("Missing required configuration \"schema.registry.url\"")
        })?;
        let client = RegistryClient::new(url).map_err(|e| Error::config(e.to_string()))?;
        let which = if is_key {
            "key.subject.name.strategy"
        } else {
            "value.subject.name.strategy"
        };
        let strategy =
            parsed.string(which).unwrap_or_default().parse().map_err(
                |e: strom_schema_registry::serde::WireError| Error::config(e.to_string()),
            )?;
        Ok(Registry {
            client: Arc::new(client),
            auto_register: parsed.bool("auto.register.schemas"),
            use_latest: parsed.bool("use.latest.version"),
            strategy,
            is_key,
            schema_type,
            written: Mutex::new(HashMap::new()),
            read: Mutex::new(HashMap::new()),
        })
    }

    /// The schema to write `text` with on `topic`: registered (auto.register.schemas),
    /// the subject's latest (use.latest.version), or looked up.
    pub fn for_write(
        &self,
        topic: &str,
        text: &str,
        record_name: Option<&str>,
    ) -> Result<WriteSchema> {
        let subject = self
            .strategy
            .subject(topic, self.is_key, record_name)
            .map_err(|e| Error::data(e.to_string()))?;
        let key = (subject.clone(), text.to_string());
        if let Some(w) = self.written.lock().get(&key) {
            return Ok(w.clone());
        }
        let client = self.client.clone();
        let (ty, owned_text, subj) = (self.schema_type, text.to_string(), subject.clone());
        let (auto, latest) = (self.auto_register, self.use_latest);
        let (id, schema_text) = block_on(async move {
            if latest {
                client
                    .latest(&subj)
                    .await
                    .map(|s| (s.id, s.schema))
                    .map_err(|e| failure(e, format!("Error retrieving latest version of {subj}")))
            } else if auto {
                client
                    .register(&subj, ty, &owned_text, &[])
                    .await
                    .map(|id| (id, owned_text))
                    .map_err(|e| failure(e, format!("Error registering {ty} schema under {subj}")))
            } else {
                client
                    .lookup(&subj, ty, &owned_text, &[])
                    .await
                    .map(|s| (s.id, owned_text))
                    .map_err(|e| {
                        failure(e, format!("Error retrieving {ty} schema id under {subj}"))
                    })
            }
        })?;
        let schema = ParsedSchema::parse(self.schema_type, &schema_text, &[])
            .map_err(|e| Error::data(format!("Invalid schema {schema_text}: {e}")))?;
        let w = WriteSchema {
            id,
            schema: Arc::new(schema),
        };
        self.written.lock().insert(key, w.clone());
        Ok(w)
    }

    /// The writer schema with `id`.
    pub fn for_read(&self, id: i32) -> Result<Arc<ParsedSchema>> {
        if let Some(s) = self.read.lock().get(&id) {
            return Ok(s.clone());
        }
        let client = self.client.clone();
        let registered = block_on(async move { client.schema_by_id(id).await })
            .map_err(|e| failure(e, format!("Error retrieving schema for id {id}")))?;
        if registered.schema_type != self.schema_type {
            return Err(Error::data(format!(
                "Schema {id} is a {} schema, expected {}",
                registered.schema_type, self.schema_type
            )));
        }
        let schema = ParsedSchema::parse(registered.schema_type, &registered.schema, &[])
            .map_err(|e| Error::data(format!("Invalid schema for id {id}: {e}")))?;
        let schema = Arc::new(schema);
        self.read.lock().insert(id, schema.clone());
        Ok(schema)
    }
}

/// Split framed bytes into the schema id and the payload (Confluent's
/// `SerializationException` words, as a data error).
pub fn split(data: &[u8]) -> Result<(i32, &[u8])> {
    strom_schema_registry::serde::decode(data)
        .map_err(|e| Error::data(format!("Error deserializing message: {e}")))
}

/// What a converter derived from a Connect schema (its Avro, JSON Schema or
/// `.proto` form), kept per schema: a bounded list, compared by pointer first.
pub struct SchemaCache<T> {
    entries: Mutex<Vec<(SchemaRef, T)>>,
}

impl<T: Clone> SchemaCache<T> {
    pub fn new() -> Self {
        SchemaCache {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The cached form of `schema`, or `make`'s (then cached).
    pub fn get_or_try(&self, schema: &SchemaRef, make: impl FnOnce() -> Result<T>) -> Result<T> {
        if let Some((_, t)) = self
            .entries
            .lock()
            .iter()
            .find(|(s, _)| Arc::ptr_eq(s, schema) || s == schema)
        {
            return Ok(t.clone());
        }
        let t = make()?;
        let mut cache = self.entries.lock();
        if cache.len() >= 1000 {
            cache.clear();
        }
        cache.push((schema.clone(), t.clone()));
        Ok(t)
    }
}

impl<T: Clone> std::default::Default for SchemaCache<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The schema a value is written with: the given one, or, for a schemaless
/// primitive, the schema of its type (`converter` names the refusal otherwise).
pub fn schema_or_inferred(
    schema: Option<&SchemaRef>,
    value: &Value,
    converter: &str,
) -> Result<SchemaRef> {
    if let Some(s) = schema {
        return Ok(s.clone());
    }
    let ty = value
        .inferred_type()
        .filter(|t| t.is_primitive())
        .ok_or_else(|| {
            Error::data(format!(
                "{converter} needs a schema for non-primitive values"
            ))
        })?;
    Ok(Schema::of(ty))
}
