//! Topic routers: `TimestampRouter` (`topic.format` with `${topic}` and
//! `${timestamp}`, the record timestamp formatted with `timestamp.format`)
//! and `RegexRouter` (a topic matching `regex` as a whole becomes
//! `replacement`, with Java's `$1` / `${name}` group references).

use regex::Regex;

use super::datefmt::DateFormat;
use super::util::{self, key, value};
use super::{RecordContext, Transformation};
use crate::config::def::{ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::ConnectRecord;
use crate::error::{Error, Result};

pub fn timestamp_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(key(
            "topic.format",
            ConfigType::String,
            value("${topic}-${timestamp}"),
            Importance::High,
            "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively.",
        ))
        .define(key(
            "timestamp.format",
            ConfigType::String,
            value("yyyyMMdd"),
            Importance::High,
            "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.",
        ))
}

pub struct TimestampRouter {
    topic_format: String,
    format: DateFormat,
}

pub fn build_timestamp(props: &Props) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&timestamp_config_def(), props)?;
    let pattern = c.string("timestamp.format").unwrap_or_default();
    let format = DateFormat::new(&pattern).map_err(|e| {
        Error::config(format!(
            "Invalid value {pattern} for configuration timestamp.format: {e}"
        ))
    })?;
    Ok(Box::new(TimestampRouter {
        topic_format: c.string("topic.format").unwrap_or_default(),
        format,
    }))
}

impl Transformation for TimestampRouter {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        let ts = r.timestamp.ok_or_else(|| {
            Error::data(format!(
                "Timestamp missing on record: ConnectRecord{{topic='{}', kafkaPartition={}, key={}, value={}, timestamp=null}}",
                r.topic,
                r.kafka_partition.map_or("null".to_string(), |p| p.to_string()),
                r.key,
                r.value
            ))
        })?;
        let formatted = self.format.format(ts);
        r.topic = self
            .topic_format
            .replace("${topic}", &r.topic)
            .replace("${timestamp}", &formatted);
        Ok(Some(r))
    }
}

pub fn regex_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            key(
                "regex",
                ConfigType::String,
                Default::Required,
                Importance::High,
                "Regular expression to use for matching.",
            )
            .validator(Validator::Custom(util::valid_regex)),
        )
        .define(key(
            "replacement",
            ConfigType::String,
            Default::Required,
            Importance::High,
            "Replacement string.",
        ))
}

pub struct RegexRouter {
    regex: Regex,
    replacement: String,
}

/// Java's `Matcher` replacement syntax to the `regex` crate's: `\x` is a
/// literal `x`, `$n` takes as many digits as name an existing group, `${name}`.
fn java_replacement(r: &str, groups: usize) -> Result<String> {
    let chars: Vec<char> = r.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                i += 1;
                match chars.get(i) {
                    Some('$') => out.push_str("$$"),
                    Some(c) => out.push(*c),
                    None => {
                        return Err(Error::config(
                            "character to be escaped is missing".to_string(),
                        ))
                    }
                }
                i += 1;
            }
            '$' => {
                i += 1;
                match chars.get(i) {
                    Some('{') => {
                        let end = chars[i..].iter().position(|c| *c == '}').ok_or_else(|| {
                            Error::config("named capturing group is missing trailing '}'")
                        })?;
                        let name: String = chars[i + 1..i + end].iter().collect();
                        out.push_str(&format!("${{{name}}}"));
                        i += end + 1;
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let mut n = c.to_digit(10).unwrap_or(0) as usize;
                        i += 1;
                        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            let next = n * 10 + d as usize;
                            if next > groups {
                                break;
                            }
                            n = next;
                            i += 1;
                        }
                        out.push_str(&format!("${{{n}}}"));
                    }
                    _ => return Err(Error::config("Illegal group reference")),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

pub fn build_regex(props: &Props) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&regex_config_def(), props)?;
    let pattern = c.string("regex").unwrap_or_default();
    let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        Error::config(format!(
            "Invalid value {pattern} for configuration regex: {e}"
        ))
    })?;
    let replacement = java_replacement(
        &c.string("replacement").unwrap_or_default(),
        regex.captures_len() - 1,
    )?;
    Ok(Box::new(RegexRouter { regex, replacement }))
}

impl Transformation for RegexRouter {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        if let Some(caps) = self.regex.captures(&r.topic) {
            let mut topic = String::new();
            caps.expand(&self.replacement, &mut topic);
            tracing::trace!(from = %r.topic, to = %topic, "rerouting");
            r.topic = topic;
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::test_support::*;
    use super::*;
    use crate::data::Value;

    fn route(regex: &str, replacement: &str, topic: &str) -> String {
        let t = build_regex(&props(&[("regex", regex), ("replacement", replacement)])).unwrap();
        let mut r = record(Value::Null);
        r.topic = topic.to_string();
        t.apply(r, &RecordContext::default())
            .unwrap()
            .unwrap()
            .topic
    }

    #[test]
    fn regex_router() {
        assert_eq!(route("foo", "bar", "foo"), "bar");
        assert_eq!(route("foo", "bar", "foo-x"), "foo-x");
        assert_eq!(route("(.*)-(\\d+)", "$1:$2", "orders-42"), "orders:42");
        assert_eq!(route("([a-z]+)_(.*)", "$2_$1x", "abc_def"), "def_abcx");
        assert_eq!(route("(.*)", "\\$$1", "t"), "$t");
        assert_eq!(route("(?<n>.*)", "p-${n}", "t"), "p-t");
        assert!(build_regex(&props(&[("regex", "("), ("replacement", "x")])).is_err());
        let values = regex_config_def().validate(&props(&[("regex", "(")]));
        assert_eq!(values[0].errors.len(), 1);
        assert_eq!(
            values[1].errors,
            ["Missing required configuration \"replacement\" which has no default value."]
        );
    }

    #[test]
    fn timestamp_router() {
        let t = build_timestamp(&props(&[])).unwrap();
        let mut r = record(Value::Null);
        r.topic = "test".into();
        r.timestamp = Some(1_483_425_001_864);
        let out = t
            .apply(r.clone(), &RecordContext::default())
            .unwrap()
            .unwrap();
        assert_eq!(out.topic, "test-20170103");
        let t = build_timestamp(&props(&[
            ("topic.format", "${timestamp}.${topic}"),
            ("timestamp.format", "yyyy-MM-dd_HH"),
        ]))
        .unwrap();
        let out = t
            .apply(r.clone(), &RecordContext::default())
            .unwrap()
            .unwrap();
        assert_eq!(out.topic, "2017-01-03_06.test");
        r.timestamp = None;
        let e = t.apply(r, &RecordContext::default()).unwrap_err();
        assert!(e.to_string().starts_with("Timestamp missing on record: "));
    }
}
