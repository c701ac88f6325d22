//! The one error type of strom-connect. Messages follow Kafka Connect's
//! wording; the mapping to HTTP status and `{"error_code","message"}` bodies
//! is in [`crate::api::error`].

/// `Result` with Connect's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: an unknown connector, task, plugin or status.
    #[error("{0}")]
    NotFound(String),
    /// 409: a connector of that name exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// 409: a rebalance or concurrent change is in progress.
    #[error("{0}")]
    Conflict(String),
    /// 400: invalid input (configuration, body, state).
    #[error("{0}")]
    BadRequest(String),
    /// 403: a feature switched off by worker configuration.
    #[error("{0}")]
    Forbidden(String),
    /// This worker is not the leader: the request belongs to the worker at this URL.
    #[error("Cannot complete request because this worker is not the leader; the leader is {0}")]
    NotLeader(String),
    /// 500: data that could not be converted (converters, transforms).
    #[error("{0}")]
    Data(String),
    /// 500: everything else that goes wrong while running connectors.
    #[error("{0}")]
    Connect(String),
    /// A failure worth retrying (Connect's `RetriableException`): a source
    /// task polls again later, a sink task gets the same records again.
    #[error("{0}")]
    Retriable(String),
    /// 500: a Kafka client operation failed.
    #[error("{0}")]
    Kafka(String),
    /// Start-up configuration problems.
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A `ConfigException`-style problem in a plugin's configuration.
    pub fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }

    pub fn data(msg: impl Into<String>) -> Self {
        Error::Data(msg.into())
    }
}
