//! DeleteGroups (v0–v2): only empty groups (else NON_EMPTY_GROUP); unknown
//! ones get GROUP_ID_NOT_FOUND. Their offsets and metadata get tombstones.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::{blocking, Ctx};

pub async fn handle(ctx: &Ctx<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let ids: Vec<String> = req.groups_names.iter().map(|g| g.0.to_string()).collect();
    let b = ctx.broker.clone();
    let results = match blocking(move || b.groups.delete_groups(&b, &ids)).await {
        Ok(r) => r.into_iter().map(|e| e.map(|e| e.code)).collect(),
        Err(e) => vec![Some(e.code); req.groups_names.len()],
    };
    let results = req
        .groups_names
        .into_iter()
        .zip(results)
        .map(|(id, e)| {
            DeletableGroupResult::default()
                .with_group_id(id)
                .with_error_code(e.map_or(0, |e| e.code()))
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
