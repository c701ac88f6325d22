//! The registry's one error type. Messages follow Confluent's wording; the
//! mapping to HTTP status and Confluent `error_code` is in
//! [`crate::api::error`].

/// `Result` with the registry's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 40401
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    /// 40402
    #[error("Version {0} not found.")]
    VersionNotFound(String),
    /// 40403, for a lookup by content.
    #[error("Schema not found")]
    SchemaNotFound,
    /// 40403, for a lookup by id.
    #[error("Schema {0} not found")]
    SchemaIdNotFound(i32),
    /// 40404
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    /// 40405
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    /// 40406
    #[error("Subject '{0}' Version {1} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, i32),
    /// 40407
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, i32),
    /// 40408
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectCompatibilityNotConfigured(String),
    /// 40409
    #[error("Subject '{0}' does not have subject-level mode configured")]
    SubjectModeNotConfigured(String),
    /// 409
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]", details.join(", "))]
    IncompatibleSchema {
        subject: String,
        details: Vec<String>,
    },
    /// 42201
    #[error("Invalid schema: {0}")]
    InvalidSchema(String),
    /// 42202
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    /// 42203
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidCompatibilityLevel,
    /// 42204
    #[error("Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, IMPORT")]
    InvalidMode,
    /// 42205
    #[error("{0}")]
    OperationNotPermitted(String),
    /// 42206
    #[error("One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={0},version={1}}}.")]
    ReferenceExists(String, i32),
    /// 42207
    #[error("Schema already registered with id {existing} instead of input id {requested}")]
    IdDoesNotMatch { existing: i32, requested: i32 },
    /// 42208
    #[error("The specified subject '{0}' is not valid.")]
    InvalidSubject(String),
    /// 400: a body that is not the JSON the endpoint takes.
    #[error("{0}")]
    BadRequest(String),
    /// 413
    #[error("Request body too large")]
    BodyTooLarge,
    /// 50001
    #[error("Error in the backend data store: {0}")]
    Store(String),
    /// 50002
    #[error("Operation timed out: {0}")]
    Timeout(String),
    /// 50003
    #[error("Error while forwarding the request to the leader: {0}")]
    ForwardingFailed(String),
    /// 50004
    #[error("Leader not known.")]
    UnknownLeader,
    /// An error answer from a registry this process is a client of ([`crate::client`]).
    #[error("{message} (HTTP {status}, error code {error_code})")]
    Remote {
        status: u16,
        error_code: i32,
        message: String,
    },
    /// The registry could not be reached or answered something unreadable ([`crate::client`]).
    #[error("schema registry request failed: {0}")]
    Http(String),
    /// Start-up configuration problems (not an HTTP answer).
    #[error("configuration: {0}")]
    Config(String),
    /// Start-up I/O problems (binding the listener).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
