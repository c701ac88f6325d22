//! The registry's operations, as Confluent's `KafkaSchemaRegistry` defines
//! them: reads are answered from the in-memory [`Image`]; writes are checked
//! against it, appended to `_schemas` and acknowledged once read back.
//!
//! Writes run one at a time (a mutex) and only on the leader; the REST layer
//! forwards them there.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::config::RegistryConfig;
use crate::error::{Error, Result};
use crate::leader::LeaderState;
use crate::schema::{
    check_compatibility, CompatibilityLevel, ParsedSchema, ResolvedReference, SchemaReference,
    SchemaType,
};
use crate::store::image::{
    normalize_subject, qualify_in, split_context, Content, SubjectConfig, DEFAULT_CONTEXT,
};
use crate::store::records::{ConfigValue, DeleteSubjectValue, Key, ModeValue, Record};
use crate::store::{Image, KafkaStore, Mode, StoredSchema};

mod settings;

/// How deep references may nest (guards against cycles).
const MAX_REFERENCE_DEPTH: usize = 64;

/// A version in a path: a number or `latest` (also `-1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionId {
    Latest,
    Number(i32),
}

impl VersionId {
    pub fn parse(s: &str) -> Result<VersionId> {
        if s.eq_ignore_ascii_case("latest") {
            return Ok(VersionId::Latest);
        }
        match s.parse::<i32>() {
            Ok(-1) => Ok(VersionId::Latest),
            Ok(n) if n >= 1 => Ok(VersionId::Number(n)),
            _ => Err(Error::InvalidVersion(s.to_string())),
        }
    }
}

/// A schema as a client sends it (register, lookup, compatibility).
#[derive(Clone, Debug, Default)]
pub struct SchemaRequest {
    pub schema: String,
    pub schema_type: SchemaType,
    pub references: Vec<SchemaReference>,
    /// IMPORT mode only.
    pub id: Option<i32>,
    /// IMPORT mode only.
    pub version: Option<i32>,
    pub metadata: Option<serde_json::Value>,
    pub rule_set: Option<serde_json::Value>,
}

/// A subject's (or the global) configuration as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveConfig {
    pub compatibility_level: CompatibilityLevel,
    pub normalize: Option<bool>,
}

/// The registry: image, store, leadership.
pub struct Registry {
    config: RegistryConfig,
    image: Arc<RwLock<Image>>,
    store: KafkaStore,
    leader: Arc<LeaderState>,
    write_lock: tokio::sync::Mutex<()>,
    /// Parsed schemas by (context, id): parsing is the expensive part of compatibility checks.
    parsed: Mutex<HashMap<(String, i32), Arc<ParsedSchema>>>,
}

