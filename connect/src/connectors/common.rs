//! The settings every connector has (Kafka's `ConnectorConfig`,
//! `SourceConnectorConfig`, `SinkConnectorConfig`), and their "enrichment"
//! with the settings of the configured transformations and predicates.

use crate::config::def::{split_list, ConfigKey, ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, ConfigValue, Props, Width};
use crate::connectors::ConnectorType;
use crate::transforms;

const COMMON: &str = "Common";
const TRANSFORMS: &str = "Transforms";
const PREDICATES: &str = "Predicates";
const ERRORS: &str = "Error Handling";

fn key(name: &str, ty: ConfigType, default: Default, imp: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ty, default, imp, doc)
}

fn value(v: &str) -> Default {
    Default::Value(v.to_string())
}

/// The base definition for a connector of `ty`.
pub fn base_def(ty: ConnectorType) -> ConfigDef {
    let mut def = ConfigDef::new()
        .define(
            key("name", ConfigType::String, Default::Required, Importance::High,
                "Globally unique name of this connector.")
                .validator(Validator::NonEmptyStringWithoutControlChars)
                .group(COMMON, 1, Width::Medium, "Connector name"),
        )
        .define(
            key("connector.class", ConfigType::String, Default::Required, Importance::High,
                "The connector's class: its full name (org.apache.kafka.connect.file.FileStreamSinkConnector) or an alias (FileStreamSinkConnector, FileStreamSink).")
                .group(COMMON, 2, Width::Long, "Connector class"),
        )
        .define(
            key("tasks.max", ConfigType::Int, value("1"), Importance::High,
                "The most tasks this connector may run.")
                .validator(Validator::AtLeast(1))
                .group(COMMON, 3, Width::Short, "Tasks max"),
        )
        .define(
            key("tasks.max.enforce", ConfigType::Boolean, value("true"), Importance::Low,
                "Whether a connector that asks for more tasks than tasks.max fails.")
                .group(COMMON, 4, Width::Short, "Enforce tasks max"),
        )
        .define(
            key("key.converter", ConfigType::Class, Default::Null, Importance::Low,
                "Converter for record keys; the worker's key.converter when unset.")
                .group(COMMON, 5, Width::Short, "Key converter class"),
        )
        .define(
            key("value.converter", ConfigType::Class, Default::Null, Importance::Low,
                "Converter for record values; the worker's value.converter when unset.")
                .group(COMMON, 6, Width::Short, "Value converter class"),
        )
        .define(
            key("header.converter", ConfigType::Class, Default::Null, Importance::Low,
                "Converter for record headers; the worker's header.converter when unset.")
                .group(COMMON, 7, Width::Short, "Header converter class"),
        )
        .define(
            key("config.action.reload", ConfigType::String, value("restart"), Importance::Low,
                "What to do when an externally provided configuration changes: none or restart.")
                .validator(Validator::OneOf(&["none", "restart"], true))
                .group(COMMON, 8, Width::Medium, "Reload Action"),
        )
        .define(
            key("transforms", ConfigType::List, value(""), Importance::Low,
                "Aliases of the transformations applied to records, in order.")
                .validator(Validator::Custom(unique_aliases))
                .group(TRANSFORMS, 0, Width::Long, "Transforms"),
        )
        .define(
            key("predicates", ConfigType::List, value(""), Importance::Low,
                "Aliases of the predicates transformations may refer to.")
                .validator(Validator::Custom(unique_aliases))
                .group(PREDICATES, 0, Width::Long, "Predicates"),
        )
        .define(
            key("errors.retry.timeout", ConfigType::Long, value("0"), Importance::Medium,
                "How long a failed operation is retried, in ms (0: no retries, -1: forever).")
                .validator(Validator::AtLeast(-1))
                .group(ERRORS, 1, Width::Medium, "Retry Timeout for Errors"),
        )
        .define(
            key("errors.retry.delay.max.ms", ConfigType::Long, value("60000"), Importance::Medium,
                "The longest wait between retries, in ms.")
                .group(ERRORS, 2, Width::Medium, "Maximum Delay Between Retries for Errors"),
        )
        .define(
            key("errors.tolerance", ConfigType::String, value("none"), Importance::Medium,
                "none: an error in conversion or transformation fails the task; all: such records are skipped.")
                .validator(Validator::OneOf(&["none", "all"], true))
                .group(ERRORS, 3, Width::Short, "Error Tolerance"),
        )
        .define(
            key("errors.log.enable", ConfigType::Boolean, value("false"), Importance::Medium,
                "Log each error and the failed operation.")
                .group(ERRORS, 4, Width::Short, "Log Errors"),
        )
        .define(
            key("errors.log.include.messages", ConfigType::Boolean, value("false"), Importance::Medium,
                "Include the failed record in the error log.")
                .group(ERRORS, 5, Width::Short, "Log Error Details"),
        );
    if ty == ConnectorType::Sink {
        def.add(
            key(
                "topics",
                ConfigType::List,
                value(""),
                Importance::High,
                "Topics to consume, comma-separated.",
            )
            .group(COMMON, 4, Width::Long, "Topics"),
        );
        def.add(
            key(
                "topics.regex",
                ConfigType::String,
                value(""),
                Importance::High,
                "A regular expression; every matching topic is consumed.",
            )
            .validator(Validator::Custom(valid_regex))
            .group(COMMON, 4, Width::Long, "Topics regex"),
        );
        def.add(
            key("errors.deadletterqueue.topic.name", ConfigType::String, value(""), Importance::Medium,
                "Topic that records failing conversion or transformation are written to (empty: none).")
                .group(ERRORS, 6, Width::Medium, "Dead Letter Queue Topic Name"),
        );
        def.add(
            key(
                "errors.deadletterqueue.topic.replication.factor",
                ConfigType::Short,
                value("3"),
                Importance::Medium,
                "Replication factor of the dead letter queue topic when it is created.",
            )
            .group(
                ERRORS,
                7,
                Width::Medium,
                "Dead Letter Queue Topic Replication Factor",
            ),
        );
        def.add(
            key("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean, value("false"), Importance::Medium,
                "Add __connect.errors.* headers with the error's context to dead letter queue records.")
                .group(ERRORS, 8, Width::Medium, "Enable Error Context Headers"),
        );
    }
    def
}

