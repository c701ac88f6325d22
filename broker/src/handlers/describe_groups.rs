//! DescribeGroups (v0–v6): state, protocol, members (metadata and assignment
//! only while Stable, as Kafka). An unknown group is reported Dead; from v6
//! on with GROUP_ID_NOT_FOUND (KIP-1043), before that without an error.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{Ctx, AUTHORIZED_OPERATIONS_OMITTED};

/// Without ACLs every group operation is allowed: READ, DELETE, DESCRIBE
/// (bits 3, 6 and 8 of Kafka's AclOperation).
pub const ALL_GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

pub fn handle(ctx: &Ctx<'_>, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let version = ctx.version();
    let s = StrBytes::from_string;
    let groups = req
        .groups
        .into_iter()
        .map(|group_id| {
            let id = group_id.0.to_string();
            let mut out = DescribedGroup::default().with_group_id(group_id);
            if version >= 3 {
                out.authorized_operations = if req.include_authorized_operations {
                    ALL_GROUP_OPERATIONS
                } else {
                    AUTHORIZED_OPERATIONS_OMITTED
                };
            }
            let Some(d) = ctx.broker.groups.describe_group(&id) else {
                out.group_state = StrBytes::from_static_str("Dead");
                if version >= 6 {
                    out.error_code = ResponseError::GroupIdNotFound.code();
                    out.error_message = Some(s(format!("Group {id} not found.")));
                }
                return out;
            };
            let members = d
                .members
                .into_iter()
                .map(|m| {
                    let mut member = DescribedGroupMember::default()
                        .with_member_id(s(m.member_id))
                        .with_client_id(s(m.client_id))
                        .with_client_host(s(m.client_host))
                        .with_member_metadata(m.metadata)
                        .with_member_assignment(m.assignment);
                    if version >= 4 {
                        member.group_instance_id = m.group_instance_id.map(s);
                    }
                    member
                })
                .collect();
            out.with_group_state(StrBytes::from_static_str(d.state.name()))
                .with_protocol_type(s(d.protocol_type))
                .with_protocol_data(s(d.protocol))
                .with_members(members)
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
