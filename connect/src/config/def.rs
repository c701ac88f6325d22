//! Config definitions as Kafka's `ConfigDef` has them: name, type, default,
//! importance, documentation, group, order, width, display name, validator.
//! One definition drives validation (`PUT /connector-plugins/{p}/config/validate`,
//! creating a connector) and the plugin's description
//! (`GET /connector-plugins/{p}/config`), with Connect's JSON shapes and
//! Kafka's error messages.

use serde_json::{json, Value as Json};

use super::Props;

/// Kafka's `ConfigDef.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    None,
    Short,
    Medium,
    Long,
}

impl Width {
    fn name(self) -> &'static str {
        match self {
            Width::None => "NONE",
            Width::Short => "SHORT",
            Width::Medium => "MEDIUM",
            Width::Long => "LONG",
        }
    }
}

/// What a key's value must satisfy beyond its type.
#[derive(Clone, Debug)]
pub enum Validator {
    None,
    /// `ConfigDef.Range.atLeast`.
    AtLeast(i64),
    /// `ConfigDef.Range.between`.
    Between(i64, i64),
    /// `ConfigDef.ValidString.in` (case-sensitive) or `CaseInsensitiveValidString`.
    OneOf(&'static [&'static str], bool),
    /// `ConfigDef.NonEmptyString`.
    NonEmptyString,
    /// `ConfigDef.NonEmptyStringWithoutControlChars`.
    NonEmptyStringWithoutControlChars,
    /// A check of the string value: `Some(reason)` when invalid.
    Custom(fn(&str) -> Option<String>),
}

/// The default of a key: none (the key is required), `null`, or a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Default {
    Required,
    Null,
    Value(String),
}

/// One configuration key.
#[derive(Clone, Debug)]
pub struct ConfigKey {
    pub name: String,
    pub ty: ConfigType,
    pub default: Default,
    pub validator: Validator,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub order_in_group: i32,
    pub width: Width,
    pub display_name: String,
    pub recommended: Vec<String>,
}

impl ConfigKey {
    pub fn new(
        name: &str,
        ty: ConfigType,
        default: Default,
        importance: Importance,
        doc: &str,
    ) -> Self {
        ConfigKey {
            name: name.to_string(),
            ty,
            default,
            validator: Validator::None,
            importance,
            documentation: doc.to_string(),
            group: None,
            order_in_group: -1,
            width: Width::None,
            display_name: name.to_string(),
            recommended: Vec::new(),
        }
    }

    pub fn validator(mut self, v: Validator) -> Self {
        self.validator = v;
        self
    }

    pub fn group(mut self, group: &str, order: i32, width: Width, display_name: &str) -> Self {
        self.group = Some(group.to_string());
        self.order_in_group = order;
        self.width = width;
        self.display_name = display_name.to_string();
        self
    }

