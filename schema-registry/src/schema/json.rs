//! JSON Schema: parsing, meta-schema validation, canonical forms and
//! Confluent's compatibility rules.
//!
//! Parsing: the text must be a JSON object or boolean; it is validated
//! against the meta-schema of the draft named by `$schema` (drafts 4, 6, 7,
//! 2019-09 and 2020-12; absent or unknown: draft 7). Every non-local `$ref`
//! must name one of the schema's references (by the reference's name, with or
//! without a fragment; a ref that is a suffix of the name or the other way
//! round also matches, which covers refs relative to an `$id`).
//!
//! Compatibility follows Confluent's `SchemaDiff` (the original = the writer,
//! the update = the reader): each change is classified as one of Confluent's
//! difference types, and the incompatible ones are reported as
//! `{errorType:"…", description:"…"}`. Covered:
//! - type changes (TYPE_CHANGED), integer → number (TYPE_EXTENDED, ok),
//!   number → integer (TYPE_NARROWED), `false` original / `true`/`{}` update (ok);
//! - string: maxLength, minLength, pattern (added/removed/increased/decreased/changed);
//! - number: maximum, minimum, exclusiveMaximum, exclusiveMinimum (draft 4's
//!   boolean form too), multipleOf;
//! - object: properties added/removed against open, closed and partially open
//!   (patternProperties / additionalProperties schema) content models, required
//!   added/removed (with/without default), additionalProperties
//!   added/removed/narrowed/extended, dependencies / dependentRequired /
//!   dependentSchemas, min/maxProperties;
//! - array: items (single schema), tuple items (`items` array or
//!   `prefixItems`) added/removed against the content model of
//!   additionalItems, additionalItems, min/maxItems, uniqueItems;
//! - enum extended/narrowed/changed, const changed;
//! - allOf/anyOf/oneOf: criterion changes, subschema sets matched by maximum
//!   bipartite matching, singleton unions, a schema that becomes a union
//!   containing it (SUM_TYPE_EXTENDED); `type: [..]` lists are unions;
//! - not; `$ref` (local pointers, `definitions`/`$defs`, and references), with
//!   cycle protection.
//!
//! Not covered: `unevaluatedProperties`/`unevaluatedItems`, `contains`,
//! min/maxContains, `propertyNames`, `if`/`then`/`else`, Confluent's
//! metadata-based reserved properties, and the compatible-only metadata
//! changes (id/title/description/default changes, which never make a schema
//! incompatible and so never appear in messages).

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::Value;

use super::jsonvalue::JsonValue;
use super::{ResolvedReference, SchemaError};

/// The JSON Schema drafts the registry accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draft {
    Draft4,
    Draft6,
    Draft7,
    Draft201909,
    Draft202012,
}

impl Draft {
    fn from_schema_uri(uri: Option<&str>) -> Draft {
        let Some(uri) = uri else { return Draft::Draft7 };
        let uri = uri.trim_end_matches('#');
        let uri = uri
            .strip_prefix("https://")
            .or_else(|| uri.strip_prefix("http://"))
            .unwrap_or(uri);
        match uri {
            "json-schema.org/draft-04/schema" => Draft::Draft4,
            "json-schema.org/draft-06/schema" => Draft::Draft6,
            "json-schema.org/draft-07/schema" => Draft::Draft7,
            "json-schema.org/draft/2019-09/schema" => Draft::Draft201909,
            "json-schema.org/draft/2020-12/schema" => Draft::Draft202012,
            _ => Draft::Draft7,
        }
    }
}

/// A parsed JSON Schema with its references.
#[derive(Clone, Debug)]
pub struct JsonSchema {
    original: JsonValue,
    draft: Draft,
    /// docs[0] is the schema itself; then every reference, depth-first.
    docs: Vec<Value>,
    /// Reference names, parallel to docs[1..].
    doc_names: Vec<String>,
}

fn invalid(msg: impl std::fmt::Display) -> SchemaError {
    SchemaError::new(format!("Invalid schema: {msg}"))
}

fn meta_validate(draft: Draft, v: &Value) -> Result<(), String> {
    let result = match draft {
        Draft::Draft4 => jsonschema::draft4::meta::validate(v),
        Draft::Draft6 => jsonschema::draft6::meta::validate(v),
        Draft::Draft7 => jsonschema::draft7::meta::validate(v),
        Draft::Draft201909 => jsonschema::draft201909::meta::validate(v),
        Draft::Draft202012 => jsonschema::draft202012::meta::validate(v),
    };
    result.map_err(|e| e.to_string())
}

