//! `ReplaceField$Key` / `ReplaceField$Value`: drop (`exclude`), keep only
//! (`include`) and rename (`renames`, `old:new` pairs) top-level fields.
//! The pre-2.7 names `blacklist` / `whitelist` are accepted for
//! `exclude` / `include`. Tombstones pass through.

use std::collections::HashMap;

use super::util::{self, key, value, Side};
use super::{RecordContext, Transformation};
use crate::config::def::{split_list, ConfigType, Importance, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::{ConnectRecord, SchemaBuilder, Struct, Value};
use crate::error::Result;

const PURPOSE: &str = "field replacement";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(key(
            "exclude",
            ConfigType::List,
            value(""),
            Importance::Medium,
            "Fields to exclude. This takes precedence over the fields to include.",
        ))
        .define(key(
            "include",
            ConfigType::List,
            value(""),
            Importance::Medium,
            "Fields to include. If specified, only these fields will be used.",
        ))
        .define(
            key(
                "renames",
                ConfigType::List,
                value(""),
                Importance::Medium,
                "Field rename mappings.",
            )
            .validator(Validator::Custom(check_renames)),
        )
        .define(util::replace_null_key())
        .define(util::field_syntax_key())
}

fn check_renames(v: &str) -> Option<String> {
    parse_renames(&split_list(v)).err()
}

/// `old:new` pairs; the error names the first bad mapping.
fn parse_renames(list: &[String]) -> Result<Vec<(String, String)>, String> {
    list.iter()
        .map(|m| {
            let parts: Vec<&str> = m.split(':').collect();
            if parts.len() != 2 {
                return Err(format!("Invalid rename mapping: {m}"));
            }
            Ok((parts[0].to_string(), parts[1].to_string()))
        })
        .collect()
}

pub struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: HashMap<String, String>,
    reverse: HashMap<String, String>,
    replace_null_with_default: bool,
}

/// Kafka's `ConfigUtils.translateDeprecatedConfigs`: the old name is used
/// when the new one is not set.
fn translate(props: &Props) -> Props {
    let mut p = props.clone();
    for (new, old) in [("exclude", "blacklist"), ("include", "whitelist")] {
        if !p.contains_key(new) {
            if let Some(v) = props.get(old) {
                p.insert(new.to_string(), v.clone());
            }
        }
        p.remove(old);
    }
    p
}

pub fn build(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), &translate(props))?;
    let renames: HashMap<String, String> = parse_renames(&c.list("renames"))
        .map_err(crate::error::Error::config)?
        .into_iter()
        .collect();
    let mut named: Vec<String> = c.list("exclude");
    named.extend(c.list("include"));
    named.extend(renames.keys().cloned());
    util::require_top_level(&c, &named, "ReplaceField")?;
    let reverse = renames
        .iter()
        .map(|(k, v)| (v.clone(), k.clone()))
        .collect();
    Ok(Box::new(ReplaceField {
        side,
        exclude: c.list("exclude"),
        include: c.list("include"),
        renames,
        reverse,
        replace_null_with_default: c.bool(util::REPLACE_NULL_WITH_DEFAULT),
    }))
}

impl ReplaceField {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map(String::as_str).unwrap_or(name)
    }

    fn reverse_renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.reverse.get(name).map(String::as_str).unwrap_or(name)
    }
}

impl Transformation for ReplaceField {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r) {
            None => {
                let m = util::require_map(self.side.value(&r), PURPOSE)?;
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(m.len());
                for (k, v) in m {
                    let name = util::key_name(k);
                    if self.keep(&name) {
                        util::map_put(&mut out, self.renamed(&name), v.clone());
                    }
                }
                self.side.set(&mut r, None, Value::Map(out));
            }
            Some(_) => {
                let value = util::require_struct(self.side.value(&r), PURPOSE)?;
                let schema = &value.schema;
                let mut b = util::copy_basics(schema, SchemaBuilder::struct_());
                for f in &schema.fields {
                    if self.keep(&f.name) {
                        b = b.field(self.renamed(&f.name), f.schema.clone());
                    }
                }
                if schema.optional {
                    b = b.optional();
                }
                let updated = b.build();
                let mut out = Struct::new(updated.clone());
                for f in &updated.fields {
                    let v = util::field_value(
                        value,
                        self.reverse_renamed(&f.name),
                        self.replace_null_with_default,
                    );
                    util::put(&mut out, &f.name, v)?;
                }
                self.side.set(&mut r, Some(updated), Value::Struct(out));
            }
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::test_support::*;
    use super::*;
    use crate::data::{Schema, Type};

    fn ctx() -> RecordContext {
        RecordContext::default()
    }

    #[test]
    fn schemaless() {
        let t = build(
            &props(&[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")]),
            Side::Value,
        )
        .unwrap();
        let v = map(vec![
            ("dont", s("whatever")),
            ("abc", Value::Int64(42)),
            ("foo", Value::Boolean(true)),
            ("etc", s("etc")),
        ]);
        let out = t.apply(record(v), &ctx()).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("xyz", Value::Int64(42)),
                ("bar", Value::Boolean(true)),
                ("etc", s("etc")),
            ])
        );
    }

    #[test]
    fn include_with_schema_and_old_names() {
        let t = build(
            &props(&[
                ("whitelist", "abc,foo"),
                ("blacklist", "foo"),
                ("renames", "abc:xyz"),
            ]),
            Side::Value,
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .field("dont", Schema::of(Type::String))
            .field("abc", Schema::of(Type::Int32))
            .field("foo", Schema::of(Type::Boolean))
            .build();
        let v = Struct::new(schema.clone())
            .with("dont", s("x"))
            .unwrap()
            .with("abc", Value::Int32(42))
            .unwrap()
            .with("foo", Value::Boolean(true))
            .unwrap();
        let r = ConnectRecord::new("t", Some(schema), Value::Struct(v));
        let out = t.apply(r, &ctx()).unwrap().unwrap();
        let st = out.value.as_struct().unwrap();
        assert_eq!(st.schema.fields.len(), 1);
        assert_eq!(st.get("xyz"), Some(&Value::Int32(42)));
        assert_eq!(out.value_schema.unwrap().fields[0].name, "xyz");
    }

    #[test]
    fn bad_renames_and_tombstones() {
        let def = config_def();
        let values = def.validate(&props(&[("renames", "a:b,c")]));
        let errs: Vec<&String> = values.iter().flat_map(|v| &v.errors).collect();
        assert_eq!(
            errs,
            ["Invalid value a:b,c for configuration renames: Invalid rename mapping: c"]
        );
        assert!(build(&props(&[("renames", "a")]), Side::Value).is_err());
        let t = build(&props(&[]), Side::Key).unwrap();
        let r = record(s("v"));
        assert_eq!(t.apply(r.clone(), &ctx()).unwrap(), Some(r));
    }
}
