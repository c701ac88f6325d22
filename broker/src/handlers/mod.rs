//! One file per Kafka API. [`handle`] dispatches a decoded request on its API
//! key and encodes the answer at the request's version.

pub mod admin_configs;
pub mod api_versions;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_topic_partitions;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod produce;
pub mod sync_group;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::{ApiError, Broker};
use crate::codec::fetch_response::encode_fetch_response_with_regions;
use crate::codec::{encode_response, DecodedRequest, Frame};

/// What a connection does with a request's answer.
pub enum Reply {
    /// Send this frame now (None: send nothing, as for `acks=0`).
    Now(Option<Frame>),
    /// The answer will be ready later (a produce waiting for durability).
    Later(Pin<Box<dyn Future<Output = Option<Frame>> + Send>>),
    /// Close the connection, as Kafka does for this request.
    Close(String),
}

/// The request context a handler gets.
pub struct Ctx<'a> {
    pub broker: &'a Arc<Broker>,
    pub header: &'a RequestHeader,
    /// The listener name the request arrived on (selects the advertised endpoint).
    pub listener: &'a str,
    /// The client's address.
    pub peer: std::net::SocketAddr,
}

impl Ctx<'_> {
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }
}

fn encode(api: ApiKey, header: &RequestHeader, body: ResponseKind) -> Reply {
    match encode_response(
        api,
        header.request_api_version,
        header.correlation_id,
        &body,
    ) {
        Ok(frame) => Reply::Now(Some(frame.into())),
        Err(e) => encode_failed(api, header, e),
    }
}

fn encode_failed(api: ApiKey, header: &RequestHeader, e: anyhow::Error) -> Reply {
    tracing::error!(?api, version = header.request_api_version, error = %e, "encoding response");
    Reply::Close(format!("could not encode response: {e:#}"))
}

/// Handle one request.
pub async fn handle(
    broker: &Arc<Broker>,
    req: DecodedRequest,
    listener: &str,
    peer: std::net::SocketAddr,
) -> Reply {
    let api = req.api_key();
    let header = req.header;
    let ctx = Ctx {
        broker,
        header: &header,
        listener,
        peer,
    };
    let span = tracing::debug_span!(
        "request",
        ?api,
        version = header.request_api_version,
        correlation_id = header.correlation_id
    );
    let _guard = span.enter();
    let body: ResponseKind = match req.body {
        RequestKind::ApiVersions(r) => api_versions::handle(&ctx, r).into(),
        RequestKind::Metadata(r) => metadata::handle(&ctx, r).await.into(),
        RequestKind::Produce(r) => return produce::handle(&ctx, r).await,
        RequestKind::Fetch(r) => {
            // Encoded without copying the records (see codec::fetch_response).
            let (body, regions) = fetch::handle(&ctx, r).await;
            return match encode_fetch_response_with_regions(
                header.request_api_version,
                header.correlation_id,
                &body,
                &regions,
            ) {
                Ok(frame) => Reply::Now(Some(frame)),
                Err(e) => encode_failed(api, &header, e),
            };
        }
        RequestKind::ListOffsets(r) => list_offsets::handle(&ctx, r).await.into(),
        RequestKind::CreateTopics(r) => create_topics::handle(&ctx, r).await.into(),
        RequestKind::DeleteTopics(r) => delete_topics::handle(&ctx, r).await.into(),
        RequestKind::CreatePartitions(r) => create_partitions::handle(&ctx, r).await.into(),
        RequestKind::DeleteRecords(r) => delete_records::handle(&ctx, r).await.into(),
        RequestKind::DescribeConfigs(r) => admin_configs::describe(&ctx, r).into(),
        RequestKind::AlterConfigs(r) => admin_configs::alter(&ctx, r).await.into(),
        RequestKind::IncrementalAlterConfigs(r) => {
            admin_configs::incremental_alter(&ctx, r).await.into()
        }
        RequestKind::DescribeCluster(r) => describe_cluster::handle(&ctx, r).into(),
        RequestKind::DescribeTopicPartitions(r) => {
            describe_topic_partitions::handle(&ctx, r).into()
        }
        RequestKind::DescribeLogDirs(r) => describe_log_dirs::handle(&ctx, r).into(),
        RequestKind::InitProducerId(r) => init_producer_id::handle(&ctx, r).await.into(),
        RequestKind::FindCoordinator(r) => find_coordinator::handle(&ctx, r).await.into(),
        RequestKind::JoinGroup(r) => join_group::handle(&ctx, r).await.into(),
        RequestKind::SyncGroup(r) => sync_group::handle(&ctx, r).await.into(),
        RequestKind::Heartbeat(r) => heartbeat::handle(&ctx, r).into(),
        RequestKind::LeaveGroup(r) => leave_group::handle(&ctx, r).await.into(),
        RequestKind::DescribeGroups(r) => describe_groups::handle(&ctx, r).into(),
        RequestKind::ListGroups(r) => list_groups::handle(&ctx, r).into(),
        RequestKind::DeleteGroups(r) => delete_groups::handle(&ctx, r).await.into(),
        RequestKind::OffsetCommit(r) => offset_commit::handle(&ctx, r).await.into(),
        RequestKind::OffsetFetch(r) => offset_fetch::handle(&ctx, r).into(),
        RequestKind::OffsetDelete(r) => offset_delete::handle(&ctx, r).await.into(),
        _ => return Reply::Close(format!("{api:?} is not served")),
    };
    encode(api, &header, body)
}

/// Run blocking storage work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ResponseError::UnknownServerError, e.to_string()))
}

/// An optional message for a response.
pub fn msg(m: &Option<String>) -> Option<StrBytes> {
    m.as_ref().map(|s| StrBytes::from_string(s.clone()))
}

/// Kafka's error code for a storage-engine error.
pub fn log_error(e: &strom_log::Error) -> ApiError {
    use strom_log::Error as E;
    let code = match e {
        E::CorruptRecord(_) => ResponseError::CorruptMessage,
        E::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
        E::UnsupportedMagic(_) => ResponseError::UnsupportedForMessageFormat,
        E::UnsupportedCompression(_) => ResponseError::CorruptMessage,
        E::InvalidTimestamp(_) => ResponseError::InvalidTimestamp,
        E::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        E::InvalidRecord(_) => ResponseError::InvalidRecord,
        E::Closed => ResponseError::NotLeaderOrFollower,
        E::Io(_) => ResponseError::KafkaStorageError,
        E::OutOfOrderSequence(_) => ResponseError::OutOfOrderSequenceNumber,
        E::InvalidProducerEpoch(_) => ResponseError::InvalidProducerEpoch,
        E::UnknownProducerId(_) => ResponseError::UnknownProducerId,
        #[allow(unreachable_patterns)]
        _ => ResponseError::UnknownServerError,
    };
    ApiError::new(code, e.to_string())
}

/// Authorized-operations value when the client did not ask for them.
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;
