//! The in-memory image of the `_schemas` topic: every subject's versions,
//! schema ids, configs and modes. Built by applying records in offset order;
//! queried by the registry under a read lock.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::schema::{SchemaReference, SchemaType};

use super::records::{ConfigValue, DeleteSubjectValue, Key, ModeValue, SchemaValue};

/// The default context.
pub const DEFAULT_CONTEXT: &str = ".";

/// Splits a qualified subject `:.ctx:name` into its context (`.ctx`) and
/// name; an unqualified subject is in the default context `.`.
pub fn split_context(subject: &str) -> (&str, &str) {
    if let Some(rest) = subject.strip_prefix(':') {
        if let Some((ctx, name)) = rest.split_once(':') {
            if ctx.starts_with('.') {
                return (ctx, name);
            }
        }
    }
    (DEFAULT_CONTEXT, subject)
}

/// The subject as stored: `:.:name` (the default context spelled out) is just `name`.
pub fn normalize_subject(subject: &str) -> String {
    match split_context(subject) {
        (DEFAULT_CONTEXT, name) => name.to_string(),
        _ => subject.to_string(),
    }
}

/// A registry mode (`/mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    ReadWrite,
    ReadOnly,
    ReadOnlyOverride,
    Import,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s.to_ascii_uppercase().as_str() {
            "READWRITE" => Some(Mode::ReadWrite),
            "READONLY" => Some(Mode::ReadOnly),
            "READONLY_OVERRIDE" => Some(Mode::ReadOnlyOverride),
            "IMPORT" => Some(Mode::Import),
            _ => None,
        }
    }
}

/// One version of a subject.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSchema {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema_type: SchemaType,
    pub references: Vec<SchemaReference>,
    pub schema: String,
    pub deleted: bool,
    pub metadata: Option<serde_json::Value>,
    pub rule_set: Option<serde_json::Value>,
}

impl StoredSchema {
    pub fn context(&self) -> &str {
        split_context(&self.subject).0
    }

    /// What identity compares: type, schema text and references.
    pub fn content(&self) -> Content {
        Content {
            schema_type: self.schema_type,
            schema: self.schema.clone(),
            references: self.references.clone(),
        }
    }

    pub fn to_value(&self) -> SchemaValue {
        SchemaValue {
            subject: self.subject.clone(),
            version: self.version,
            id: self.id,
            md5: None,
            schema_type: match self.schema_type {
                SchemaType::Avro => None,
                t => Some(t.as_str().to_string()),
            },
            references: self.references.clone(),
            metadata: self.metadata.clone(),
            rule_set: self.rule_set.clone(),
            schema: self.schema.clone(),
            deleted: self.deleted,
        }
    }
}

/// A schema's identity within a context.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Content {
    pub schema_type: SchemaType,
    pub schema: String,
    pub references: Vec<SchemaReference>,
}

/// Subject-level (or global) settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubjectConfig {
    pub compatibility_level: Option<String>,
    pub normalize: Option<bool>,
}

/// The image of the topic.
#[derive(Debug, Default)]
pub struct Image {
    subjects: BTreeMap<String, BTreeMap<i32, StoredSchema>>,
    /// (context, id) → the subject versions carrying that id.
    id_refs: HashMap<(String, i32), BTreeSet<(String, i32)>>,
    /// (context, content) → id.
    content_ids: HashMap<(String, Content), i32>,
    /// Highest id ever seen per context.
    max_id: HashMap<String, i32>,
    /// "" = global.
    configs: BTreeMap<String, SubjectConfig>,
    /// "" = global.
    modes: BTreeMap<String, Mode>,
}

