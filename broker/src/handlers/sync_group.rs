//! SyncGroup (v0–v5): the leader hands in the assignments; every member gets
//! its own once the leader has synced.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::{blocking, Ctx};
use crate::coordinator::group::SyncResult;
use crate::coordinator::membership::SyncRequest;

pub async fn handle(ctx: &Ctx<'_>, req: SyncGroupRequest) -> SyncGroupResponse {
    let version = ctx.version();
    let sync = SyncRequest {
        group_id: req.group_id.0.to_string(),
        generation: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.map(|s| s.to_string()),
        protocol_type: req.protocol_type.map(|s| s.to_string()),
        protocol_name: req.protocol_name.map(|s| s.to_string()),
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
    };
    let b = ctx.broker.clone();
    let result = match blocking(move || b.groups.sync_group(&b, sync)).await {
        Ok(pending) => {
            pending
                .resolve(|| SyncResult::error(ResponseError::CoordinatorNotAvailable))
                .await
        }
        Err(e) => SyncResult::error(e.code),
    };
    let mut resp = SyncGroupResponse::default()
        .with_error_code(result.error.map_or(0, |e| e.code()))
        .with_assignment(result.assignment);
    if version >= 5 {
        resp.protocol_type = result.protocol_type.map(StrBytes::from_string);
        resp.protocol_name = result.protocol_name.map(StrBytes::from_string);
    }
    resp
}