fn unique_aliases(v: &str) -> Option<String> {
    let list = split_list(v);
    let mut seen = std::collections::HashSet::new();
    for a in &list {
        if !seen.insert(a) {
            return Some("Duplicate alias provided.".to_string());
        }
    }
    None
}

fn valid_regex(v: &str) -> Option<String> {
    regex::Regex::new(v).err().map(|e| e.to_string())
}

/// The base definition plus, for each transformation and predicate alias in
/// `props`, its `type`, its own settings and (transformations) `predicate`
/// and `negate` (Kafka's `ConnectorConfig.enrich`).
pub fn enriched_def(ty: ConnectorType, props: &Props) -> ConfigDef {
    let mut def = base_def(ty);
    let aliases = |k: &str| props.get(k).map(|v| split_list(v)).unwrap_or_default();
    for (i, alias) in aliases("transforms").iter().enumerate() {
        let prefix = format!("transforms.{alias}.");
        let group = format!("Transforms: {alias}");
        def.add(
            key(
                &format!("{prefix}type"),
                ConfigType::Class,
                Default::Required,
                Importance::High,
                "Class for the transformation.",
            )
            .group(
                &group,
                i as i32 * 3,
                Width::Long,
                &format!("Transformation type for {alias}"),
            ),
        );
        def.add(
            key(
                &format!("{prefix}predicate"),
                ConfigType::String,
                value(""),
                Importance::Medium,
                "Alias of the predicate that decides whether the transformation applies.",
            )
            .group(
                &group,
                i as i32 * 3 + 1,
                Width::Long,
                &format!("Predicate for {alias}"),
            ),
        );
        def.add(
            key(
                &format!("{prefix}negate"),
                ConfigType::Boolean,
                value("false"),
                Importance::Medium,
                "Apply the transformation when the predicate does not match.",
            )
            .group(
                &group,
                i as i32 * 3 + 2,
                Width::Short,
                &format!("Negate predicate for {alias}"),
            ),
        );
        if let Some(class) = props
            .get(&format!("{prefix}type"))
            .and_then(|c| transforms::resolve_transformation(c))
        {
            if let Some(tdef) = transforms::transformation_config_def(class) {
                for mut k in tdef.keys {
                    k.name = format!("{prefix}{}", k.name);
                    k.group = Some(group.clone());
                    def.add(k);
                }
            }
        }
    }
    for (i, alias) in aliases("predicates").iter().enumerate() {
        let prefix = format!("predicates.{alias}.");
        let group = format!("Predicates: {alias}");
        def.add(
            key(
                &format!("{prefix}type"),
                ConfigType::Class,
                Default::Required,
                Importance::High,
                "Class for the predicate.",
            )
            .group(
                &group,
                i as i32,
                Width::Long,
                &format!("Predicate type for {alias}"),
            ),
        );
        if let Some(class) = props
            .get(&format!("{prefix}type"))
            .and_then(|c| transforms::resolve_predicate(c))
        {
            if let Some(pdef) = transforms::predicate_config_def(class) {
                for mut k in pdef.keys {
                    k.name = format!("{prefix}{}", k.name);
                    k.group = Some(group.clone());
                    def.add(k);
                }
            }
        }
    }
    def
}

/// Kafka's `SinkConnectorConfig.validate`: exactly one of `topics` and
/// `topics.regex`; the dead letter queue is not one of the consumed topics.
pub fn validate_sink(props: &Props, values: &mut [ConfigValue]) {
    let topics = props
        .get("topics")
        .map(|v| split_list(v))
        .unwrap_or_default();
    let regex = props
        .get("topics.regex")
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let mut add = |name: &str, msg: String| {
        if let Some(v) = values.iter_mut().find(|v| v.name == name) {
            v.errors.push(msg);
        }
    };
    if topics.is_empty() && regex.is_empty() {
        let msg = "Must configure one of topics or topics.regex".to_string();
        add("topics", msg.clone());
        add("topics.regex", msg);
    } else if !topics.is_empty() && !regex.is_empty() {
        let msg = "topics and topics.regex are mutually exclusive.".to_string();
        add("topics", msg.clone());
        add("topics.regex", msg);
    }
    let dlq = props
        .get("errors.deadletterqueue.topic.name")
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    if !dlq.is_empty() {
        let consumed = topics.contains(&dlq)
            || (!regex.is_empty()
                && regex::Regex::new(&format!("^(?:{regex})$")).is_ok_and(|r| r.is_match(&dlq)));
        if consumed {
            add(
                "errors.deadletterqueue.topic.name",
                format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics' or 'topics.regex') to be consumed."),
            );
        }
    }
}
