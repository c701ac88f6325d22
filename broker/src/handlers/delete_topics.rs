//! DeleteTopics: by name (v1–5) or by name or id (v6+).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{blocking, msg, Ctx};

pub async fn handle(ctx: &Ctx<'_>, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let broker = ctx.broker.clone();
    let version = ctx.version();
    let responses = blocking(move || {
        let wanted: Vec<(Option<TopicName>, uuid::Uuid)> = if version >= 6 {
            req.topics
                .into_iter()
                .map(|t| (t.name, t.topic_id))
                .collect()
        } else {
            req.topic_names
                .into_iter()
                .map(|n| (Some(n), uuid::Uuid::nil()))
                .collect()
        };
        wanted
            .into_iter()
            .map(|(name, id)| {
                let (topic, unknown) = match &name {
                    Some(n) => (
                        broker.topic(n.0.as_str()),
                        ResponseError::UnknownTopicOrPartition,
                    ),
                    None => (broker.topic_by_id(id), ResponseError::UnknownTopicId),
                };
                let mut r = DeletableTopicResult::default().with_name(name.clone());
                match topic {
                    None => {
                        r.error_code = unknown.code();
                        if version >= 5 {
                            r.error_message = Some(StrBytes::from_static_str(
                                "This server does not host this topic-partition.",
                            ));
                        }
                    }
                    Some(t) => {
                        if version >= 6 {
                            r.topic_id = t.id;
                            r.name = Some(TopicName(StrBytes::from_string(t.name.clone())));
                        }
                        if let Err(e) = broker.delete_topic(&t) {
                            r.error_code = e.code.code();
                            if version >= 5 {
                                r.error_message = msg(&e.message);
                            }
                        }
                    }
                }
                r
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    DeleteTopicsResponse::default().with_responses(responses)
}
