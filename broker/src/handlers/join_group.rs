//! JoinGroup (v0–v9): join (or rejoin) a classic group and wait for the
//! rebalance to complete. v4+: a member without an id is answered
//! MEMBER_ID_REQUIRED with one, and joins again with it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::{blocking, Ctx};
use crate::coordinator::group::JoinResult;
use crate::coordinator::membership::JoinRequest;

pub async fn handle(ctx: &Ctx<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    let version = ctx.version();
    let join = JoinRequest {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.map(|s| s.to_string()),
        require_known_member_id: version >= 4,
        client_id: ctx
            .header
            .client_id
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        client_host: client_host(ctx),
        // v0 has no rebalance timeout: the session timeout is both.
        rebalance_timeout_ms: if version == 0 {
            req.session_timeout_ms
        } else {
            req.rebalance_timeout_ms
        },
        session_timeout_ms: req.session_timeout_ms,
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
    };
    let member_id = join.member_id.clone();
    let b = ctx.broker.clone();
    let result = match blocking(move || b.groups.join_group(&b, join)).await {
        Ok(pending) => {
            pending
                .resolve(|| JoinResult::error(&member_id, ResponseError::CoordinatorNotAvailable))
                .await
        }
        Err(e) => JoinResult::error(member_id, e.code),
    };
    response(version, result)
}

fn response(version: i16, r: JoinResult) -> JoinGroupResponse {
    let s = |v: String| StrBytes::from_string(v);
    let members = r
        .members
        .into_iter()
        .map(|m| {
            let mut member = JoinGroupResponseMember::default()
                .with_member_id(s(m.member_id))
                .with_metadata(m.metadata);
            if version >= 5 {
                member.group_instance_id = m.group_instance_id.map(s);
            }
            member
        })
        .collect();
    let mut resp = JoinGroupResponse::default()
        .with_error_code(r.error.map_or(0, |e| e.code()))
        .with_generation_id(r.generation)
        .with_leader(s(r.leader))
        .with_member_id(s(r.member_id))
        .with_members(members);
    if version >= 7 {
        resp.protocol_type = r.protocol_type.map(s);
        resp.protocol_name = r.protocol_name.map(s);
    } else {
        // Not nullable before v7.
        resp.protocol_name = Some(s(r.protocol_name.unwrap_or_default()));
    }
    resp
}

/// The member's host as DescribeGroups shows it (Kafka: `/` and the client's address).
fn client_host(ctx: &Ctx<'_>) -> String {
    format!("/{}", ctx.peer.ip())
}