impl Image {
    /// Apply one record of the topic. Undecodable records are skipped with a warning
    /// (Confluent does the same), so one bad record cannot stop the registry.
    pub fn apply(&mut self, key: &[u8], value: Option<&[u8]>) {
        let key = match Key::from_bytes(key) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "skipping _schemas record with an unreadable key");
                return;
            }
        };
        if let Err(e) = self.apply_key(&key, value) {
            tracing::warn!(?key, error = %e, "skipping unreadable _schemas record");
        }
    }

    fn apply_key(&mut self, key: &Key, value: Option<&[u8]>) -> Result<(), String> {
        match key {
            Key::Schema { subject, version } => match value {
                None => self.remove_version(subject, *version),
                Some(v) => {
                    let v: SchemaValue = serde_json::from_slice(v).map_err(|e| e.to_string())?;
                    let schema_type = match v.schema_type.as_deref() {
                        None => SchemaType::Avro,
                        Some(t) => t
                            .parse()
                            .map_err(|e: crate::schema::SchemaError| e.message)?,
                    };
                    self.put_version(StoredSchema {
                        subject: subject.clone(),
                        version: *version,
                        id: v.id,
                        schema_type,
                        references: v.references,
                        schema: v.schema,
                        deleted: v.deleted,
                        metadata: v.metadata,
                        rule_set: v.rule_set,
                    });
                }
            },
            Key::Config { subject } => {
                let name = subject.clone().unwrap_or_default();
                match value {
                    None => {
                        self.configs.remove(&name);
                    }
                    Some(v) => {
                        let v: ConfigValue =
                            serde_json::from_slice(v).map_err(|e| e.to_string())?;
                        self.configs.insert(
                            name,
                            SubjectConfig {
                                compatibility_level: v.compatibility_level,
                                normalize: v.normalize,
                            },
                        );
                    }
                }
            }
            Key::Mode { subject } => {
                let name = subject.clone().unwrap_or_default();
                match value {
                    None => {
                        self.modes.remove(&name);
                    }
                    Some(v) => {
                        let v: ModeValue = serde_json::from_slice(v).map_err(|e| e.to_string())?;
                        let mode = Mode::parse(&v.mode)
                            .ok_or_else(|| format!("unknown mode {}", v.mode))?;
                        self.modes.insert(name, mode);
                    }
                }
            }
            Key::DeleteSubject { subject } => {
                if let Some(v) = value {
                    let v: DeleteSubjectValue =
                        serde_json::from_slice(v).map_err(|e| e.to_string())?;
                    if let Some(versions) = self.subjects.get_mut(subject) {
                        for (_, s) in versions.range_mut(..=v.version) {
                            s.deleted = true;
                        }
                    }
                }
            }
            Key::ClearSubject { subject } => {
                if value.is_some() {
                    let deleted: Vec<i32> = self
                        .subjects
                        .get(subject)
                        .map(|vs| {
                            vs.values()
                                .filter(|s| s.deleted)
                                .map(|s| s.version)
                                .collect()
                        })
                        .unwrap_or_default();
                    for version in deleted {
                        self.remove_version(subject, version);
                    }
                }
            }
            Key::Noop | Key::Other(_) => {}
        }
        Ok(())
    }

    fn put_version(&mut self, s: StoredSchema) {
        let subject = s.subject.clone();
        let version = s.version;
        self.remove_version(&subject, version);
        let ctx = s.context().to_string();
        let max = self.max_id.entry(ctx.clone()).or_insert(0);
        *max = (*max).max(s.id);
        self.id_refs
            .entry((ctx.clone(), s.id))
            .or_default()
            .insert((subject.clone(), version));
        self.content_ids.entry((ctx, s.content())).or_insert(s.id);
        self.subjects.entry(subject).or_default().insert(version, s);
    }

    fn remove_version(&mut self, subject: &str, version: i32) {
        let Some(versions) = self.subjects.get_mut(subject) else {
            return;
        };
        let Some(old) = versions.remove(&version) else {
            return;
        };
        if versions.is_empty() {
            self.subjects.remove(subject);
        }
        let ctx = old.context().to_string();
        let id_key = (ctx.clone(), old.id);
        if let Some(refs) = self.id_refs.get_mut(&id_key) {
            refs.remove(&(subject.to_string(), version));
            if refs.is_empty() {
                self.id_refs.remove(&id_key);
                let content_key = (ctx, old.content());
                if self.content_ids.get(&content_key) == Some(&old.id) {
                    self.content_ids.remove(&content_key);
                }
            }
        }
    }

    // ---- queries ----

    /// All subjects with at least one version (soft-deleted ones only if `deleted`).
    pub fn subjects(&self, deleted: bool) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(_, vs)| deleted || vs.values().any(|s| !s.deleted))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The versions of `subject`, oldest first (soft-deleted ones only if `deleted`).
    pub fn versions(&self, subject: &str, deleted: bool) -> Vec<&StoredSchema> {
        self.subjects
            .get(subject)
            .map(|vs| vs.values().filter(|s| deleted || !s.deleted).collect())
            .unwrap_or_default()
    }

    /// Whether the subject has any version at all (soft-deleted included).
    pub fn has_subject(&self, subject: &str) -> bool {
        self.subjects.contains_key(subject)
    }

    pub fn version(&self, subject: &str, version: i32) -> Option<&StoredSchema> {
        self.subjects.get(subject)?.get(&version)
    }

    /// Highest version number the subject ever had that is still in the topic.
    pub fn max_version(&self, subject: &str) -> i32 {
        self.subjects
            .get(subject)
            .and_then(|vs| vs.keys().next_back().copied())
            .unwrap_or(0)
    }

    /// One version carrying `id` in `ctx` (a non-deleted one if there is one).
    pub fn schema_by_id(&self, ctx: &str, id: i32) -> Option<&StoredSchema> {
        let refs = self.id_refs.get(&(ctx.to_string(), id))?;
        let all: Vec<&StoredSchema> = refs
            .iter()
            .filter_map(|(s, v)| self.version(s, *v))
            .collect();
        all.iter().find(|s| !s.deleted).or(all.first()).copied()
    }

    /// The subject versions that carry `id` in `ctx`.
    pub fn id_versions(&self, ctx: &str, id: i32, deleted: bool) -> Vec<&StoredSchema> {
        self.id_refs
            .get(&(ctx.to_string(), id))
            .map(|refs| {
                refs.iter()
                    .filter_map(|(s, v)| self.version(s, *v))
                    .filter(|s| deleted || !s.deleted)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The id already given to `content` in `ctx`.
    pub fn id_for_content(&self, ctx: &str, content: &Content) -> Option<i32> {
        self.content_ids
            .get(&(ctx.to_string(), content.clone()))
            .copied()
    }

    pub fn max_id(&self, ctx: &str) -> i32 {
        self.max_id.get(ctx).copied().unwrap_or(0)
    }

    /// The contexts in use, default first.
    pub fn contexts(&self) -> Vec<String> {
        let mut out: BTreeSet<String> = self
            .subjects
            .keys()
            .map(|s| split_context(s).0.to_string())
            .collect();
        out.insert(DEFAULT_CONTEXT.to_string());
        let mut v: Vec<String> = vec![DEFAULT_CONTEXT.to_string()];
        v.extend(out.into_iter().filter(|c| c != DEFAULT_CONTEXT));
        v
    }

    /// Versions (of any subject) whose references point at `subject` `version`.
    pub fn referenced_by(&self, subject: &str, version: i32, deleted: bool) -> Vec<&StoredSchema> {
        self.subjects
            .values()
            .flat_map(|vs| vs.values())
            .filter(|s| deleted || !s.deleted)
            .filter(|s| {
                s.references
                    .iter()
                    .any(|r| qualify_in(s.context(), &r.subject) == subject && r.version == version)
            })
            .collect()
    }

    /// `""` = global.
    pub fn config(&self, subject: &str) -> Option<&SubjectConfig> {
        self.configs.get(subject)
    }

    /// `""` = global.
    pub fn mode(&self, subject: &str) -> Option<Mode> {
        self.modes.get(subject).copied()
    }

    /// Whether any schema is registered at all (soft-deleted ones count).
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }
}

/// A reference's subject, qualified with the referring schema's context when
/// it names none of its own.
pub fn qualify_in(ctx: &str, subject: &str) -> String {
    if ctx == DEFAULT_CONTEXT || subject.starts_with(':') {
        normalize_subject(subject)
    } else {
        format!(":{ctx}:{subject}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{Key, Record};

    fn schema_record(subject: &str, version: i32, id: i32, schema: &str) -> Record {
        Record::new(
            Key::Schema {
                subject: subject.into(),
                version,
            },
            &SchemaValue {
                subject: subject.into(),
                version,
                id,
                md5: None,
                schema_type: None,
                references: vec![],
                metadata: None,
                rule_set: None,
                schema: schema.into(),
                deleted: false,
            },
        )
    }

    fn apply(image: &mut Image, r: &Record) {
        image.apply(&r.key.to_bytes(), r.value.as_deref());
    }

    #[test]
    fn contexts() {
        assert_eq!(split_context(":.ctx:orders"), (".ctx", "orders"));
        assert_eq!(split_context("orders"), (".", "orders"));
        assert_eq!(split_context(":.:orders"), (".", "orders"));
        assert_eq!(normalize_subject(":.:orders"), "orders");
        assert_eq!(qualify_in(".ctx", "a"), ":.ctx:a");
        assert_eq!(qualify_in(".", "a"), "a");
    }

    #[test]
    fn soft_delete_hard_delete_and_ids() {
        let mut image = Image::default();
        apply(&mut image, &schema_record("a", 1, 1, "\"string\""));
        apply(&mut image, &schema_record("b", 1, 1, "\"string\""));
        apply(&mut image, &schema_record("a", 2, 2, "\"int\""));
        assert_eq!(image.subjects(false), vec!["a", "b"]);
        assert_eq!(image.max_id("."), 2);
        assert_eq!(image.id_versions(".", 1, false).len(), 2);
        let del = Record::new(
            Key::DeleteSubject {
                subject: "a".into(),
            },
            &DeleteSubjectValue {
                subject: "a".into(),
                version: 2,
            },
        );
        apply(&mut image, &del);
        assert_eq!(image.subjects(false), vec!["b"]);
        assert_eq!(image.subjects(true), vec!["a", "b"]);
        // Hard delete version 2: id 2 is gone, id 1 stays (subject b).
        apply(
            &mut image,
            &Record::tombstone(Key::Schema {
                subject: "a".into(),
                version: 2,
            }),
        );
        assert!(image.schema_by_id(".", 2).is_none());
        assert!(image.schema_by_id(".", 1).is_some());
        assert_eq!(image.max_id("."), 2, "ids are never reused");
        apply(
            &mut image,
            &Record::new(
                Key::ClearSubject {
                    subject: "a".into(),
                },
                &super::super::records::ClearSubjectValue {
                    subject: "a".into(),
                },
            ),
        );
        assert!(!image.has_subject("a"));
        // Garbage is skipped.
        image.apply(b"garbage", Some(b"{}"));
        image.apply(
            br#"{"keytype":"SCHEMA","subject":"x","version":1,"magic":1}"#,
            Some(b"[]"),
        );
        assert!(!image.has_subject("x"));
    }
}
