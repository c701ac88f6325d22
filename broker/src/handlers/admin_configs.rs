//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs, for topics
//! (read and write) and this broker (read: every config with its value,
//! source and synonyms; dynamic broker configs are not supported yet and are
//! refused with INVALID_REQUEST).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{blocking, msg, Ctx};
use crate::broker::{ApiError, Broker, Topic};
use crate::config::BROKER_DEFAULTS;
use crate::topic_config::{self, ConfigType, TOPIC_CONFIGS};

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// Kafka's ConfigSource codes.
pub const SOURCE_DYNAMIC_TOPIC: i8 = 1;
pub const SOURCE_STATIC_BROKER: i8 = 4;
pub const SOURCE_DEFAULT: i8 = 5;

/// Topic configs that cannot be changed.
pub fn is_read_only(_name: &str) -> bool {
    false
}

/// Where topic config `name`'s effective value comes from.
pub fn config_source_of(broker: &Broker, name: &str, overrides: &BTreeMap<String, String>) -> i8 {
    if overrides.contains_key(name) {
        SOURCE_DYNAMIC_TOPIC
    } else if broker
        .topic_defaults
        .get(name)
        .is_some_and(|d| d.synonym.is_some())
    {
        SOURCE_STATIC_BROKER
    } else {
        SOURCE_DEFAULT
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn wanted(keys: &Option<Vec<StrBytes>>, name: &str) -> bool {
    keys.as_ref()
        .is_none_or(|k| k.is_empty() || k.iter().any(|x| x.as_str() == name))
}

fn describe_topic(
    broker: &Broker,
    topic: &Topic,
    keys: &Option<Vec<StrBytes>>,
    synonyms: bool,
    version: i16,
) -> Vec<DescribeConfigsResourceResult> {
    let overrides = topic.configs.read().clone();
    TOPIC_CONFIGS
        .iter()
        .filter(|d| wanted(keys, d.name))
        .map(|def| {
            let default = broker.topic_defaults.get(def.name);
            let value = overrides
                .get(def.name)
                .cloned()
                .or_else(|| default.map(|d| d.value.clone()))
                .unwrap_or_else(|| def.default.to_string());
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(s(def.name))
                .with_value(Some(s(&value)))
                .with_read_only(is_read_only(def.name))
                .with_config_source(config_source_of(broker, def.name, &overrides))
                .with_is_sensitive(false);
            if synonyms {
                let mut syn = Vec::new();
                if let Some(v) = overrides.get(def.name) {
                    syn.push(synonym(def.name, v, SOURCE_DYNAMIC_TOPIC));
                }
                if let Some(d) = default {
                    if let Some(broker_name) = d.synonym {
                        let raw = broker
                            .config
                            .props
                            .get(broker_name)
                            .cloned()
                            .unwrap_or_default();
                        syn.push(synonym(broker_name, &raw, SOURCE_STATIC_BROKER));
                    }
                }
                if let Some((first, _)) = def.synonyms.first() {
                    syn.push(synonym(first, def.default, SOURCE_DEFAULT));
                }
                r.synonyms = syn;
            }
            if version >= 3 {
                r.config_type = def.kind as i8;
            }
            r
        })
        .collect()
}

fn synonym(name: &str, value: &str, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(s(name))
        .with_value(Some(s(value)))
        .with_source(source)
}

fn describe_broker(
    broker: &Broker,
    keys: &Option<Vec<StrBytes>>,
    synonyms: bool,
    version: i16,
) -> Vec<DescribeConfigsResourceResult> {
    // (name, default, type)
    let mut entries: BTreeMap<String, (String, ConfigType)> = BROKER_DEFAULTS
        .iter()
        .map(|(k, v)| (k.to_string(), (v.to_string(), ConfigType::String)))
        .collect();
    for def in TOPIC_CONFIGS {
        for (syn, factor) in def.synonyms {
            let default = if *factor == 1 {
                def.default.to_string()
            } else {
                def.default
                    .parse::<i64>()
                    .map(|n| (n / factor).to_string())
                    .unwrap_or_default()
            };
            entries
                .entry(syn.to_string())
                .or_insert((default, def.kind));
        }
    }
    entries
        .into_iter()
        .filter(|(name, _)| wanted(keys, name))
        .map(|(name, (default, kind))| {
            let given = broker.config.props.get(&name);
            let value = given.cloned().unwrap_or(default.clone());
            let source = if given.is_some() {
                SOURCE_STATIC_BROKER
            } else {
                SOURCE_DEFAULT
            };
            let mut r = DescribeConfigsResourceResult::default()
                .with_name(s(&name))
                .with_value(if value.is_empty() {
                    None
                } else {
                    Some(s(&value))
                })
                .with_read_only(true)
                .with_config_source(source)
                .with_is_sensitive(false);
            if synonyms {
                let mut syn = Vec::new();
                if let Some(v) = given {
                    syn.push(synonym(&name, v, SOURCE_STATIC_BROKER));
                }
                syn.push(synonym(&name, &default, SOURCE_DEFAULT));
                r.synonyms = syn;
            }
            if version >= 3 {
                r.config_type = kind as i8;
            }
            r
        })
        .collect()
}

pub fn describe(ctx: &Ctx<'_>, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let broker = ctx.broker;
    let version = ctx.version();
    let results = req
        .resources
        .into_iter()
        .map(|res| {
            let r = DescribeConfigsResult::default()
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name.clone());
            let name = res.resource_name.as_str();
            match res.resource_type {
                RESOURCE_TOPIC => match broker.topic(name) {
                    Some(t) => r.with_configs(describe_topic(
                        broker,
                        &t,
                        &res.configuration_keys,
                        req.include_synonyms,
                        version,
                    )),
                    None => r
                        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        .with_error_message(Some(s(&format!(
                            "The topic '{name}' does not exist."
                        )))),
                },
                RESOURCE_BROKER if name == broker.node_id.to_string() || name.is_empty() => r
                    .with_configs(if name.is_empty() {
                        Vec::new() // no dynamic cluster-wide defaults
                    } else {
                        describe_broker(
                            broker,
                            &res.configuration_keys,
                            req.include_synonyms,
                            version,
                        )
                    }),
                RESOURCE_BROKER => r
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(s(&format!(
                        "Unexpected broker id, expected {} or empty string, but received {name}",
                        broker.node_id
                    )))),
                other => r
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(s(&format!("Unsupported resource type {other}")))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// Resolve a topic resource for an alter request.
fn alter_target(broker: &Broker, resource_type: i8, name: &str) -> Result<Arc<Topic>, ApiError> {
    match resource_type {
        RESOURCE_TOPIC => broker.topic(name).ok_or_else(|| {
            ApiError::new(
                ResponseError::UnknownTopicOrPartition,
                format!("The topic '{name}' does not exist."),
            )
        }),
        RESOURCE_BROKER => Err(ApiError::new(
            ResponseError::InvalidRequest,
            "Dynamic broker configs are not supported by Strom yet; set them in server.properties",
        )),
        other => Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!("Unsupported resource type {other}"),
        )),
    }
}

pub async fn alter(ctx: &Ctx<'_>, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let broker = ctx.broker.clone();
    let responses = blocking(move || {
        req.resources
            .into_iter()
            .map(|res| {
                let outcome = alter_target(&broker, res.resource_type, res.resource_name.as_str())
                    .and_then(|topic| {
                        let mut configs = BTreeMap::new();
                        for c in &res.configs {
                            if let Some(v) = &c.value {
                                configs.insert(c.name.as_str().to_string(), v.as_str().to_string());
                            }
                        }
                        broker.set_topic_configs(&topic, configs, req.validate_only)
                    });
                let (code, message) = match outcome {
                    Ok(()) => (0, None),
                    Err(e) => (e.code.code(), msg(&e.message)),
                };
                alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(message)
                    .with_resource_type(res.resource_type)
                    .with_resource_name(res.resource_name)
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    AlterConfigsResponse::default().with_responses(responses)
}

/// Apply one IncrementalAlterConfigs operation (SET 0, DELETE 1, APPEND 2, SUBTRACT 3).
fn apply_op(
    broker: &Broker,
    configs: &mut BTreeMap<String, String>,
    name: &str,
    op: i8,
    value: Option<&str>,
) -> Result<(), ApiError> {
    let def = topic_config::lookup(name).ok_or_else(|| {
        ApiError::new(
            ResponseError::InvalidConfig,
            format!("Unknown topic config name: {name}"),
        )
    })?;
    let current = || {
        configs
            .get(name)
            .cloned()
            .or_else(|| broker.topic_defaults.get(name).map(|d| d.value.clone()))
            .unwrap_or_default()
    };
    match op {
        0 => {
            let v = value.ok_or_else(|| {
                ApiError::new(
                    ResponseError::InvalidRequest,
                    format!("Null value not supported for: {name}"),
                )
            })?;
            configs.insert(name.to_string(), v.to_string());
        }
        1 => {
            configs.remove(name);
        }
        2 | 3 => {
            if def.kind != ConfigType::List {
                return Err(ApiError::new(
                    ResponseError::InvalidConfig,
                    format!("Config value append is not allowed for config key: {name}"),
                ));
            }
            let mut items: Vec<String> = current()
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect();
            for v in value
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
            {
                if op == 2 {
                    if !items.iter().any(|i| i == v) {
                        items.push(v.to_string());
                    }
                } else {
                    items.retain(|i| i != v);
                }
            }
            configs.insert(name.to_string(), items.join(","));
        }
        other => {
            return Err(ApiError::new(
                ResponseError::InvalidRequest,
                format!("Unknown config operation {other}"),
            ))
        }
    }
    Ok(())
}

pub async fn incremental_alter(
    ctx: &Ctx<'_>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let broker = ctx.broker.clone();
    let responses = blocking(move || {
        req.resources
            .into_iter()
            .map(|res| {
                let outcome = alter_target(&broker, res.resource_type, res.resource_name.as_str())
                    .and_then(|topic| {
                        let mut configs = topic.configs.read().clone();
                        let mut seen = std::collections::HashSet::new();
                        for c in &res.configs {
                            if !seen.insert(c.name.as_str().to_string()) {
                                return Err(ApiError::new(
                                    ResponseError::InvalidRequest,
                                    format!(
                                        "Error due to duplicate config keys: {}",
                                        c.name.as_str()
                                    ),
                                ));
                            }
                            apply_op(
                                &broker,
                                &mut configs,
                                c.name.as_str(),
                                c.config_operation,
                                c.value.as_ref().map(|v| v.as_str()),
                            )?;
                        }
                        broker.set_topic_configs(&topic, configs, req.validate_only)
                    });
                let (code, message) = match outcome {
                    Ok(()) => (0, None),
                    Err(e) => (e.code.code(), msg(&e.message)),
                };
                incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(message)
                    .with_resource_type(res.resource_type)
                    .with_resource_name(res.resource_name)
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