impl Registry {
    pub fn new(
        config: RegistryConfig,
        image: Arc<RwLock<Image>>,
        store: KafkaStore,
        leader: Arc<LeaderState>,
    ) -> Registry {
        Registry {
            config,
            image,
            store,
            leader,
            write_lock: tokio::sync::Mutex::new(()),
            parsed: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    pub fn leader(&self) -> &Arc<LeaderState> {
        &self.leader
    }

    pub fn store(&self) -> &KafkaStore {
        &self.store
    }

    // ---------------------------------------------------------------- reads

    pub fn subjects(&self, prefix: Option<&str>, deleted: bool, deleted_only: bool) -> Vec<String> {
        let image = self.image.read();
        let live: std::collections::HashSet<String> = image.subjects(false).into_iter().collect();
        // ":*:" (Confluent's default) means every context.
        let prefix = prefix.filter(|p| *p != ":*:").map(normalize_subject);
        image
            .subjects(deleted || deleted_only)
            .into_iter()
            .filter(|s| !deleted_only || !live.contains(s))
            .filter(|s| prefix.as_deref().is_none_or(|p| s.starts_with(p)))
            .collect()
    }

    pub fn versions(&self, subject: &str, deleted: bool, deleted_only: bool) -> Result<Vec<i32>> {
        let subject = normalize_subject(subject);
        let image = self.image.read();
        let all = image.versions(&subject, true);
        let visible: Vec<i32> = all
            .iter()
            .filter(|s| {
                if deleted_only {
                    s.deleted
                } else {
                    deleted || !s.deleted
                }
            })
            .map(|s| s.version)
            .collect();
        if all.is_empty() || (visible.is_empty() && !deleted_only) {
            return Err(Error::SubjectNotFound(subject));
        }
        Ok(visible)
    }

    /// One version of a subject (`deleted`: soft-deleted versions are visible too).
    pub fn version(
        &self,
        subject: &str,
        version: VersionId,
        deleted: bool,
    ) -> Result<StoredSchema> {
        let subject = normalize_subject(subject);
        let image = self.image.read();
        find_version(&image, &subject, version, deleted).cloned()
    }

    /// Ids of the schemas that reference `subject` `version`.
    pub fn referenced_by(&self, subject: &str, version: VersionId) -> Result<Vec<i32>> {
        let subject = normalize_subject(subject);
        let image = self.image.read();
        let target = find_version(&image, &subject, version, false)?;
        let mut ids: Vec<i32> = image
            .referenced_by(&subject, target.version, false)
            .into_iter()
            .map(|s| s.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// The version of `subject` holding `request`'s schema.
    pub fn lookup(
        &self,
        subject: &str,
        request: &SchemaRequest,
        normalize: bool,
        deleted: bool,
    ) -> Result<StoredSchema> {
        let subject = normalize_subject(subject);
        let image = self.image.read();
        let versions = image.versions(&subject, deleted);
        if versions.is_empty() {
            return Err(Error::SubjectNotFound(subject));
        }
        let normalize = normalize || self.config_normalize(&image, &subject);
        let ctx = split_context(&subject).0;
        let resolved = resolve_references(&image, ctx, &request.references, 0)?;
        let parsed = parse(request.schema_type, &request.schema, &resolved)?;
        let content = Content {
            schema_type: request.schema_type,
            schema: if normalize {
                parsed.normalized()
            } else {
                parsed.canonical()
            },
            references: request.references.clone(),
        };
        // Newest first.
        for s in versions.iter().rev() {
            if self.same_schema(&image, s, &content, normalize) {
                return Ok((*s).clone());
            }
        }
        Err(Error::SchemaNotFound)
    }

    /// A schema by id, in the context of `subject` (the default context without one).
    pub fn schema_by_id(&self, id: i32, subject: Option<&str>) -> Result<StoredSchema> {
        let ctx = subject.map(|s| split_context(s).0.to_string());
        let ctx = ctx.as_deref().unwrap_or(DEFAULT_CONTEXT);
        let image = self.image.read();
        image
            .schema_by_id(ctx, id)
            .cloned()
            .ok_or(Error::SchemaIdNotFound(id))
    }

    /// The (subject, version) pairs carrying `id`.
    pub fn id_versions(
        &self,
        id: i32,
        subject: Option<&str>,
        deleted: bool,
    ) -> Result<Vec<(String, i32)>> {
        let ctx = subject.map(|s| split_context(s).0.to_string());
        let ctx = ctx.as_deref().unwrap_or(DEFAULT_CONTEXT);
        let image = self.image.read();
        if image.schema_by_id(ctx, id).is_none() {
            return Err(Error::SchemaIdNotFound(id));
        }
        Ok(image
            .id_versions(ctx, id, deleted)
            .into_iter()
            .filter(|s| subject.is_none_or(|want| normalize_subject(want) == s.subject))
            .map(|s| (s.subject.clone(), s.version))
            .collect())
    }

    /// `GET /schemas`: every version, optionally only the latest of each subject.
    pub fn list_schemas(
        &self,
        prefix: Option<&str>,
        deleted: bool,
        latest_only: bool,
    ) -> Vec<StoredSchema> {
        let image = self.image.read();
        let mut out = Vec::new();
        for subject in image.subjects(deleted) {
            if prefix.is_some_and(|p| !subject.starts_with(p)) {
                continue;
            }
            let versions = image.versions(&subject, deleted);
            if latest_only {
                out.extend(versions.last().map(|s| (*s).clone()));
            } else {
                out.extend(versions.into_iter().cloned());
            }
        }
        out
    }

    /// A Protobuf schema's compiled descriptor, base64 (`format=serialized`).
    pub fn protobuf_serialized(&self, s: &StoredSchema) -> Option<String> {
        let image = self.image.read();
        let parsed = self.parse_stored(&image, s).ok()?;
        crate::protobuf_text::to_serialized(&parsed)
    }

    pub fn contexts(&self) -> Vec<String> {
        self.image.read().contexts()
    }

    /// Checks `request` against the subject's versions (all, or one), returning
    /// the incompatibilities (empty = compatible).
    pub fn test_compatibility(
        &self,
        subject: &str,
        version: Option<VersionId>,
        request: &SchemaRequest,
    ) -> Result<Vec<String>> {
        let subject = normalize_subject(subject);
        let image = self.image.read();
        let ctx = split_context(&subject).0;
        let resolved = resolve_references(&image, ctx, &request.references, 0)?;
        let candidate = parse(request.schema_type, &request.schema, &resolved)?;
        let level = self
            .effective_config(&image, Some(&subject))
            .compatibility_level;
        let existing: Vec<StoredSchema> = match version {
            Some(v) => vec![find_version(&image, &subject, v, false)?.clone()],
            None => image
                .versions(&subject, false)
                .into_iter()
                .cloned()
                .collect(),
        };
        let parsed = existing
            .iter()
            .map(|s| self.parse_stored(&image, s))
            .collect::<Result<Vec<_>>>()?;
        let parsed: Vec<ParsedSchema> = parsed.iter().map(|p| (**p).clone()).collect();
        Ok(check_compatibility(level, &candidate, &parsed))
    }

    // --------------------------------------------------------------- writes

    /// Register `request` under `subject`; returns the schema id.
    pub async fn register(
        &self,
        subject: &str,
        request: &SchemaRequest,
        normalize: bool,
    ) -> Result<i32> {
        let subject = normalize_subject(subject);
        validate_subject(&subject)?;
        let _guard = self.write_lock.lock().await;
        self.catch_up().await?;
        let (id, record) = {
            let image = self.image.read();
            let mode = effective_mode(&image, &subject);
            if matches!(mode, Mode::ReadOnly | Mode::ReadOnlyOverride) {
                return Err(Error::OperationNotPermitted(format!(
                    "Subject {subject} is in read-only mode"
                )));
            }
            if (request.id.is_some_and(|id| id >= 0) || request.version.is_some_and(|v| v > 0))
                && mode != Mode::Import
            {
                return Err(Error::OperationNotPermitted(format!(
                    "Subject {subject} is not in import mode"
                )));
            }
            let normalize = normalize || self.config_normalize(&image, &subject);
            let ctx = split_context(&subject).0.to_string();
            let resolved = resolve_references(&image, &ctx, &request.references, 0)?;
            let parsed = parse(request.schema_type, &request.schema, &resolved)?;
            let content = Content {
                schema_type: request.schema_type,
                schema: if normalize {
                    parsed.normalized()
                } else {
                    parsed.canonical()
                },
                references: request.references.clone(),
            };
            let live = image.versions(&subject, false);
            // Already registered under this subject: its id, no new version.
            if let Some(existing) = live
                .iter()
                .rev()
                .find(|s| self.same_schema(&image, s, &content, normalize))
            {
                if let Some(want) = request.id.filter(|id| *id >= 0) {
                    if want != existing.id {
                        return Err(Error::IdDoesNotMatch {
                            existing: existing.id,
                            requested: want,
                        });
                    }
                }
                return Ok(existing.id);
            }
            if mode != Mode::Import {
                let level = self
                    .effective_config(&image, Some(&subject))
                    .compatibility_level;
                if level != CompatibilityLevel::None && !live.is_empty() {
                    let existing = live
                        .iter()
                        .map(|s| self.parse_stored(&image, s).map(|p| (*p).clone()))
                        .collect::<Result<Vec<_>>>()?;
                    let messages = check_compatibility(level, &parsed, &existing);
                    if !messages.is_empty() {
                        let mut details = messages;
                        details.push(format!("{{compatibility: '{level}'}}"));
                        return Err(Error::IncompatibleSchema {
                            subject: subject.clone(),
                            details,
                        });
                    }
                }
            }
            let id = match request.id.filter(|id| *id >= 0) {
                Some(want) => {
                    if let Some(other) = image.schema_by_id(&ctx, want) {
                        if other.content() != content {
                            return Err(Error::OperationNotPermitted(format!(
                                "Overwrite new schema with id {want} is not permitted."
                            )));
                        }
                    }
                    want
                }
                None => image
                    .id_for_content(&ctx, &content)
                    .unwrap_or_else(|| image.max_id(&ctx) + 1),
            };
            let version = match request.version.filter(|v| *v > 0) {
                Some(v) => {
                    if let Some(existing) = image.version(&subject, v) {
                        if existing.content() != content {
                            return Err(Error::OperationNotPermitted(format!(
                                "Overwrite new schema for subject {subject} version {v} is not permitted."
                            )));
                        }
                    }
                    v
                }
                None => image.max_version(&subject) + 1,
            };
            let stored = StoredSchema {
                subject: subject.clone(),
                version,
                id,
                schema_type: request.schema_type,
                references: request.references.clone(),
                schema: content.schema,
                deleted: false,
                metadata: request.metadata.clone(),
                rule_set: request.rule_set.clone(),
            };
            (
                id,
                Record::new(
                    Key::Schema {
                        subject: subject.clone(),
                        version,
                    },
                    &stored.to_value(),
                ),
            )
        };
        self.store.put(&[record]).await?;
        tracing::info!(subject = %subject, id, "registered schema");
        Ok(id)
    }

    /// Soft- or hard-delete a subject; returns the versions deleted.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let subject = normalize_subject(subject);
        let _guard = self.write_lock.lock().await;
        self.catch_up().await?;
        let (versions, records) = {
            let image = self.image.read();
            check_writable(&image, &subject)?;
            let all = image.versions(&subject, true);
            if all.is_empty() {
                return Err(Error::SubjectNotFound(subject));
            }
            let live: Vec<&StoredSchema> = all.iter().copied().filter(|s| !s.deleted).collect();
            if !permanent {
                let Some(last) = live.last() else {
                    return Err(Error::SubjectSoftDeleted(subject));
                };
                for s in &live {
                    check_not_referenced(&image, s, false)?;
                }
                let mut records = vec![Record::new(
                    Key::DeleteSubject {
                        subject: subject.clone(),
                    },
                    &DeleteSubjectValue {
                        subject: subject.clone(),
                        version: last.version,
                    },
                )];
                if image.config(&subject).is_some() {
                    records.push(Record::tombstone(Key::Config {
                        subject: Some(subject.clone()),
                    }));
                }
                if image.mode(&subject).is_some() {
                    records.push(Record::tombstone(Key::Mode {
                        subject: Some(subject.clone()),
                    }));
                }
                (live.iter().map(|s| s.version).collect::<Vec<_>>(), records)
            } else {
                if !live.is_empty() {
                    return Err(Error::SubjectNotSoftDeleted(subject));
                }
                for s in &all {
                    check_not_referenced(&image, s, true)?;
                }
                let records = all
                    .iter()
                    .map(|s| {
                        Record::tombstone(Key::Schema {
                            subject: subject.clone(),
                            version: s.version,
                        })
                    })
                    .collect();
                (all.iter().map(|s| s.version).collect(), records)
            }
        };
        self.store.put(&records).await?;
        tracing::info!(subject = %subject, permanent, ?versions, "deleted subject");
        Ok(versions)
    }

    /// Soft- or hard-delete one version; returns its number.
    pub async fn delete_version(
        &self,
        subject: &str,
        version: VersionId,
        permanent: bool,
    ) -> Result<i32> {
        let subject = normalize_subject(subject);
        let _guard = self.write_lock.lock().await;
        self.catch_up().await?;
        let record = {
            let image = self.image.read();
            check_writable(&image, &subject)?;
            if image.versions(&subject, true).is_empty() {
                return Err(Error::SubjectNotFound(subject));
            }
            let target = match version {
                VersionId::Latest => image
                    .versions(&subject, permanent)
                    .last()
                    .copied()
                    .ok_or_else(|| Error::SubjectNotFound(subject.clone()))?,
                VersionId::Number(n) => image
                    .version(&subject, n)
                    .ok_or_else(|| Error::VersionNotFound(n.to_string()))?,
            };
            if !permanent {
                if target.deleted {
                    return Err(Error::VersionSoftDeleted(subject, target.version));
                }
                check_not_referenced(&image, target, false)?;
                let mut value = target.clone();
                value.deleted = true;
                Record::new(
                    Key::Schema {
                        subject: subject.clone(),
                        version: target.version,
                    },
                    &value.to_value(),
                )
            } else {
                if !target.deleted {
                    return Err(Error::VersionNotSoftDeleted(subject, target.version));
                }
                check_not_referenced(&image, target, true)?;
                Record::tombstone(Key::Schema {
                    subject: subject.clone(),
                    version: target.version,
                })
            }
        };
        let Key::Schema { version: n, .. } = record.key else {
            return Err(Error::Store("unexpected record".to_string()));
        };
        self.store.put(&[record]).await?;
        tracing::info!(subject = %subject, version = n, permanent, "deleted version");
        Ok(n)
    }

    // ------------------------------------------------------------- helpers

    /// After becoming leader: read everything the previous leader wrote before writing.
    async fn catch_up(&self) -> Result<()> {
        if self.leader.take_catch_up() {
            if let Err(e) = self.store.sync().await {
                // Try again on the next write.
                self.leader.request_catch_up();
                return Err(e);
            }
        }
        Ok(())
    }

    fn effective_config(&self, image: &Image, subject: Option<&str>) -> EffectiveConfig {
        let mut chain: Vec<String> = Vec::new();
        if let Some(s) = subject {
            chain.push(s.to_string());
            let (ctx, _) = split_context(s);
            if ctx != DEFAULT_CONTEXT {
                chain.push(format!(":{ctx}:"));
            }
        }
        chain.push(String::new());
        let mut level = None;
        let mut normalize = None;
        for key in &chain {
            if let Some(c) = image.config(key) {
                if level.is_none() {
                    level = c
                        .compatibility_level
                        .as_deref()
                        .and_then(|l| l.parse::<CompatibilityLevel>().ok());
                }
                if normalize.is_none() {
                    normalize = c.normalize;
                }
            }
        }
        EffectiveConfig {
            compatibility_level: level.unwrap_or(self.config.compatibility_level),
            normalize,
        }
    }

    fn to_effective(
        &self,
        c: &SubjectConfig,
        image: &Image,
        subject: Option<&str>,
    ) -> EffectiveConfig {
        let fallback = self.effective_config(image, subject);
        EffectiveConfig {
            compatibility_level: c
                .compatibility_level
                .as_deref()
                .and_then(|l| l.parse().ok())
                .unwrap_or(fallback.compatibility_level),
            normalize: c.normalize.or(fallback.normalize),
        }
    }

    fn config_normalize(&self, image: &Image, subject: &str) -> bool {
        self.effective_config(image, Some(subject))
            .normalize
            .unwrap_or(false)
    }

    /// Whether stored version `s` is `content`: the same text, or the same once
    /// the stored text is parsed (it may have been written by another registry).
    fn same_schema(
        &self,
        image: &Image,
        s: &StoredSchema,
        content: &Content,
        normalize: bool,
    ) -> bool {
        if s.schema_type != content.schema_type || s.references != content.references {
            return false;
        }
        if s.schema == content.schema {
            return true;
        }
        match self.parse_stored(image, s) {
            Ok(p) => {
                let text = if normalize {
                    p.normalized()
                } else {
                    p.canonical()
                };
                text == content.schema
            }
            Err(_) => false,
        }
    }

    fn parse_stored(&self, image: &Image, s: &StoredSchema) -> Result<Arc<ParsedSchema>> {
        let key = (s.context().to_string(), s.id);
        if let Some(p) = self.parsed.lock().get(&key) {
            return Ok(p.clone());
        }
        let resolved = resolve_references(image, s.context(), &s.references, 0)?;
        let parsed = ParsedSchema::parse(s.schema_type, &s.schema, &resolved).map_err(|e| {
            Error::Store(format!(
                "stored schema {} (subject {} version {}) does not parse: {e}",
                s.id, s.subject, s.version
            ))
        })?;
        let parsed = Arc::new(parsed);
        self.parsed.lock().insert(key, parsed.clone());
        Ok(parsed)
    }
}

fn parse(schema_type: SchemaType, text: &str, refs: &[ResolvedReference]) -> Result<ParsedSchema> {
    ParsedSchema::parse(schema_type, text, refs).map_err(|e| Error::InvalidSchema(e.message))
}

fn find_version<'a>(
    image: &'a Image,
    subject: &str,
    version: VersionId,
    deleted: bool,
) -> Result<&'a StoredSchema> {
    let visible = image.versions(subject, deleted);
    if visible.is_empty() {
        return Err(Error::SubjectNotFound(subject.to_string()));
    }
    match version {
        VersionId::Latest => visible
            .last()
            .copied()
            .ok_or_else(|| Error::SubjectNotFound(subject.to_string())),
        VersionId::Number(n) => image
            .version(subject, n)
            .filter(|s| deleted || !s.deleted)
            .ok_or_else(|| Error::VersionNotFound(n.to_string())),
    }
}

/// Resolve references (depth-first) to the schemas they name.
fn resolve_references(
    image: &Image,
    ctx: &str,
    refs: &[SchemaReference],
    depth: usize,
) -> Result<Vec<ResolvedReference>> {
    if depth > MAX_REFERENCE_DEPTH {
        return Err(Error::InvalidSchema(
            "references nest too deeply (a cycle?)".to_string(),
        ));
    }
    refs.iter()
        .map(|r| {
            let subject = qualify_in(ctx, &r.subject);
            let found = match r.version {
                -1 => image.versions(&subject, false).last().copied(),
                v => image.version(&subject, v),
            };
            let s = found.ok_or_else(|| {
                Error::InvalidSchema(format!(
                    "Invalid schema reference {}: subject {} version {} not found",
                    r.name, r.subject, r.version
                ))
            })?;
            Ok(ResolvedReference {
                name: r.name.clone(),
                schema_type: s.schema_type,
                schema: s.schema.clone(),
                references: resolve_references(image, s.context(), &s.references, depth + 1)?,
            })
        })
        .collect()
}

fn effective_mode(image: &Image, subject: &str) -> Mode {
    if let Some(m) = image.mode(subject) {
        return m;
    }
    let (ctx, _) = split_context(subject);
    if ctx != DEFAULT_CONTEXT {
        if let Some(m) = image.mode(&format!(":{ctx}:")) {
            return m;
        }
    }
    image.mode("").unwrap_or_default()
}

fn check_writable(image: &Image, subject: &str) -> Result<()> {
    if effective_mode(image, subject) == Mode::ReadOnly {
        return Err(Error::OperationNotPermitted(format!(
            "Subject {subject} is in read-only mode"
        )));
    }
    Ok(())
}

fn check_not_referenced(image: &Image, s: &StoredSchema, deleted: bool) -> Result<()> {
    if !image
        .referenced_by(&s.subject, s.version, deleted)
        .is_empty()
    {
        return Err(Error::ReferenceExists(s.subject.clone(), s.version));
    }
    Ok(())
}

fn validate_subject(subject: &str) -> Result<()> {
    let (_, name) = split_context(subject);
    if subject.is_empty()
        || subject.chars().any(char::is_control)
        || name.is_empty() && !subject.starts_with(':')
    {
        return Err(Error::InvalidSubject(subject.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids() {
        assert_eq!(VersionId::parse("latest").unwrap(), VersionId::Latest);
        assert_eq!(VersionId::parse("-1").unwrap(), VersionId::Latest);
        assert_eq!(VersionId::parse("3").unwrap(), VersionId::Number(3));
        for bad in ["0", "-2", "x", "2147483648", ""] {
            assert!(
                matches!(VersionId::parse(bad), Err(Error::InvalidVersion(_))),
                "{bad}"
            );
        }
    }
}
