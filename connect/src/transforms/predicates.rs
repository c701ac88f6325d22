//! Predicates: `TopicNameMatches` (`pattern` matches the whole topic name),
//! `HasHeaderKey` (a header named `name` exists), `RecordIsTombstone`
//! (the value is null).

use regex::Regex;

use super::util::{self, key};
use super::Predicate;
use crate::config::def::{ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::ConnectRecord;
use crate::error::{Error, Result};

fn pattern_check(v: &str) -> Option<String> {
    if v.is_empty() {
        return Some("String must be non-empty".to_string());
    }
    util::valid_regex(v)
}

pub fn topic_name_matches_config_def() -> ConfigDef {
    ConfigDef::new().define(
        key(
            "pattern",
            ConfigType::String,
            Default::Required,
            Importance::Medium,
            "A Java regular expression for matching against the name of a record's topic.",
        )
        .validator(Validator::Custom(pattern_check)),
    )
}

pub struct TopicNameMatches(Regex);

pub fn build_topic_name_matches(props: &Props) -> Result<Box<dyn Predicate>> {
    let c = util::parse(&topic_name_matches_config_def(), props)?;
    let p = c.string("pattern").unwrap_or_default();
    let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| {
        Error::config(format!(
            "Invalid value {p} for configuration pattern: entry must be a Java-compatible regular expression: {e}"
        ))
    })?;
    Ok(Box::new(TopicNameMatches(re)))
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.0.is_match(&record.topic)
    }
}

pub fn has_header_key_config_def() -> ConfigDef {
    ConfigDef::new().define(
        key(
            "name",
            ConfigType::String,
            Default::Required,
            Importance::Medium,
            "The header name.",
        )
        .validator(Validator::NonEmptyString),
    )
}

pub struct HasHeaderKey(String);

pub fn build_has_header_key(props: &Props) -> Result<Box<dyn Predicate>> {
    let c = util::parse(&has_header_key_config_def(), props)?;
    Ok(Box::new(HasHeaderKey(c.string("name").unwrap_or_default())))
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers.iter().any(|h| h.key == self.0)
    }
}

pub struct RecordIsTombstone;

pub fn build_record_is_tombstone(_: &Props) -> Result<Box<dyn Predicate>> {
    Ok(Box::new(RecordIsTombstone))
}

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.value.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::test_support::*;
    use super::*;
    use crate::data::{Header, Value};

    #[test]
    fn predicates() {
        let p = build_topic_name_matches(&props(&[("pattern", "my-.*")])).unwrap();
        let mut r = record(Value::Null);
        r.topic = "my-topic".into();
        assert!(p.test(&r));
        r.topic = "not-my-topic".into();
        assert!(!p.test(&r));
        let values = topic_name_matches_config_def().validate(&props(&[("pattern", "")]));
        assert_eq!(
            values[0].errors,
            ["Invalid value  for configuration pattern: String must be non-empty"]
        );
        assert!(build_topic_name_matches(&props(&[("pattern", "[")])).is_err());

        let p = build_has_header_key(&props(&[("name", "h")])).unwrap();
        assert!(!p.test(&r));
        r.headers.push(Header {
            key: "h".into(),
            schema: None,
            value: Value::Null,
        });
        assert!(p.test(&r));

        let p = build_record_is_tombstone(&props(&[])).unwrap();
        assert!(p.test(&r));
        r.value = s("x");
        assert!(!p.test(&r));
    }
}
