//! `/subjects`: list subjects, register and look up schemas, list, get and
//! delete versions, and what references a version.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use super::{flag, ok, raw_schema, AppState, JsonBody, Params};
use crate::error::{Error, Result};
use crate::registry::{SchemaRequest, VersionId};
use crate::schema::{SchemaReference, SchemaType};
use crate::store::StoredSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route(
            "/subjects/{subject}/versions",
            get(list_versions).post(register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(get_version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(get_version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(referenced_by),
        )
}

/// A schema in a request body (register, lookup, compatibility).
#[derive(Deserialize, Default)]
pub struct SchemaBody {
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(rename = "schemaType", default)]
    pub schema_type: Option<String>,
    #[serde(default)]
    pub references: Option<Vec<SchemaReference>>,
    #[serde(default)]
    pub id: Option<i32>,
    #[serde(default)]
    pub version: Option<i32>,
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    #[serde(rename = "ruleSet", default)]
    pub rule_set: Option<serde_json::Value>,
}

impl SchemaBody {
    /// The request as the registry takes it: type checked, a Protobuf schema
    /// sent as a base64 `FileDescriptorProto` turned into `.proto` text.
    pub fn into_request(self) -> Result<SchemaRequest> {
        let schema_type = match self.schema_type.as_deref() {
            None | Some("") => SchemaType::Avro,
            Some(t) => t
                .parse::<SchemaType>()
                .map_err(|_| Error::InvalidSchema(format!("Invalid schema type {t}")))?,
        };
        let schema = match self.schema {
            Some(s) if !s.trim().is_empty() => s,
            _ => return Err(Error::InvalidSchema("Empty schema".to_string())),
        };
        let schema = if schema_type == SchemaType::Protobuf {
            crate::protobuf_text::from_serialized(&schema).unwrap_or(schema)
        } else {
            schema
        };
        Ok(SchemaRequest {
            schema,
            schema_type,
            references: self.references.unwrap_or_default(),
            id: self.id,
            version: self.version,
            metadata: self.metadata.filter(|m| !m.is_null()),
            rule_set: self.rule_set.filter(|m| !m.is_null()),
        })
    }
}

/// A subject version as the API returns it.
#[derive(Serialize)]
pub struct SchemaEntity {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(rename = "ruleSet", skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<serde_json::Value>,
    pub schema: String,
}

impl SchemaEntity {
    /// `schema`: the text to return (see [`formatted`]).
    pub fn new(s: StoredSchema, schema: String) -> SchemaEntity {
        SchemaEntity {
            subject: s.subject,
            version: s.version,
            id: s.id,
            schema_type: type_field(s.schema_type),
            references: s.references,
            metadata: s.metadata,
            rule_set: s.rule_set,
            schema,
        }
    }
}

/// `schemaType` as Confluent writes it: absent for AVRO.
pub fn type_field(t: SchemaType) -> Option<&'static str> {
    match t {
        SchemaType::Avro => None,
        t => Some(t.as_str()),
    }
}

/// The schema text in the requested `format` (`serialized`: a Protobuf
/// schema as a base64 `FileDescriptorProto`).
pub fn formatted(app: &AppState, s: &StoredSchema, format: Option<&str>) -> String {
    match (s.schema_type, format) {
        (SchemaType::Protobuf, Some("serialized")) => app
            .registry
            .protobuf_serialized(s)
            .unwrap_or_else(|| s.schema.clone()),
        _ => s.schema.clone(),
    }
}

async fn list_subjects(State(app): State<AppState>, Query(q): Query<Params>) -> Response {
    ok(&app.registry.subjects(
        q.get("subjectPrefix").map(String::as_str),
        flag(&q, "deleted"),
        flag(&q, "deletedOnly"),
    ))
}

async fn list_versions(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response> {
    Ok(ok(&app.registry.versions(
        &subject,
        flag(&q, "deleted"),
        flag(&q, "deletedOnly"),
    )?))
}

#[derive(Serialize)]
struct RegisterResponse {
    id: i32,
}

async fn register(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<Params>,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Response> {
    let request = body.unwrap_or_default().into_request()?;
    let id = app
        .registry
        .register(&subject, &request, flag(&q, "normalize"))
        .await?;
    Ok(ok(&RegisterResponse { id }))
}

async fn lookup(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<Params>,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Response> {
    let request = body.unwrap_or_default().into_request()?;
    let found = app.registry.lookup(
        &subject,
        &request,
        flag(&q, "normalize"),
        flag(&q, "deleted"),
    )?;
    let text = found.schema.clone();
    Ok(ok(&SchemaEntity::new(found, text)))
}

async fn delete_subject(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response> {
    Ok(ok(&app
        .registry
        .delete_subject(&subject, flag(&q, "permanent"))
        .await?))
}

async fn get_version(
    State(app): State<AppState>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> Result<Response> {
    let version = VersionId::parse(&version)?;
    let s = app
        .registry
        .version(&subject, version, flag(&q, "deleted"))?;
    let text = formatted(&app, &s, q.get("format").map(String::as_str));
    Ok(ok(&SchemaEntity::new(s, text)))
}

async fn get_version_schema(
    State(app): State<AppState>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> Result<Response> {
    let version = VersionId::parse(&version)?;
    let s = app
        .registry
        .version(&subject, version, flag(&q, "deleted"))?;
    Ok(raw_schema(formatted(
        &app,
        &s,
        q.get("format").map(String::as_str),
    )))
}

async fn referenced_by(
    State(app): State<AppState>,
    Path((subject, version)): Path<(String, String)>,
) -> Result<Response> {
    let version = VersionId::parse(&version)?;
    Ok(ok(&app.registry.referenced_by(&subject, version)?))
}

async fn delete_version(
    State(app): State<AppState>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> Result<Response> {
    let version = VersionId::parse(&version)?;
    Ok(ok(&app
        .registry
        .delete_version(&subject, version, flag(&q, "permanent"))
        .await?))
}