fn collect_refs<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    if let Value::String(s) = child {
                        out.push(s);
                    }
                } else if k != "enum" && k != "const" && k != "default" && k != "examples" {
                    collect_refs(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

fn ref_matches(reference: &str, name: &str) -> bool {
    let r = reference.split('#').next().unwrap_or("");
    let n = name.split('#').next().unwrap_or("");
    !r.is_empty() && (r == n || n.ends_with(&format!("/{r}")) || r.ends_with(&format!("/{n}")))
}

impl JsonSchema {
    pub fn parse(text: &str, references: &[ResolvedReference]) -> Result<JsonSchema, SchemaError> {
        let original = JsonValue::parse(text).map_err(|e| invalid(format!("Invalid JSON: {e}")))?;
        if !matches!(original, JsonValue::Object(_) | JsonValue::Bool(_)) {
            return Err(invalid(format!(
                "a JSON Schema must be an object or a boolean, not {}",
                original.kind()
            )));
        }
        let value = original.to_serde();
        let draft = Draft::from_schema_uri(value.get("$schema").and_then(Value::as_str));
        meta_validate(draft, &value).map_err(invalid)?;
        let mut docs = vec![value];
        let mut doc_names = Vec::new();
        let mut seen = HashSet::new();
        fn flatten(
            refs: &[ResolvedReference],
            docs: &mut Vec<Value>,
            names: &mut Vec<String>,
            seen: &mut HashSet<String>,
        ) -> Result<(), SchemaError> {
            for r in refs {
                flatten(&r.references, docs, names, seen)?;
                if !seen.insert(r.name.clone()) {
                    continue;
                }
                let v: Value = serde_json::from_str(&r.schema)
                    .map_err(|e| invalid(format!("Invalid JSON in reference {}: {e}", r.name)))?;
                docs.push(v);
                names.push(r.name.clone());
            }
            Ok(())
        }
        flatten(references, &mut docs, &mut doc_names, &mut seen)?;
        let schema = JsonSchema {
            original,
            draft,
            docs,
            doc_names,
        };
        for (doc, v) in schema.docs.iter().enumerate() {
            let mut refs = Vec::new();
            collect_refs(v, &mut refs);
            for r in refs {
                if schema.resolve(doc, r).is_none() {
                    return Err(invalid(format!("could not resolve $ref \"{r}\"")));
                }
            }
        }
        Ok(schema)
    }

    pub fn draft(&self) -> Draft {
        self.draft
    }

    /// The schema as registered, compact, key order preserved.
    pub fn canonical(&self) -> String {
        self.original.to_compact()
    }

    /// Compact with every object's keys sorted.
    pub fn normalized(&self) -> String {
        self.original.to_sorted_compact()
    }

    /// The top-level "title", if any.
    pub fn record_names(&self) -> Vec<String> {
        self.original
            .get("title")
            .and_then(JsonValue::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect()
    }

    /// The schema as a `serde_json::Value` (for validating payloads).
    pub fn value(&self) -> &Value {
        &self.docs[0]
    }

    /// Resolves `$ref` found in document `doc`: a local pointer, or a reference name with an optional fragment.
    fn resolve(&self, doc: usize, reference: &str) -> Option<(usize, &Value)> {
        let (base, fragment) = match reference.split_once('#') {
            Some((b, f)) => (b, f),
            None => (reference, ""),
        };
        let target = if base.is_empty() {
            doc
        } else {
            let i = self.doc_names.iter().position(|n| ref_matches(base, n))?;
            i + 1
        };
        let root = &self.docs[target];
        if fragment.is_empty() {
            return Some((target, root));
        }
        if fragment.starts_with('/') {
            return root.pointer(fragment).map(|v| (target, v));
        }
        // A plain-name fragment: look for a matching $anchor / $id.
        find_anchor(root, fragment).map(|v| (target, v))
    }
}

fn find_anchor<'v>(v: &'v Value, anchor: &str) -> Option<&'v Value> {
    match v {
        Value::Object(map) => {
            if map.get("$anchor").and_then(Value::as_str) == Some(anchor)
                || map.get("$id").and_then(Value::as_str) == Some(&format!("#{anchor}"))
            {
                return Some(v);
            }
            map.values().find_map(|c| find_anchor(c, anchor))
        }
        Value::Array(items) => items.iter().find_map(|c| find_anchor(c, anchor)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Compatibility.

const COMPATIBLE: &[&str] = &[
    "ID_CHANGED",
    "DESCRIPTION_CHANGED",
    "TITLE_CHANGED",
    "DEFAULT_CHANGED",
    "SCHEMA_REMOVED",
    "TYPE_EXTENDED",
    "MAX_LENGTH_INCREASED",
    "MAX_LENGTH_REMOVED",
    "MIN_LENGTH_DECREASED",
    "MIN_LENGTH_REMOVED",
    "PATTERN_REMOVED",
    "MAXIMUM_INCREASED",
    "MAXIMUM_REMOVED",
    "MINIMUM_DECREASED",
    "MINIMUM_REMOVED",
    "EXCLUSIVE_MAXIMUM_INCREASED",
    "EXCLUSIVE_MAXIMUM_REMOVED",
    "EXCLUSIVE_MINIMUM_DECREASED",
    "EXCLUSIVE_MINIMUM_REMOVED",
    "MULTIPLE_OF_REDUCED",
    "MULTIPLE_OF_REMOVED",
    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
    "REQUIRED_ATTRIBUTE_REMOVED",
    "DEPENDENCY_ARRAY_NARROWED",
    "DEPENDENCY_ARRAY_REMOVED",
    "DEPENDENCY_SCHEMA_REMOVED",
    "MAX_PROPERTIES_INCREASED",
    "MAX_PROPERTIES_REMOVED",
    "MIN_PROPERTIES_DECREASED",
    "MIN_PROPERTIES_REMOVED",
    "ADDITIONAL_PROPERTIES_ADDED",
    "ADDITIONAL_PROPERTIES_EXTENDED",
    "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "MAX_ITEMS_INCREASED",
    "MAX_ITEMS_REMOVED",
    "MIN_ITEMS_DECREASED",
    "MIN_ITEMS_REMOVED",
    "UNIQUE_ITEMS_REMOVED",
    "ADDITIONAL_ITEMS_ADDED",
    "ADDITIONAL_ITEMS_EXTENDED",
    "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
    "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ENUM_ARRAY_EXTENDED",
    "COMBINED_TYPE_EXTENDED",
    "PRODUCT_TYPE_NARROWED",
    "SUM_TYPE_EXTENDED",
    "NOT_TYPE_NARROWED",
];

/// One change found between the original (writer) and the update (reader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub kind: &'static str,
    pub path: String,
}

impl Difference {
    pub fn is_compatible(&self) -> bool {
        COMPATIBLE.contains(&self.kind)
    }

    /// Confluent's `Difference.toString()` with the two `%s` filled in.
    pub fn message(&self, first: &str, second: &str) -> String {
        let p = &self.path;
        let k = self.kind;
        let added_or_removed = [
            "MAXIMUM_ADDED",
            "MINIMUM_ADDED",
            "EXCLUSIVE_MAXIMUM_ADDED",
            "EXCLUSIVE_MINIMUM_ADDED",
            "MULTIPLE_OF_ADDED",
            "MAX_LENGTH_ADDED",
            "MIN_LENGTH_ADDED",
            "PATTERN_ADDED",
            "REQUIRED_ATTRIBUTE_ADDED",
            "MAX_PROPERTIES_ADDED",
            "MIN_PROPERTIES_ADDED",
            "DEPENDENCY_ARRAY_ADDED",
            "DEPENDENCY_SCHEMA_ADDED",
            "MAX_ITEMS_ADDED",
            "MIN_ITEMS_ADDED",
            "UNIQUE_ITEMS_ADDED",
            "ADDITIONAL_ITEMS_REMOVED",
            "ADDITIONAL_PROPERTIES_REMOVED",
        ];
        let increased = [
            "MIN_LENGTH_INCREASED",
            "MINIMUM_INCREASED",
            "EXCLUSIVE_MINIMUM_INCREASED",
            "MIN_PROPERTIES_INCREASED",
            "MULTIPLE_OF_EXPANDED",
            "MIN_ITEMS_INCREASED",
        ];
        let decreased = [
            "MAX_LENGTH_DECREASED",
            "MAXIMUM_DECREASED",
            "MAX_ITEMS_DECREASED",
            "EXCLUSIVE_MAXIMUM_DECREASED",
            "MAX_PROPERTIES_DECREASED",
        ];
        let narrowed = [
            "ADDITIONAL_ITEMS_NARROWED",
            "ENUM_ARRAY_NARROWED",
            "SUM_TYPE_NARROWED",
            "ADDITIONAL_PROPERTIES_NARROWED",
        ];
        let changed = [
            "PATTERN_CHANGED",
            "MULTIPLE_OF_CHANGED",
            "DEPENDENCY_ARRAY_CHANGED",
        ];
        let type_changed = [
            "TYPE_CHANGED",
            "TYPE_NARROWED",
            "COMBINED_TYPE_CHANGED",
            "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
            "ENUM_ARRAY_CHANGED",
        ];
        let extended = [
            "DEPENDENCY_ARRAY_EXTENDED",
            "PRODUCT_TYPE_EXTENDED",
            "SUM_TYPE_EXTENDED",
            "NOT_TYPE_EXTENDED",
        ];
        let description = if added_or_removed.contains(&k) {
            format!("The keyword at path '{p}' in the {first} schema is not present in the {second} schema")
        } else if increased.contains(&k) {
            format!("The value at path '{p}' in the {first} schema is more than its value in the {second} schema")
        } else if decreased.contains(&k) {
            format!("The value at path '{p}' in the {first} schema is less than its value in the {second} schema")
        } else if changed.contains(&k) {
            format!("The value at path '{p}' is different between the {first} and {second} schema")
        } else if narrowed.contains(&k) {
            format!("An array or combined type at path '{p}' has fewer elements in the {first} schema than the {second} schema")
        } else if extended.contains(&k) {
            format!("An array or combined type at path '{p}' has more elements in the {first} schema than the {second} schema")
        } else if type_changed.contains(&k) {
            format!("A type at path '{p}' is different between the {first} schema and the {second} schema")
        } else {
            match k {
                "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" | "ITEM_ADDED_TO_OPEN_CONTENT_MODEL" => format!(
                    "The {first} schema has an open content model and has a property or item at path '{p}' which is missing in the {second} schema"
                ),
                "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" => format!(
                    "The {first} schema has an unopen content model and has a required property at path '{p}' which is missing in the {second} schema"
                ),
                "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" | "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL" => format!(
                    "The {first} schema has a closed content model and is missing a property or item present at path '{p}' in the {second} schema"
                ),
                "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                | "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => format!(
                    "A property or item is missing in the {first} schema but present at path '{p}' in the {second} schema and is not covered by its partially open content model"
                ),
                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                | "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => format!(
                    "The {first} schema has a property or item at path '{p}' which is missing in the {second} schema and is not covered by its partially open content model"
                ),
                _ => format!("A change at path '{p}' between the {first} and {second} schema is incompatible"),
            }
        };
        format!("{{errorType:\"{k}\", description:\"{description}\"}}")
    }
}

/// Checks that data valid under `writer` is valid under `reader`.
pub fn check(
    reader: &JsonSchema,
    writer: &JsonSchema,
    reader_label: &str,
    writer_label: &str,
) -> Vec<String> {
    differences(writer, reader)
        .into_iter()
        .filter(|d| !d.is_compatible())
        .map(|d| d.message(reader_label, writer_label))
        .collect()
}

/// All differences from `original` to `update`, as Confluent's `SchemaDiff.compare`.
pub fn differences(original: &JsonSchema, update: &JsonSchema) -> Vec<Difference> {
    let mut ctx = Ctx {
        original,
        update,
        path: Vec::new(),
        diffs: Vec::new(),
        visiting: HashSet::new(),
    };
    let o = load(original, 0, &original.docs[0], 0);
    let u = load(update, 0, &update.docs[0], 0);
    ctx.compare(Some(o), Some(u));
    ctx.diffs
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Object,
    Array,
    String,
    Number,
    Integer,
    Boolean,
    Null,
}

impl Ty {
    fn from_name(s: &str) -> Option<Ty> {
        Some(match s {
            "object" => Ty::Object,
            "array" => Ty::Array,
            "string" => Ty::String,
            "number" => Ty::Number,
            "integer" => Ty::Integer,
            "boolean" => Ty::Boolean,
            "null" => Ty::Null,
            _ => return None,
        })
    }

    /// everit's schema class: integer and number are one class.
    fn class(self) -> u8 {
        match self {
            Ty::Object => 0,
            Ty::Array => 1,
            Ty::String => 2,
            Ty::Number | Ty::Integer => 3,
            Ty::Boolean => 4,
            Ty::Null => 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Crit {
    All,
    Any,
    One,
}

impl Crit {
    fn name(self) -> &'static str {
        match self {
            Crit::All => "allOf",
            Crit::Any => "anyOf",
            Crit::One => "oneOf",
        }
    }
}

/// A schema seen the way everit's loader classifies it.
#[derive(Clone, Debug)]
enum Node<'a> {
    Empty,
    False,
    Typed {
        ty: Ty,
        v: &'a Value,
        doc: usize,
    },
    Enum(&'a Vec<Value>),
    Const(&'a Value),
    Not {
        v: &'a Value,
        doc: usize,
    },
    /// `key` identifies the schema object it came from (cycle detection).
    Combined {
        crit: Crit,
        subs: Vec<Node<'a>>,
        key: Option<(usize, usize)>,
    },
    /// A subschema not classified yet: loaded when compared, so that
    /// recursive schemas are not unfolded up front.
    Lazy {
        v: &'a Value,
        doc: usize,
    },
}

impl Node<'_> {
    fn class(&self) -> u8 {
        match self {
            Node::Empty => 10,
            Node::False => 11,
            Node::Typed { ty, .. } => ty.class(),
            Node::Enum(_) => 12,
            Node::Const(_) => 13,
            Node::Not { .. } => 14,
            Node::Combined { .. } => 15,
            Node::Lazy { .. } => 16,
        }
    }

    fn key(&self) -> Option<(usize, usize)> {
        match self {
            Node::Typed { v, doc, .. } | Node::Not { v, doc } => {
                Some((*v as *const Value as usize, *doc))
            }
            Node::Combined { key, .. } => *key,
            _ => None,
        }
    }
}

const OBJECT_KEYWORDS: &[&str] = &[
    "properties",
    "additionalProperties",
    "required",
    "patternProperties",
    "minProperties",
    "maxProperties",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "propertyNames",
];
const ARRAY_KEYWORDS: &[&str] = &[
    "items",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "prefixItems",
];
const STRING_KEYWORDS: &[&str] = &["minLength", "maxLength", "pattern"];
const NUMBER_KEYWORDS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

/// Classifies `v` (found in document `doc` of `schema`), following `$ref`s.
fn load<'a>(schema: &'a JsonSchema, doc: usize, v: &'a Value, depth: usize) -> Node<'a> {
    let map = match v {
        Value::Bool(true) => return Node::Empty,
        Value::Bool(false) => return Node::False,
        Value::Object(map) => map,
        _ => return Node::Empty,
    };
    if let Some(Value::String(r)) = map.get("$ref") {
        if depth < 64 {
            if let Some((d, target)) = schema.resolve(doc, r) {
                return load(schema, d, target, depth + 1);
            }
        }
        return Node::Empty;
    }
    let mut parts = Vec::new();
    let has_any = |keys: &[&str]| keys.iter().any(|k| map.contains_key(*k));
    match map.get("type") {
        Some(Value::String(t)) => {
            if let Some(ty) = Ty::from_name(t) {
                parts.push(Node::Typed { ty, v, doc });
            }
        }
        Some(Value::Array(types)) => {
            let tys: Vec<Ty> = types
                .iter()
                .filter_map(|t| t.as_str().and_then(Ty::from_name))
                .collect();
            if tys.len() == 1 {
                parts.push(Node::Typed { ty: tys[0], v, doc });
            } else if !tys.is_empty() {
                let subs = tys
                    .into_iter()
                    .map(|ty| Node::Typed { ty, v, doc })
                    .collect();
                parts.push(Node::Combined {
                    crit: Crit::Any,
                    subs,
                    key: None,
                });
            }
        }
        _ => {
            let inferred = if has_any(OBJECT_KEYWORDS) {
                Some(Ty::Object)
            } else if has_any(ARRAY_KEYWORDS) {
                Some(Ty::Array)
            } else if has_any(STRING_KEYWORDS) {
                Some(Ty::String)
            } else if has_any(NUMBER_KEYWORDS) {
                Some(Ty::Number)
            } else {
                None
            };
            if let Some(ty) = inferred {
                parts.push(Node::Typed { ty, v, doc });
            }
        }
    }
    if let Some(Value::Array(values)) = map.get("enum") {
        parts.push(Node::Enum(values));
    }
    if let Some(c) = map.get("const") {
        parts.push(Node::Const(c));
    }
    if let Some(n) = map.get("not") {
        parts.push(Node::Not { v: n, doc });
    }
    for crit in [Crit::All, Crit::Any, Crit::One] {
        if let Some(Value::Array(subs)) = map.get(crit.name()) {
            let subs = subs.iter().map(|s| Node::Lazy { v: s, doc }).collect();
            let key = Some((v as *const Value as usize + crit as usize + 1, doc));
            parts.push(Node::Combined { crit, subs, key });
        }
    }
    match parts.len() {
        0 => Node::Empty,
        1 => parts.pop().unwrap_or(Node::Empty),
        _ => Node::Combined {
            crit: Crit::All,
            subs: parts,
            key: Some((v as *const Value as usize, doc)),
        },
    }
}

static EMPTY_MAP: LazyLock<serde_json::Map<String, Value>> = LazyLock::new(serde_json::Map::new);

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn has_default(schema: &JsonSchema, doc: usize, v: &Value) -> bool {
    if v.get("default").is_some() {
        return true;
    }
    match v
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| schema.resolve(doc, r))
    {
        Some((_, target)) => target.get("default").is_some(),
        None => false,
    }
}

struct Ctx<'a> {
    original: &'a JsonSchema,
    update: &'a JsonSchema,
    path: Vec<String>,
    diffs: Vec<Difference>,
    visiting: HashSet<((usize, usize), (usize, usize))>,
}

impl<'a> Ctx<'a> {
    fn path_string(&self) -> String {
        format!("#/{}", self.path.join("/"))
    }

    fn add(&mut self, kind: &'static str) {
        let path = self.path_string();
        self.diffs.push(Difference { kind, path });
    }

    fn add_at(&mut self, attribute: &str, kind: &'static str) {
        self.path.push(attribute.to_owned());
        self.add(kind);
        self.path.pop();
    }

    /// A property or item removed (added) where the other side's partially
    /// open content model covers it: compare it with the schema that covers
    /// it, keep those differences, and record `covered` or `not_covered`.
    fn covered_by_partial(
        &mut self,
        original: Node<'a>,
        update: Node<'a>,
        covered: &'static str,
        not_covered: &'static str,
    ) {
        let mut sub = self.sub();
        sub.compare(Some(original), Some(update));
        let ok = Self::compatible(&sub.diffs);
        self.diffs.extend(sub.diffs);
        self.add(if ok { covered } else { not_covered });
    }

    fn sub(&self) -> Ctx<'a> {
        Ctx {
            original: self.original,
            update: self.update,
            path: self.path.clone(),
            diffs: Vec::new(),
            visiting: self.visiting.clone(),
        }
    }

    fn compatible(diffs: &[Difference]) -> bool {
        diffs.iter().all(Difference::is_compatible)
    }

    fn compare(&mut self, original: Option<Node<'a>>, update: Option<Node<'a>>) {
        let (o, u) = match (original, update) {
            (None, None) => return,
            (None, Some(_)) => return self.add("SCHEMA_ADDED"),
            (Some(_), None) => return self.add("SCHEMA_REMOVED"),
            (Some(o), Some(u)) => (o, u),
        };
        let force = |schema: &'a JsonSchema, n: Node<'a>| match n {
            Node::Lazy { v, doc } => load(schema, doc, v, 0),
            other => other,
        };
        let (o, u) = (force(self.original, o), force(self.update, u));
        let guard = match (o.key(), u.key()) {
            (Some(ok), Some(uk)) => Some((ok, uk)),
            _ => None,
        };
        if let Some(g) = guard {
            if !self.visiting.insert(g) {
                return; // already being compared further up: a recursive schema
            }
        }
        self.compare_nodes(o, u);
        if let Some(g) = guard {
            self.visiting.remove(&g);
        }
    }

    fn compare_nodes(&mut self, o: Node<'a>, u: Node<'a>) {
        match (&o, &u) {
            (Node::Combined { .. }, Node::Combined { .. }) => {}
            (_, Node::Combined { crit, subs, .. }) => {
                if subs.len() == 1 {
                    let mut sub = self.sub();
                    sub.compare(Some(o.clone()), Some(subs[0].clone()));
                    if Self::compatible(&sub.diffs) {
                        self.diffs.extend(sub.diffs);
                        return;
                    }
                } else if matches!(crit, Crit::Any | Crit::One) {
                    for s in subs {
                        let mut sub = self.sub();
                        sub.compare(Some(o.clone()), Some(s.clone()));
                        if Self::compatible(&sub.diffs) {
                            self.diffs.extend(sub.diffs);
                            self.add("SUM_TYPE_EXTENDED");
                            return;
                        }
                    }
                }
            }
            (Node::Combined { subs, .. }, _) if subs.len() == 1 => {
                let mut sub = self.sub();
                sub.compare(Some(subs[0].clone()), Some(u.clone()));
                if Self::compatible(&sub.diffs) {
                    self.diffs.extend(sub.diffs);
                    return;
                }
            }
            _ => {}
        }
        if o.class() != u.class() {
            if matches!(o, Node::False) || matches!(u, Node::Empty) {
                return;
            }
            return self.add("TYPE_CHANGED");
        }
        match (o, u) {
            (
                Node::Typed {
                    ty: ot,
                    v: ov,
                    doc: od,
                },
                Node::Typed {
                    ty: ut,
                    v: uv,
                    doc: ud,
                },
            ) => match ot.class() {
                0 => self.object(ov, od, uv, ud),
                1 => self.array(ov, od, uv, ud),
                2 => self.string(ov, uv),
                3 => self.number(ot, ov, ut, uv),
                _ => {}
            },
            (Node::Enum(ov), Node::Enum(uv)) => {
                let contains_all = |a: &Vec<Value>, b: &Vec<Value>| b.iter().all(|x| a.contains(x));
                if !(contains_all(ov, uv) && contains_all(uv, ov)) {
                    if contains_all(uv, ov) {
                        self.add("ENUM_ARRAY_EXTENDED");
                    } else if contains_all(ov, uv) {
                        self.add("ENUM_ARRAY_NARROWED");
                    } else {
                        self.add("ENUM_ARRAY_CHANGED");
                    }
                }
            }
            (Node::Const(ov), Node::Const(uv)) if ov != uv => {
                self.add("ENUM_ARRAY_CHANGED");
            }
            (Node::Not { v: ov, doc: od }, Node::Not { v: uv, doc: ud }) if ov != uv => {
                // not(U) accepts all that not(O) accepts iff U's inner accepts no more than O's inner.
                let mut sub = self.sub();
                let inner_u = load(self.update, ud, uv, 0);
                let inner_o = load(self.original, od, ov, 0);
                sub.swap_compare(inner_u, inner_o);
                if Self::compatible(&sub.diffs) {
                    self.add("NOT_TYPE_NARROWED");
                } else {
                    self.add("NOT_TYPE_EXTENDED");
                }
            }
            (
                Node::Combined {
                    crit: oc, subs: os, ..
                },
                Node::Combined {
                    crit: uc, subs: us, ..
                },
            ) => self.combined(oc, os, uc, us),
            _ => {}
        }
    }

    /// Compares with the roles of the two schemas swapped (for `not`).
    fn swap_compare(&mut self, o: Node<'a>, u: Node<'a>) {
        let mut swapped = Ctx {
            original: self.update,
            update: self.original,
            path: self.path.clone(),
            diffs: Vec::new(),
            visiting: HashSet::new(),
        };
        swapped.compare(Some(o), Some(u));
        self.diffs.extend(swapped.diffs);
    }

    fn combined(&mut self, oc: Crit, os: Vec<Node<'a>>, uc: Crit, us: Vec<Node<'a>>) {
        let extended = uc == Crit::Any
            || (uc == Crit::One && os.len() == 1)
            || (uc == Crit::All && os.len() == 1 && us.len() == 1);
        let criterion_change = if oc == uc {
            None
        } else if extended {
            Some("COMBINED_TYPE_EXTENDED")
        } else {
            Some("COMBINED_TYPE_CHANGED")
        };
        if let Some(kind) = criterion_change {
            self.add(kind);
            if kind == "COMBINED_TYPE_CHANGED" {
                return;
            }
        }
        if os.len() < us.len() {
            self.add(if uc == Crit::All {
                "PRODUCT_TYPE_EXTENDED"
            } else {
                "SUM_TYPE_EXTENDED"
            });
        } else if os.len() > us.len() {
            self.add(if uc == Crit::All {
                "PRODUCT_TYPE_NARROWED"
            } else {
                "SUM_TYPE_NARROWED"
            });
        }
        // compatible[i][j]: original sub i can be replaced by update sub j; keep its diffs.
        let mut edges: Vec<Vec<Option<Vec<Difference>>>> = Vec::with_capacity(os.len());
        for (i, o) in os.iter().enumerate() {
            self.path.push(format!("{}/{i}", oc.name()));
            let mut row = Vec::with_capacity(us.len());
            for u in &us {
                let mut sub = self.sub();
                sub.compare(Some(o.clone()), Some(u.clone()));
                row.push(if Self::compatible(&sub.diffs) {
                    Some(sub.diffs)
                } else {
                    None
                });
            }
            self.path.pop();
            edges.push(row);
        }
        let matching = max_matching(&edges, us.len());
        let mut matched = 0;
        for (i, j) in matching.iter().enumerate() {
            if let Some(j) = j {
                matched += 1;
                if let Some(Some(diffs)) = edges.get(i).and_then(|r| r.get(*j)) {
                    self.diffs.extend(diffs.iter().cloned());
                }
            }
        }
        if matched < os.len().min(us.len()) {
            self.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
        }
    }

    fn limit(&mut self, attr: &str, o: Option<f64>, u: Option<f64>, kinds: [&'static str; 4]) {
        let [added, removed, increased, decreased] = kinds;
        match (o, u) {
            (None, Some(_)) => self.add_at(attr, added),
            (Some(_), None) => self.add_at(attr, removed),
            (Some(a), Some(b)) if a < b => self.add_at(attr, increased),
            (Some(a), Some(b)) if a > b => self.add_at(attr, decreased),
            _ => {}
        }
    }

    fn string(&mut self, o: &Value, u: &Value) {
        self.limit(
            "maxLength",
            num(o, "maxLength"),
            num(u, "maxLength"),
            [
                "MAX_LENGTH_ADDED",
                "MAX_LENGTH_REMOVED",
                "MAX_LENGTH_INCREASED",
                "MAX_LENGTH_DECREASED",
            ],
        );
        self.limit(
            "minLength",
            num(o, "minLength"),
            num(u, "minLength"),
            [
                "MIN_LENGTH_ADDED",
                "MIN_LENGTH_REMOVED",
                "MIN_LENGTH_INCREASED",
                "MIN_LENGTH_DECREASED",
            ],
        );
        match (o.get("pattern"), u.get("pattern")) {
            (None, Some(_)) => self.add_at("pattern", "PATTERN_ADDED"),
            (Some(_), None) => self.add_at("pattern", "PATTERN_REMOVED"),
            (Some(a), Some(b)) if a != b => self.add_at("pattern", "PATTERN_CHANGED"),
            _ => {}
        }
    }

    fn number(&mut self, ot: Ty, o: &Value, ut: Ty, u: &Value) {
        // Draft 4: exclusiveMaximum/Minimum are booleans qualifying maximum/minimum.
        fn bounds(v: &Value, limit: &str, exclusive: &str) -> (Option<f64>, Option<f64>) {
            match v.get(exclusive) {
                Some(Value::Bool(true)) => (None, num(v, limit)),
                Some(Value::Bool(false)) | None => (num(v, limit), None),
                Some(other) => (num(v, limit), other.as_f64()),
            }
        }
        let (omax, oxmax) = bounds(o, "maximum", "exclusiveMaximum");
        let (umax, uxmax) = bounds(u, "maximum", "exclusiveMaximum");
        let (omin, oxmin) = bounds(o, "minimum", "exclusiveMinimum");
        let (umin, uxmin) = bounds(u, "minimum", "exclusiveMinimum");
        self.limit(
            "maximum",
            omax,
            umax,
            [
                "MAXIMUM_ADDED",
                "MAXIMUM_REMOVED",
                "MAXIMUM_INCREASED",
                "MAXIMUM_DECREASED",
            ],
        );
        self.limit(
            "minimum",
            omin,
            umin,
            [
                "MINIMUM_ADDED",
                "MINIMUM_REMOVED",
                "MINIMUM_INCREASED",
                "MINIMUM_DECREASED",
            ],
        );
        self.limit(
            "exclusiveMaximum",
            oxmax,
            uxmax,
            [
                "EXCLUSIVE_MAXIMUM_ADDED",
                "EXCLUSIVE_MAXIMUM_REMOVED",
                "EXCLUSIVE_MAXIMUM_INCREASED",
                "EXCLUSIVE_MAXIMUM_DECREASED",
            ],
        );
        self.limit(
            "exclusiveMinimum",
            oxmin,
            uxmin,
            [
                "EXCLUSIVE_MINIMUM_ADDED",
                "EXCLUSIVE_MINIMUM_REMOVED",
                "EXCLUSIVE_MINIMUM_INCREASED",
                "EXCLUSIVE_MINIMUM_DECREASED",
            ],
        );
        match (num(o, "multipleOf"), num(u, "multipleOf")) {
            (None, Some(_)) => self.add_at("multipleOf", "MULTIPLE_OF_ADDED"),
            (Some(_), None) => self.add_at("multipleOf", "MULTIPLE_OF_REMOVED"),
            (Some(a), Some(b)) if a != b => {
                let divides = |x: f64, y: f64| y != 0.0 && (x / y).fract() == 0.0;
                if divides(b, a) {
                    self.add_at("multipleOf", "MULTIPLE_OF_EXPANDED");
                } else if divides(a, b) {
                    self.add_at("multipleOf", "MULTIPLE_OF_REDUCED");
                } else {
                    self.add_at("multipleOf", "MULTIPLE_OF_CHANGED");
                }
            }
            _ => {}
        }
        match (ot, ut) {
            (Ty::Integer, Ty::Number) => self.add("TYPE_EXTENDED"),
            (Ty::Number, Ty::Integer) => self.add("TYPE_NARROWED"),
            _ => {}
        }
    }

    fn object(&mut self, o: &'a Value, od: usize, u: &'a Value, ud: usize) {
        let oprops = o
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&EMPTY_MAP);
        let uprops = u
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&EMPTY_MAP);
        let required = |v: &Value| -> Vec<String> {
            v.get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let (oreq, ureq) = (required(o), required(u));

        // required
        self.path.push("required".into());
        for key in oprops.keys() {
            if let Some(uschema) = uprops.get(key) {
                let (was, is) = (oreq.contains(key), ureq.contains(key));
                if was && !is {
                    self.add_at(key, "REQUIRED_ATTRIBUTE_REMOVED");
                } else if !was && is {
                    if has_default(self.update, ud, uschema) {
                        self.add_at(key, "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED");
                    } else {
                        self.add_at(key, "REQUIRED_ATTRIBUTE_ADDED");
                    }
                }
            }
        }
        self.path.pop();

        // properties
        self.path.push("properties".into());
        let mut keys: Vec<&String> = oprops.keys().collect();
        keys.extend(uprops.keys().filter(|k| !oprops.contains_key(*k)));
        for key in keys {
            self.path.push(key.clone());
            match (oprops.get(key), uprops.get(key)) {
                (Some(os), None) => {
                    if is_open(u) {
                        self.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
                    } else if let Some(partial) = partial_schema(u, key) {
                        self.covered_by_partial(
                            load(self.original, od, os, 0),
                            load(self.update, ud, partial, 0),
                            "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                            "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                        );
                    } else if matches!(load(self.original, od, os, 0), Node::False) {
                        self.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                    } else {
                        self.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                    }
                }
                (None, Some(us)) => {
                    if is_open(o) {
                        if matches!(load(self.update, ud, us, 0), Node::Empty) {
                            self.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL");
                        } else {
                            self.add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
                        }
                    } else {
                        if let Some(partial) = partial_schema(o, key) {
                            self.covered_by_partial(
                                load(self.original, od, partial, 0),
                                load(self.update, ud, us, 0),
                                "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                            );
                        }
                        if ureq.contains(key) {
                            if has_default(self.update, ud, us) {
                                self.add(
                                    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
                                );
                            } else {
                                self.add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
                            }
                        } else {
                            self.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
                        }
                    }
                }
                (Some(os), Some(us)) => {
                    let (on, un) = (load(self.original, od, os, 0), load(self.update, ud, us, 0));
                    self.compare(Some(on), Some(un));
                }
                (None, None) => {}
            }
            self.path.pop();
        }
        self.path.pop();

        // dependencies
        self.path.push("dependencies".into());
        let (oarr, osch) = dependencies(o);
        let (uarr, usch) = dependencies(u);
        let mut keys: Vec<&String> = oarr.iter().map(|(k, _)| *k).collect();
        keys.extend(
            uarr.iter()
                .map(|(k, _)| *k)
                .filter(|k| !oarr.iter().any(|(ok, _)| ok == k)),
        );
        for key in keys {
            let od_ = oarr.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
            let ud_ = uarr.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
            match (od_, ud_) {
                (Some(_), None) => self.add_at(key, "DEPENDENCY_ARRAY_REMOVED"),
                (None, Some(_)) => self.add_at(key, "DEPENDENCY_ARRAY_ADDED"),
                (Some(a), Some(b)) => {
                    let a: HashSet<&str> = a.iter().copied().collect();
                    let b: HashSet<&str> = b.iter().copied().collect();
                    if a != b {
                        if b.is_superset(&a) {
                            self.add_at(key, "DEPENDENCY_ARRAY_EXTENDED");
                        } else if a.is_superset(&b) {
                            self.add_at(key, "DEPENDENCY_ARRAY_NARROWED");
                        } else {
                            self.add_at(key, "DEPENDENCY_ARRAY_CHANGED");
                        }
                    }
                }
                (None, None) => {}
            }
        }
        let mut keys: Vec<&String> = osch.iter().map(|(k, _)| *k).collect();
        keys.extend(
            usch.iter()
                .map(|(k, _)| *k)
                .filter(|k| !osch.iter().any(|(ok, _)| ok == k)),
        );
        for key in keys {
            let os = osch.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
            let us = usch.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
            self.path.push(key.clone());
            match (os, us) {
                (Some(_), None) => self.add("DEPENDENCY_SCHEMA_REMOVED"),
                (None, Some(_)) => self.add("DEPENDENCY_SCHEMA_ADDED"),
                (Some(a), Some(b)) => {
                    let (an, bn) = (load(self.original, od, a, 0), load(self.update, ud, b, 0));
                    self.compare(Some(an), Some(bn));
                }
                (None, None) => {}
            }
            self.path.pop();
        }
        self.path.pop();

        // additionalProperties
        self.path.push("additionalProperties".into());
        let (op, osch) = additional(o, "additionalProperties");
        let (up, usch) = additional(u, "additionalProperties");
        if op != up {
            self.add(if up {
                "ADDITIONAL_PROPERTIES_ADDED"
            } else {
                "ADDITIONAL_PROPERTIES_REMOVED"
            });
        } else {
            match (osch, usch) {
                (None, Some(_)) => self.add("ADDITIONAL_PROPERTIES_NARROWED"),
                (Some(_), None) => self.add("ADDITIONAL_PROPERTIES_EXTENDED"),
                (Some(a), Some(b)) => {
                    let (an, bn) = (load(self.original, od, a, 0), load(self.update, ud, b, 0));
                    self.compare(Some(an), Some(bn));
                }
                (None, None) => {}
            }
        }
        self.path.pop();

        self.limit(
            "maxProperties",
            num(o, "maxProperties"),
            num(u, "maxProperties"),
            [
                "MAX_PROPERTIES_ADDED",
                "MAX_PROPERTIES_REMOVED",
                "MAX_PROPERTIES_INCREASED",
                "MAX_PROPERTIES_DECREASED",
            ],
        );
        self.limit(
            "minProperties",
            num(o, "minProperties"),
            num(u, "minProperties"),
            [
                "MIN_PROPERTIES_ADDED",
                "MIN_PROPERTIES_REMOVED",
                "MIN_PROPERTIES_INCREASED",
                "MIN_PROPERTIES_DECREASED",
            ],
        );
    }

    fn array(&mut self, o: &'a Value, od: usize, u: &'a Value, ud: usize) {
        let oa = ArrayModel::of(o);
        let ua = ArrayModel::of(u);
        // items (a single schema for all items)
        self.path.push("items".into());
        let on = oa.all_items.map(|v| load(self.original, od, v, 0));
        let un = ua.all_items.map(|v| load(self.update, ud, v, 0));
        self.compare(on, un);
        self.path.pop();

        // tuple items
        let common = oa.tuple.len().min(ua.tuple.len());
        for i in 0..oa.tuple.len().max(ua.tuple.len()) {
            self.path.push(format!("items/{i}"));
            if i < common {
                let (on, un) = (
                    load(self.original, od, oa.tuple[i], 0),
                    load(self.update, ud, ua.tuple[i], 0),
                );
                self.compare(Some(on), Some(un));
            } else if i < oa.tuple.len() {
                let os = oa.tuple[i];
                if ua.is_open() {
                    self.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL");
                } else if let Some(partial) = ua.additional_schema {
                    self.covered_by_partial(
                        load(self.original, od, os, 0),
                        load(self.update, ud, partial, 0),
                        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                        "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                    );
                } else if matches!(load(self.original, od, os, 0), Node::False) {
                    self.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                } else {
                    self.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                }
            } else {
                let us = ua.tuple[i];
                if oa.is_open() {
                    if matches!(load(self.update, ud, us, 0), Node::Empty) {
                        self.add("ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL");
                    } else {
                        self.add("ITEM_ADDED_TO_OPEN_CONTENT_MODEL");
                    }
                } else if let Some(partial) = oa.additional_schema {
                    self.covered_by_partial(
                        load(self.original, od, partial, 0),
                        load(self.update, ud, us, 0),
                        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                        "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                    );
                } else {
                    self.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL");
                }
            }
            self.path.pop();
        }

        // additionalItems
        self.path.push("additionalItems".into());
        if oa.permits_additional != ua.permits_additional {
            self.add(if oa.permits_additional {
                "ADDITIONAL_ITEMS_REMOVED"
            } else {
                "ADDITIONAL_ITEMS_ADDED"
            });
        } else {
            match (oa.additional_schema, ua.additional_schema) {
                (None, Some(_)) => self.add("ADDITIONAL_ITEMS_NARROWED"),
                (Some(_), None) => self.add("ADDITIONAL_ITEMS_EXTENDED"),
                (Some(a), Some(b)) => {
                    let (an, bn) = (load(self.original, od, a, 0), load(self.update, ud, b, 0));
                    self.compare(Some(an), Some(bn));
                }
                (None, None) => {}
            }
        }
        self.path.pop();

        self.limit(
            "maxItems",
            num(o, "maxItems"),
            num(u, "maxItems"),
            [
                "MAX_ITEMS_ADDED",
                "MAX_ITEMS_REMOVED",
                "MAX_ITEMS_INCREASED",
                "MAX_ITEMS_DECREASED",
            ],
        );
        self.limit(
            "minItems",
            num(o, "minItems"),
            num(u, "minItems"),
            [
                "MIN_ITEMS_ADDED",
                "MIN_ITEMS_REMOVED",
                "MIN_ITEMS_INCREASED",
                "MIN_ITEMS_DECREASED",
            ],
        );
        let unique = |v: &Value| {
            v.get("uniqueItems")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        match (unique(o), unique(u)) {
            (true, false) => self.add_at("uniqueItems", "UNIQUE_ITEMS_REMOVED"),
            (false, true) => self.add_at("uniqueItems", "UNIQUE_ITEMS_ADDED"),
            _ => {}
        }
    }
}

/// An array schema's item model.
struct ArrayModel<'a> {
    all_items: Option<&'a Value>,
    tuple: Vec<&'a Value>,
    permits_additional: bool,
    additional_schema: Option<&'a Value>,
}

impl<'a> ArrayModel<'a> {
    fn of(v: &'a Value) -> ArrayModel<'a> {
        let (tuple, additional): (Vec<&Value>, Option<&Value>) =
            if let Some(Value::Array(prefix)) = v.get("prefixItems") {
                (prefix.iter().collect(), v.get("items"))
            } else if let Some(Value::Array(items)) = v.get("items") {
                (items.iter().collect(), v.get("additionalItems"))
            } else {
                (Vec::new(), v.get("additionalItems"))
            };
        let all_items = match v.get("items") {
            Some(Value::Array(_)) | None => None,
            Some(items) if v.get("prefixItems").is_none() => Some(items),
            Some(_) => None,
        };
        let (permits_additional, additional_schema) = match additional {
            None | Some(Value::Bool(true)) => (true, None),
            Some(Value::Bool(false)) => (false, None),
            Some(s) => (true, Some(s)),
        };
        ArrayModel {
            all_items,
            tuple,
            permits_additional,
            additional_schema,
        }
    }

    fn is_open(&self) -> bool {
        self.permits_additional && self.additional_schema.is_none()
    }
}

/// (permits additional properties, the schema they must match).
fn additional<'v>(v: &'v Value, key: &str) -> (bool, Option<&'v Value>) {
    match v.get(key) {
        None | Some(Value::Bool(true)) => (true, None),
        Some(Value::Bool(false)) => (false, None),
        Some(s) => (true, Some(s)),
    }
}

fn is_open(v: &Value) -> bool {
    let no_patterns = v
        .get("patternProperties")
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty());
    let (permits, schema) = additional(v, "additionalProperties");
    no_patterns && permits && schema.is_none()
}

fn partial_schema<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    if let Some(patterns) = v.get("patternProperties").and_then(Value::as_object) {
        for (pattern, schema) in patterns {
            if regex::Regex::new(pattern).is_ok_and(|re| re.is_match(key)) {
                return Some(schema);
            }
        }
    }
    additional(v, "additionalProperties").1
}

type DepArrays<'v> = Vec<(&'v String, Vec<&'v str>)>;
type DepSchemas<'v> = Vec<(&'v String, &'v Value)>;

fn dependencies(v: &Value) -> (DepArrays<'_>, DepSchemas<'_>) {
    let mut arrays = Vec::new();
    let mut schemas = Vec::new();
    for key in ["dependencies", "dependentRequired", "dependentSchemas"] {
        if let Some(map) = v.get(key).and_then(Value::as_object) {
            for (k, dep) in map {
                match dep {
                    Value::Array(items) => {
                        arrays.push((k, items.iter().filter_map(Value::as_str).collect()))
                    }
                    other => schemas.push((k, other)),
                }
            }
        }
    }
    (arrays, schemas)
}

/// A maximum bipartite matching (Kuhn's algorithm): for each left vertex, the matched right vertex.
fn max_matching<T>(edges: &[Vec<Option<T>>], right: usize) -> Vec<Option<usize>> {
    fn try_assign<T>(
        i: usize,
        edges: &[Vec<Option<T>>],
        seen: &mut [bool],
        right_match: &mut [Option<usize>],
    ) -> bool {
        for j in 0..right_match.len() {
            if edges[i].get(j).is_some_and(Option::is_some) && !seen[j] {
                seen[j] = true;
                if right_match[j].is_none_or(|k| try_assign(k, edges, seen, right_match)) {
                    right_match[j] = Some(i);
                    return true;
                }
            }
        }
        false
    }
    let mut right_match: Vec<Option<usize>> = vec![None; right];
    for i in 0..edges.len() {
        let mut seen = vec![false; right];
        try_assign(i, edges, &mut seen, &mut right_match);
    }
    let mut left = vec![None; edges.len()];
    for (j, m) in right_match.iter().enumerate() {
        if let Some(i) = m {
            left[*i] = Some(j);
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> JsonSchema {
        JsonSchema::parse(text, &[]).unwrap()
    }

    fn kinds(o: &str, u: &str) -> Vec<&'static str> {
        differences(&parse(o), &parse(u))
            .into_iter()
            .map(|d| d.kind)
            .collect()
    }

    #[test]
    fn canonical_keeps_order_normalized_sorts() {
        let s = parse(
            r#"{ "type": "object", "properties": { "b": {"type": "string"}, "a": {"type": "integer"} } }"#,
        );
        assert_eq!(
            s.canonical(),
            r#"{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}"#
        );
        assert_eq!(
            s.normalized(),
            r#"{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}"#
        );
    }

    #[test]
    fn meta_schema_validation() {
        assert!(JsonSchema::parse(r#"{"type":"invalid_type"}"#, &[]).is_err());
        assert!(JsonSchema::parse(
            r#"{"type":"object","properties":{"a":{"type":"strin"}}}"#,
            &[]
        )
        .is_err());
        assert!(JsonSchema::parse(r#"[1,2]"#, &[]).is_err());
        assert!(JsonSchema::parse(
            r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}"#,
            &[]
        )
        .is_ok());
        assert!(JsonSchema::parse(
            r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"}"#,
            &[]
        )
        .is_ok());
        assert!(JsonSchema::parse(r#"{"$ref":"other.json"}"#, &[]).is_err());
        assert!(JsonSchema::parse(
            r##"{"definitions":{"a":{"type":"string"}},"$ref":"#/definitions/a"}"##,
            &[]
        )
        .is_ok());
    }

    #[test]
    fn difference_kinds() {
        assert_eq!(
            kinds(r#"{"type":"string"}"#, r#"{"type":"integer"}"#),
            vec!["TYPE_CHANGED"]
        );
        assert_eq!(
            kinds(r#"{"type":"integer"}"#, r#"{"type":"number"}"#),
            vec!["TYPE_EXTENDED"]
        );
        assert_eq!(
            kinds(r#"{"type":"string"}"#, r#"{"type":["string","null"]}"#),
            vec!["SUM_TYPE_EXTENDED"]
        );
        assert_eq!(
            kinds(
                r#"{"type":"string","maxLength":5}"#,
                r#"{"type":"string","maxLength":3}"#
            ),
            vec!["MAX_LENGTH_DECREASED"]
        );
        assert_eq!(
            kinds(r#"{"enum":["a","b"]}"#, r#"{"enum":["a"]}"#),
            vec!["ENUM_ARRAY_NARROWED"]
        );
        assert_eq!(
            kinds(
                r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#,
                r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":false}"#
            ),
            vec!["OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"]
        );
    }

    #[test]
    fn message_format() {
        let d = Difference {
            kind: "TYPE_CHANGED",
            path: "#/properties/a".into(),
        };
        assert_eq!(
            d.message("new", "old"),
            "{errorType:\"TYPE_CHANGED\", description:\"A type at path '#/properties/a' is different between the new schema and the old schema\"}"
        );
    }

    #[test]
    fn recursive_schemas_terminate() {
        let list =
            r##"{"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#"}}}"##;
        assert!(kinds(list, list).is_empty());
        let list2 =
            r##"{"type":"object","properties":{"v":{"type":"string"},"next":{"$ref":"#"}}}"##;
        assert_eq!(kinds(list, list2), vec!["TYPE_CHANGED"]);
        let fork = r##"{"anyOf":[{"$ref":"#"},{"$ref":"#"},{"type":"string"}]}"##;
        let _ = kinds(fork, fork);
        let deep = r##"{"allOf":[{"anyOf":[{"$ref":"#"},{"$ref":"#"}]},{"oneOf":[{"$ref":"#"},{"$ref":"#"}]}]}"##;
        let _ = kinds(deep, deep);
    }

    #[test]
    fn matching() {
        let edges = vec![vec![Some(()), Some(())], vec![Some(()), None]];
        assert_eq!(max_matching(&edges, 2), vec![Some(1), Some(0)]);
    }
}
