//! The proxy's one error type, and the one place where errors become HTTP
//! answers: status code and Confluent's `{"error_code":N,"message":"..."}`
//! body, with Confluent's codes and wording.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use serde::Serialize;

/// `Result` with the proxy's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404 / 40401 (v2)
    #[error("Topic not found.")]
    TopicNotFound,
    /// 404 / 40402
    #[error("Partition not found.")]
    PartitionNotFound,
    /// 404 / 40403 (v3: Kafka's `UnknownTopicOrPartitionException`)
    #[error("This server does not host this topic-partition.")]
    UnknownTopicOrPartition,
    /// 404 / 40403 (v2 consumers)
    #[error("Consumer instance not found.")]
    ConsumerInstanceNotFound,
    /// 404 / 404: a resource that does not exist (cluster, broker, config, group, ...)
    #[error("HTTP 404 Not Found")]
    NotFound,
    /// 406 / 40601
    #[error("The requested embedded data format does not match the deserializer for this consumer instance")]
    ConsumerFormatMismatch,
    /// 408 / 40801
    #[error("Schema registration or lookup failed: {0}")]
    SchemaRetrieval(String),
    /// 409 / 40901
    #[error("Consumer cannot subscribe the the specified target because it has already subscribed to other topics.")]
    ConsumerAlreadySubscribed,
    /// 409 / 40902
    #[error("Consumer with specified consumer ID already exists in the specified consumer group.")]
    ConsumerAlreadyExists,
    /// 409 / 40903
    #[error("Illegal state: {0}")]
    IllegalState(String),
    /// 415 / 415: a content type this endpoint does not take
    #[error("HTTP 415 Unsupported Media Type")]
    UnsupportedMediaType,
    /// 406 / 406: an `Accept` this endpoint cannot produce
    #[error("HTTP 406 Not Acceptable")]
    NotAcceptable,
    /// 400 / 400: malformed JSON, a missing field, an invalid value
    #[error("{0}")]
    BadRequest(String),
    /// 400 / 40002: Kafka refused the request as invalid (topic exists, bad config, ...)
    #[error("{0}")]
    KafkaBadRequest(String),
    /// 413 / 413
    #[error("Request body too large")]
    BodyTooLarge,
    /// 422 / 422: well-formed JSON that does not map onto the request (bad base64, wrong types)
    #[error("{0}")]
    Unprocessable(String),
    /// 422 / 42201
    #[error("Request includes keys but does not include key schema")]
    KeySchemaMissing,
    /// 422 / 42202
    #[error("Request includes values but does not include value schema")]
    ValueSchemaMissing,
    /// 422 / 42203
    #[error("Conversion of JSON to Object failed: {0}")]
    JsonConversion(String),
    /// 422 / 42204
    #[error("Invalid consumer configuration: {0}")]
    InvalidConsumerConfig(String),
    /// 422 / 42205
    #[error("Invalid schema: {0}")]
    InvalidSchema(String),
    /// 500 / 50002 (50003 when retriable)
    #[error("Kafka error: {message}")]
    Kafka { message: String, retriable: bool },
    /// 500 / 50001: start-up and internal problems
    #[error("{0}")]
    Internal(String),
    /// Start-up configuration problems (not an HTTP answer).
    #[error("configuration: {0}")]
    Config(String),
    /// Start-up I/O problems (binding the listener).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// HTTP status and Confluent error code.
    pub fn status_and_code(&self) -> (StatusCode, i32) {
        use Error::*;
        match self {
            TopicNotFound => (StatusCode::NOT_FOUND, 40401),
            PartitionNotFound => (StatusCode::NOT_FOUND, 40402),
            UnknownTopicOrPartition | ConsumerInstanceNotFound => (StatusCode::NOT_FOUND, 40403),
            NotFound => (StatusCode::NOT_FOUND, 404),
            ConsumerFormatMismatch => (StatusCode::NOT_ACCEPTABLE, 40601),
            SchemaRetrieval(_) => (StatusCode::REQUEST_TIMEOUT, 40801),
            ConsumerAlreadySubscribed => (StatusCode::CONFLICT, 40901),
            ConsumerAlreadyExists => (StatusCode::CONFLICT, 40902),
            IllegalState(_) => (StatusCode::CONFLICT, 40903),
            UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415),
            NotAcceptable => (StatusCode::NOT_ACCEPTABLE, 406),
            BadRequest(_) => (StatusCode::BAD_REQUEST, 400),
            KafkaBadRequest(_) => (StatusCode::BAD_REQUEST, 40002),
            BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, 413),
            Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, 422),
            KeySchemaMissing => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            ValueSchemaMissing => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
            JsonConversion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42203),
            InvalidConsumerConfig(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42204),
            InvalidSchema(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42205),
            Kafka {
                retriable: false, ..
            } => (StatusCode::INTERNAL_SERVER_ERROR, 50002),
            Kafka {
                retriable: true, ..
            } => (StatusCode::INTERNAL_SERVER_ERROR, 50003),
            Internal(_) | Config(_) | Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        }
    }

    /// The Confluent error body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error_code: self.status_and_code().1,
            message: self.to_string(),
        }
    }

    /// A Kafka error code as the proxy reports it.
    pub fn from_code(code: RDKafkaErrorCode, context: &str) -> Error {
        use RDKafkaErrorCode as C;
        match code {
            C::UnknownTopicOrPartition | C::UnknownTopic => Error::UnknownTopicOrPartition,
            C::UnknownPartition => Error::PartitionNotFound,
            C::TopicAlreadyExists => {
                Error::KafkaBadRequest(format!("Topic '{context}' already exists."))
            }
            C::InvalidConfig
            | C::InvalidPartitions
            | C::InvalidReplicationFactor
            | C::InvalidReplicaAssignment
            | C::InvalidRequest
            | C::PolicyViolation
            | C::InvalidTopic => Error::KafkaBadRequest(format!("{code}")),
            C::MessageSizeTooLarge => Error::Kafka {
                message: code.to_string(),
                retriable: false,
            },
            _ => Error::Kafka {
                message: format!("{context}: {code}"),
                retriable: matches!(
                    code,
                    C::RequestTimedOut
                        | C::LeaderNotAvailable
                        | C::NotLeaderForPartition
                        | C::NetworkException
                        | C::BrokerTransportFailure
                        | C::AllBrokersDown
                        | C::MessageTimedOut
                        | C::QueueFull
                        | C::OperationTimedOut
                        | C::CoordinatorNotAvailable
                        | C::NotCoordinator
                ),
            },
        }
    }
}

impl From<KafkaError> for Error {
    fn from(e: KafkaError) -> Error {
        match e.rdkafka_error_code() {
            Some(code) => Error::from_code(code, &e.to_string()),
            None => Error::Kafka {
                message: e.to_string(),
                retriable: false,
            },
        }
    }
}

/// Confluent's error body.
#[derive(Serialize, Debug, Clone)]
pub struct ErrorBody {
    pub error_code: i32,
    pub message: String,
}

/// A plain HTTP error (`error_code` = the status), as Jersey gives for
/// unknown paths and methods.
pub fn http_error(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    error_response(
        status,
        &ErrorBody {
            error_code: i32::from(status.as_u16()),
            message: format!("HTTP {} {reason}", status.as_u16()),
        },
    )
}

fn error_response(status: StatusCode, body: &ErrorBody) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, error_code) = self.status_and_code();
        if status.is_server_error() {
            tracing::warn!(error_code, error = %self, "request failed");
        }
        let mut response = error_response(status, &self.body());
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read: the connection cannot be reused.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
