//! ListGroups (v0–v5): every group, with its state (v4+, `states_filter`)
//! and type (v5+, `types_filter`; all groups here are "classic").

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;

/// The type of every group this coordinator runs.
pub const CLASSIC: &str = "classic";

pub fn handle(ctx: &Ctx<'_>, req: ListGroupsRequest) -> ListGroupsResponse {
    let version = ctx.version();
    let states: Vec<String> = req
        .states_filter
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let types: Vec<String> = req
        .types_filter
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let groups = ctx
        .broker
        .groups
        .list_groups()
        .into_iter()
        .filter(|g| states.is_empty() || states.contains(&g.state.name().to_ascii_lowercase()))
        .filter(|_| types.is_empty() || types.iter().any(|t| t == CLASSIC))
        .map(|g| {
            let mut out = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(g.group_id)))
                .with_protocol_type(StrBytes::from_string(g.protocol_type));
            if version >= 4 {
                out.group_state = StrBytes::from_static_str(g.state.name());
            }
            if version >= 5 {
                out.group_type = StrBytes::from_static_str(CLASSIC);
            }
            out
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