    pub fn recommended(mut self, values: &[&str]) -> Self {
        self.recommended = values.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Connect's `ConfigKeyInfo` JSON.
    pub fn info(&self) -> Json {
        let (required, default_value) = match &self.default {
            Default::Required => (true, Json::Null),
            Default::Null => (false, Json::Null),
            Default::Value(v) => (false, Json::String(v.clone())),
        };
        json!({
            "name": self.name,
            "type": self.ty.name(),
            "required": required,
            "default_value": default_value,
            "importance": self.importance.name(),
            "documentation": self.documentation,
            "group": self.group,
            "order": self.order_in_group,
            "width": self.width.name(),
            "display_name": self.display_name,
            "dependents": [],
        })
    }

    /// Parse and check one value the way `ConfigDef.parseType` + validator do.
    /// Returns the value's string form (as Connect reports it) or the error.
    pub fn check(&self, raw: Option<&str>) -> (Option<String>, Option<String>) {
        let raw = match (raw, &self.default) {
            (Some(v), _) => v.to_string(),
            (None, Default::Value(d)) => d.clone(),
            (None, Default::Null) => return (None, None),
            (None, Default::Required) => {
                return (
                    None,
                    Some(format!(
                        "Missing required configuration \"{}\" which has no default value.",
                        self.name
                    )),
                )
            }
        };
        let name = &self.name;
        let invalid = |why: &str| {
            Some(format!(
                "Invalid value {raw} for configuration {name}: {why}"
            ))
        };
        let trimmed = raw.trim();
        let type_error = match self.ty {
            ConfigType::Boolean => {
                if trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false") {
                    None
                } else {
                    invalid("Expected value to be either true or false")
                }
            }
            ConfigType::Int => trimmed
                .parse::<i32>()
                .err()
                .and(invalid("Not a number of type INT")),
            ConfigType::Short => trimmed
                .parse::<i16>()
                .err()
                .and(invalid("Not a number of type SHORT")),
            ConfigType::Long => trimmed
                .parse::<i64>()
                .err()
                .and(invalid("Not a number of type LONG")),
            ConfigType::Double => trimmed
                .parse::<f64>()
                .err()
                .and(invalid("Not a number of type DOUBLE")),
            ConfigType::Class => {
                if trimmed.is_empty() || !known_class(trimmed) {
                    invalid(&format!("Class {trimmed} could not be found."))
                } else {
                    None
                }
            }
            ConfigType::String | ConfigType::List | ConfigType::Password => None,
        };
        if type_error.is_some() {
            return (Some(raw.clone()), type_error);
        }
        let shown = match self.ty {
            ConfigType::String | ConfigType::Password => raw.clone(),
            ConfigType::List => split_list(&raw).join(","),
            _ => trimmed.to_string(),
        };
        let reason = match &self.validator {
            Validator::None => None,
            Validator::AtLeast(min) => {
                let n: i64 = trimmed.parse().unwrap_or(i64::MIN);
                (n < *min).then(|| format!("Value must be at least {min}"))
            }
            Validator::Between(min, max) => {
                let n: i64 = trimmed.parse().unwrap_or(i64::MIN);
                (n < *min || n > *max)
                    .then(|| format!("Value must be no more than {max}"))
                    .map(|m| {
                        if n < *min {
                            format!("Value must be at least {min}")
                        } else {
                            m
                        }
                    })
            }
            Validator::OneOf(values, case_insensitive) => {
                let ok = values.iter().any(|v| {
                    if *case_insensitive {
                        v.eq_ignore_ascii_case(&raw)
                    } else {
                        *v == raw
                    }
                });
                (!ok).then(|| format!("String must be one of: {}", values.join(", ")))
            }
            Validator::NonEmptyString => raw
                .is_empty()
                .then(|| "String must be non-empty".to_string()),
            Validator::NonEmptyStringWithoutControlChars => {
                if raw.is_empty() {
                    Some("String may not be empty".to_string())
                } else if raw.chars().any(|c| c.is_control()) {
                    Some(format!(
                        "String may not contain control sequences but had the following ASCII chars: {}",
                        raw.chars()
                            .filter(|c| c.is_control())
                            .map(|c| (c as u32).to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                } else {
                    None
                }
            }
            Validator::Custom(f) => f(&raw),
        };
        (
            Some(shown),
            reason.map(|r| format!("Invalid value {raw} for configuration {name}: {r}")),
        )
    }
}

/// Whether a class name names a plugin this worker has (converters,
/// transforms, predicates, connectors).
fn known_class(name: &str) -> bool {
    crate::plugins::class_exists(name)
}

/// Kafka's LIST parsing: comma-separated, trimmed, empty string = empty list.
pub fn split_list(v: &str) -> Vec<String> {
    let v = v.trim();
    if v.is_empty() {
        return Vec::new();
    }
    v.split(',').map(|s| s.trim().to_string()).collect()
}

/// The outcome of validating one key (Kafka's `ConfigValue`).
#[derive(Clone, Debug)]
pub struct ConfigValue {
    pub name: String,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

impl ConfigValue {
    pub fn new(name: &str) -> Self {
        ConfigValue {
            name: name.to_string(),
            value: None,
            recommended_values: Vec::new(),
            errors: Vec::new(),
            visible: true,
        }
    }

    /// Connect's `ConfigValueInfo` JSON.
    pub fn info(&self) -> Json {
        json!({
            "name": self.name,
            "value": self.value,
            "recommended_values": self.recommended_values,
            "errors": self.errors,
            "visible": self.visible,
        })
    }
}

/// An ordered set of keys (Kafka's `ConfigDef`).
#[derive(Clone, Debug, Default)]
pub struct ConfigDef {
    pub keys: Vec<ConfigKey>,
}

impl ConfigDef {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn define(mut self, key: ConfigKey) -> Self {
        self.add(key);
        self
    }

    /// Add a key, replacing one of the same name.
    pub fn add(&mut self, key: ConfigKey) {
        if let Some(existing) = self.keys.iter_mut().find(|k| k.name == key.name) {
            *existing = key;
        } else {
            self.keys.push(key);
        }
    }

    pub fn extend(&mut self, other: ConfigDef) {
        for k in other.keys {
            self.add(k);
        }
    }

    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The groups of all keys, in the order they first appear.
    pub fn groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in &self.keys {
            if let Some(g) = &k.group {
                if !out.contains(g) {
                    out.push(g.clone());
                }
            }
        }
        out
    }

    /// Validate every key against `props` (`ConfigDef.validateAll`).
    pub fn validate(&self, props: &Props) -> Vec<ConfigValue> {
        self.keys
            .iter()
            .map(|k| {
                let (value, error) = k.check(props.get(&k.name).map(String::as_str));
                let mut v = ConfigValue::new(&k.name);
                v.value = value;
                v.recommended_values = k.recommended.clone();
                v.errors.extend(error);
                v
            })
            .collect()
    }

    /// Parse: the first error, or the values (explicit or default) of every key.
    pub fn parse(&self, props: &Props) -> Result<Parsed, String> {
        let mut out = Parsed::default();
        for k in &self.keys {
            let (value, error) = k.check(props.get(&k.name).map(String::as_str));
            if let Some(e) = error {
                return Err(e);
            }
            out.values.insert(k.name.clone(), value);
        }
        Ok(out)
    }
}

/// Values after [`ConfigDef::parse`], typed on access.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    values: std::collections::BTreeMap<String, Option<String>>,
}

impl Parsed {
    pub fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned().flatten()
    }

    pub fn int(&self, name: &str) -> i64 {
        self.string(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_default()
    }

    pub fn bool(&self, name: &str) -> bool {
        self.string(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    pub fn list(&self, name: &str) -> Vec<String> {
        self.string(name)
            .map(|v| split_list(&v))
            .unwrap_or_default()
    }
}

/// Connect's `ConfigInfos`: the validation answer.
#[derive(Debug)]
pub struct ConfigInfos {
    pub name: String,
    pub groups: Vec<String>,
    /// (definition, value) pairs; a value without a definition has `None`.
    pub configs: Vec<(Option<ConfigKey>, Option<ConfigValue>)>,
}

impl ConfigInfos {
    /// Kafka's `generateResult`: values without a key first, then every key in order.
    pub fn generate(name: &str, def: &ConfigDef, values: Vec<ConfigValue>) -> Self {
        let mut configs = Vec::new();
        let mut by_name = std::collections::HashMap::new();
        for v in values {
            if def.key(&v.name).is_none() {
                configs.push((None, Some(v)));
            } else {
                by_name.insert(v.name.clone(), v);
            }
        }
        for k in &def.keys {
            let v = by_name.remove(&k.name);
            configs.push((Some(k.clone()), v));
        }
        ConfigInfos {
            name: name.to_string(),
            groups: def.groups(),
            configs,
        }
    }

    pub fn error_count(&self) -> usize {
        self.configs
            .iter()
            .filter_map(|(_, v)| v.as_ref())
            .map(|v| v.errors.len())
            .sum()
    }

    /// All error messages, in order.
    pub fn errors(&self) -> Vec<String> {
        self.configs
            .iter()
            .filter_map(|(_, v)| v.as_ref())
            .flat_map(|v| v.errors.iter().cloned())
            .collect()
    }

    pub fn value_mut(&mut self, name: &str) -> Option<&mut ConfigValue> {
        self.configs
            .iter_mut()
            .filter_map(|(_, v)| v.as_mut())
            .find(|v| v.name == name)
    }

    /// Connect's JSON: `{"name","error_count","groups","configs":[{"definition","value"}]}`.
    pub fn to_json(&self) -> Json {
        json!({
            "name": self.name,
            "error_count": self.error_count(),
            "groups": self.groups,
            "configs": self.configs.iter().map(|(k, v)| json!({
                "definition": k.as_ref().map(ConfigKey::info),
                "value": v.as_ref().map(ConfigValue::info),
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kafka_messages() {
        let def = ConfigDef::new()
            .define(ConfigKey::new(
                "req",
                ConfigType::String,
                Default::Required,
                Importance::High,
                "",
            ))
            .define(
                ConfigKey::new(
                    "n",
                    ConfigType::Int,
                    Default::Value("1".into()),
                    Importance::High,
                    "",
                )
                .validator(Validator::AtLeast(1)),
            )
            .define(ConfigKey::new(
                "b",
                ConfigType::Boolean,
                Default::Value("false".into()),
                Importance::Low,
                "",
            ))
            .define(ConfigKey::new(
                "l",
                ConfigType::List,
                Default::Value("".into()),
                Importance::Low,
                "",
            ));
        let values = def.validate(&props(&[("n", "zero"), ("b", "yes"), ("l", "a, b")]));
        assert_eq!(
            values[0].errors,
            vec!["Missing required configuration \"req\" which has no default value."]
        );
        assert_eq!(
            values[1].errors,
            vec!["Invalid value zero for configuration n: Not a number of type INT"]
        );
        assert_eq!(
            values[2].errors,
            vec![
                "Invalid value yes for configuration b: Expected value to be either true or false"
            ]
        );
        assert_eq!(values[3].value.as_deref(), Some("a,b"));
        let values = def.validate(&props(&[("req", "x"), ("n", "0")]));
        assert_eq!(
            values[1].errors,
            vec!["Invalid value 0 for configuration n: Value must be at least 1"]
        );
        let infos = ConfigInfos::generate("C", &def, values);
        let j = infos.to_json();
        assert_eq!(j["error_count"], 1);
        assert_eq!(j["configs"][0]["definition"]["required"], true);
        assert_eq!(j["configs"][1]["definition"]["default_value"], "1");
        assert_eq!(
            j["configs"][1]["value"]["errors"][0],
            "Invalid value 0 for configuration n: Value must be at least 1"
        );
    }
}
