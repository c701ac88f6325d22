//! CreateTopics: name rules, partition count and replication factor (one
//! broker: factor 1), replica assignments, configs, `validate_only`.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;

use super::admin_configs::{config_source_of, is_read_only};
use super::{blocking, msg, Ctx};
use crate::broker::ApiError;

pub async fn handle(ctx: &Ctx<'_>, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let broker = ctx.broker.clone();
    let version = ctx.version();
    let node = broker.node_id;
    let results = blocking(move || {
        let mut seen = std::collections::HashMap::new();
        for t in &req.topics {
            *seen.entry(t.name.0.as_str().to_string()).or_insert(0) += 1;
        }
        req.topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.as_str().to_string();
                let result = CreatableTopicResult::default().with_name(t.name.clone());
                let fail = |e: ApiError| {
                    result
                        .clone()
                        .with_error_code(e.code.code())
                        .with_error_message(msg(&e.message))
                        .with_num_partitions(-1)
                        .with_replication_factor(-1)
                };
                if seen.get(&name).copied().unwrap_or(0) > 1 {
                    return fail(ApiError::new(
                        ResponseError::InvalidRequest,
                        format!("Create topics request from client contains multiple entries for the following topics: {name}"),
                    ));
                }
                let mut configs = BTreeMap::new();
                for c in &t.configs {
                    match &c.value {
                        Some(v) => {
                            configs.insert(c.name.as_str().to_string(), v.as_str().to_string());
                        }
                        None => {
                            return fail(ApiError::new(
                                ResponseError::InvalidConfig,
                                format!("Null value not supported for topic configs: {}", c.name.as_str()),
                            ))
                        }
                    }
                }
                let (mut partitions, mut rf) = (t.num_partitions, t.replication_factor);
                if !t.assignments.is_empty() {
                    if partitions != -1 || rf != -1 {
                        return fail(ApiError::new(
                            ResponseError::InvalidRequest,
                            "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
                        ));
                    }
                    let mut indexes: Vec<i32> = t.assignments.iter().map(|a| a.partition_index).collect();
                    indexes.sort_unstable();
                    if indexes.iter().enumerate().any(|(i, p)| *p != i as i32) {
                        return fail(ApiError::new(
                            ResponseError::InvalidReplicaAssignment,
                            "Partitions should be a consecutive 0-based integer sequence",
                        ));
                    }
                    for a in &t.assignments {
                        if a.broker_ids.is_empty() || a.broker_ids.iter().any(|b| b.0 != node) || a.broker_ids.len() > 1 {
                            return fail(ApiError::new(
                                ResponseError::InvalidReplicaAssignment,
                                format!("Replica assignment {:?} refers to brokers that do not exist; the only broker is {node}", a.broker_ids.iter().map(|b| b.0).collect::<Vec<_>>()),
                            ));
                        }
                    }
                    partitions = t.assignments.len() as i32;
                    rf = 1;
                }
                let checked = broker.check_new_topic(&name, partitions, rf, &configs);
                let (partitions, rf) = match checked {
                    Ok(v) => v,
                    Err(e) => return fail(e),
                };
                let topic_id = if req.validate_only {
                    uuid::Uuid::nil()
                } else {
                    match broker.create_topic(&name, partitions, rf, configs.clone()) {
                        Ok(t) => t.id,
                        Err(e) => return fail(e),
                    }
                };
                let mut r = result.with_num_partitions(partitions).with_replication_factor(rf);
                if version >= 7 {
                    r.topic_id = topic_id;
                }
                if version >= 5 {
                    let effective = broker.effective_configs(&configs);
                    r.configs = Some(
                        effective
                            .iter()
                            .map(|(k, v)| {
                                CreatableTopicConfigs::default()
                                    .with_name(StrBytes::from_string(k.clone()))
                                    .with_value(Some(StrBytes::from_string(v.clone())))
                                    .with_read_only(is_read_only(k))
                                    .with_config_source(config_source_of(&broker, k, &configs))
                                    .with_is_sensitive(false)
                            })
                            .collect(),
                    );
                }
                r
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    CreateTopicsResponse::default().with_topics(results)
}
