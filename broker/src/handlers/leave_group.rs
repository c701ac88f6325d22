//! LeaveGroup (v0–v5): members leave (v3+: a batch, per-member errors; a
//! static member can be removed by its instance id alone).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::{blocking, Ctx};
use crate::coordinator::membership::LeavingMember;

pub async fn handle(ctx: &Ctx<'_>, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let version = ctx.version();
    let members: Vec<LeavingMember> = if version >= 3 {
        req.members
            .iter()
            .map(|m| LeavingMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
            })
            .collect()
    } else {
        vec![LeavingMember {
            member_id: req.member_id.to_string(),
            group_instance_id: None,
        }]
    };
    let group_id = req.group_id.0.to_string();
    let b = ctx.broker.clone();
    let leaving = members.clone();
    let (top, errors) = match blocking(move || b.groups.leave_group(&b, &group_id, &leaving)).await
    {
        Ok(r) => r,
        Err(e) => (Some(e.code), vec![]),
    };
    let code = |e: Option<ResponseError>| e.map_or(0, |e| e.code());
    if version < 3 {
        // One member: its error is the request's.
        let error = top.or_else(|| errors.first().copied().flatten());
        return LeaveGroupResponse::default().with_error_code(code(error));
    }
    if top.is_some() {
        return LeaveGroupResponse::default().with_error_code(code(top));
    }
    let responses = req
        .members
        .into_iter()
        .zip(errors)
        .map(|(m, e)| {
            MemberResponse::default()
                .with_member_id(m.member_id)
                .with_group_instance_id(m.group_instance_id)
                .with_error_code(code(e))
        })
        .collect();
    LeaveGroupResponse::default().with_members(responses)
}
