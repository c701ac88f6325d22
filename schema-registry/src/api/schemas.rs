//! `/schemas`: schemas by id, the subjects and versions that use an id, the
//! supported schema types, and a listing of every schema.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::subjects::{formatted, type_field, SchemaEntity};
use super::{error, flag, ok, raw_schema, AppState, Params};
use crate::error::Result;
use crate::schema::SchemaReference;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schemas", get(list_schemas))
        .route("/schemas/types", get(types))
        .route("/schemas/ids/{id}", get(by_id))
        .route("/schemas/ids/{id}/schema", get(by_id_schema))
        .route("/schemas/ids/{id}/subjects", get(id_subjects))
        .route("/schemas/ids/{id}/versions", get(id_versions))
}

/// Jersey answers a non-integer id with a plain 404.
fn parse_id(id: &str) -> Option<i32> {
    id.parse().ok()
}

#[derive(Serialize)]
struct SchemaString {
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    schema_type: Option<&'static str>,
    schema: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<SchemaReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<serde_json::Value>,
    #[serde(rename = "ruleSet", skip_serializing_if = "Option::is_none")]
    rule_set: Option<serde_json::Value>,
}

async fn by_id(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response> {
    let Some(id) = parse_id(&id) else {
        return Ok(error::http_error(StatusCode::NOT_FOUND));
    };
    let s = app
        .registry
        .schema_by_id(id, q.get("subject").map(String::as_str))?;
    let schema = formatted(&app, &s, q.get("format").map(String::as_str));
    Ok(ok(&SchemaString {
        schema_type: type_field(s.schema_type),
        schema,
        references: s.references,
        metadata: s.metadata,
        rule_set: s.rule_set,
    }))
}

async fn by_id_schema(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response> {
    let Some(id) = parse_id(&id) else {
        return Ok(error::http_error(StatusCode::NOT_FOUND));
    };
    let s = app
        .registry
        .schema_by_id(id, q.get("subject").map(String::as_str))?;
    Ok(raw_schema(formatted(
        &app,
        &s,
        q.get("format").map(String::as_str),
    )))
}

async fn id_subjects(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response> {
    let Some(id) = parse_id(&id) else {
        return Ok(error::http_error(StatusCode::NOT_FOUND));
    };
    let mut subjects: Vec<String> = app
        .registry
        .id_versions(
            id,
            q.get("subject").map(String::as_str),
            flag(&q, "deleted"),
        )?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    subjects.dedup();
    Ok(ok(&subjects))
}

#[derive(Serialize)]
struct SubjectVersion {
    subject: String,
    version: i32,
}

async fn id_versions(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response> {
    let Some(id) = parse_id(&id) else {
        return Ok(error::http_error(StatusCode::NOT_FOUND));
    };
    let versions: Vec<SubjectVersion> = app
        .registry
        .id_versions(
            id,
            q.get("subject").map(String::as_str),
            flag(&q, "deleted"),
        )?
        .into_iter()
        .map(|(subject, version)| SubjectVersion { subject, version })
        .collect();
    Ok(ok(&versions))
}

async fn types() -> Response {
    ok(&["JSON", "PROTOBUF", "AVRO"]).into_response()
}

async fn list_schemas(State(app): State<AppState>, Query(q): Query<Params>) -> Response {
    let offset: usize = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: Option<usize> = q
        .get("limit")
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|l| usize::try_from(l).ok())
        .filter(|l| *l > 0);
    let all = app.registry.list_schemas(
        q.get("subjectPrefix").map(String::as_str),
        flag(&q, "deleted"),
        flag(&q, "latestOnly"),
    );
    let entities: Vec<SchemaEntity> = all
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .map(|s| {
            let text = s.schema.clone();
            SchemaEntity::new(s, text)
        })
        .collect();
    ok(&entities)
}
