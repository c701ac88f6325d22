//! A caching Schema Registry client for the other Strom services (REST proxy,
//! Connect converters, SQL): register, get by id, get a version or the latest,
//! look up. Schemas by id and by (subject, version) never change, so they are
//! cached for good; "latest" is always asked for.
//!
//! Error answers come back as [`Error::Remote`] with the registry's status
//! and `error_code`.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::{SchemaReference, SchemaType};

/// A schema as the registry returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredSchema {
    pub id: i32,
    /// Present when the schema was fetched through a subject.
    pub subject: Option<String>,
    pub version: Option<i32>,
    pub schema_type: SchemaType,
    pub schema: String,
    pub references: Vec<SchemaReference>,
}

#[derive(Deserialize)]
struct SchemaJson {
    #[serde(default)]
    id: Option<i32>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(rename = "schemaType", default)]
    schema_type: Option<SchemaType>,
    schema: String,
    #[serde(default)]
    references: Vec<SchemaReference>,
}

#[derive(Serialize)]
struct SchemaRequestJson<'a> {
    schema: &'a str,
    #[serde(rename = "schemaType")]
    schema_type: SchemaType,
    #[serde(skip_serializing_if = "<[SchemaReference]>::is_empty")]
    references: &'a [SchemaReference],
}

#[derive(Deserialize)]
struct IdJson {
    id: i32,
}

#[derive(Deserialize)]
struct ErrorJson {
    error_code: i32,
    message: String,
}

type ContentKey = (String, SchemaType, String, Vec<SchemaReference>);

/// A client of one registry URL.
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
    by_id: Mutex<HashMap<i32, RegisteredSchema>>,
    by_version: Mutex<HashMap<(String, i32), RegisteredSchema>>,
    ids: Mutex<HashMap<ContentKey, i32>>,
}

impl RegistryClient {
    /// A client of `url` (`http://host:port`).
    pub fn new(url: &str) -> Result<RegistryClient> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Http(e.to_string()))?;
        Ok(RegistryClient {
            base: url.trim_end_matches('/').to_string(),
            http,
            by_id: Mutex::new(HashMap::new()),
            by_version: Mutex::new(HashMap::new()),
            ids: Mutex::new(HashMap::new()),
        })
    }

    /// Register a schema under `subject`; returns its id (cached per content).
    pub async fn register(
        &self,
        subject: &str,
        schema_type: SchemaType,
        schema: &str,
        references: &[SchemaReference],
    ) -> Result<i32> {
        let key = (
            subject.to_string(),
            schema_type,
            schema.to_string(),
            references.to_vec(),
        );
        if let Some(id) = self.ids.lock().get(&key) {
            return Ok(*id);
        }
        let body = SchemaRequestJson {
            schema,
            schema_type,
            references,
        };
        let path = format!("/subjects/{}/versions", encode(subject));
        let r: IdJson = self
            .send(self.http.post(self.url(&path)).json(&body))
            .await?;
        self.ids.lock().insert(key, r.id);
        Ok(r.id)
    }

    /// The schema with `id` (cached).
    pub async fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema> {
        if let Some(s) = self.by_id.lock().get(&id) {
            return Ok(s.clone());
        }
        let j: SchemaJson = self
            .send(self.http.get(self.url(&format!("/schemas/ids/{id}"))))
            .await?;
        let s = to_schema(j, Some(id));
        self.by_id.lock().insert(id, s.clone());
        Ok(s)
    }

    /// The latest version of `subject` (never cached).
    pub async fn latest(&self, subject: &str) -> Result<RegisteredSchema> {
        let path = format!("/subjects/{}/versions/latest", encode(subject));
        let j: SchemaJson = self.send(self.http.get(self.url(&path))).await?;
        let s = to_schema(j, None);
        self.remember(&s);
        Ok(s)
    }

    /// Version `version` of `subject` (cached).
    pub async fn version(&self, subject: &str, version: i32) -> Result<RegisteredSchema> {
        if let Some(s) = self.by_version.lock().get(&(subject.to_string(), version)) {
            return Ok(s.clone());
        }
        let path = format!("/subjects/{}/versions/{version}", encode(subject));
        let j: SchemaJson = self.send(self.http.get(self.url(&path))).await?;
        let s = to_schema(j, None);
        self.remember(&s);
        Ok(s)
    }

    /// The version of `subject` that holds this schema.
    pub async fn lookup(
        &self,
        subject: &str,
        schema_type: SchemaType,
        schema: &str,
        references: &[SchemaReference],
    ) -> Result<RegisteredSchema> {
        let body = SchemaRequestJson {
            schema,
            schema_type,
            references,
        };
        let path = format!("/subjects/{}", encode(subject));
        let j: SchemaJson = self
            .send(self.http.post(self.url(&path)).json(&body))
            .await?;
        let s = to_schema(j, None);
        self.remember(&s);
        self.ids.lock().insert(
            (
                subject.to_string(),
                schema_type,
                schema.to_string(),
                references.to_vec(),
            ),
            s.id,
        );
        Ok(s)
    }

    /// Every subject.
    pub async fn subjects(&self) -> Result<Vec<String>> {
        self.send(self.http.get(self.url("/subjects"))).await
    }

    fn remember(&self, s: &RegisteredSchema) {
        self.by_id.lock().entry(s.id).or_insert_with(|| s.clone());
        if let (Some(subject), Some(version)) = (&s.subject, s.version) {
            self.by_version
                .lock()
                .insert((subject.clone(), version), s.clone());
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send<T: for<'de> Deserialize<'de>>(&self, req: reqwest::RequestBuilder) -> Result<T> {
        let response = req
            .header("Content-Type", crate::api::CONTENT_TYPE)
            .header("Accept", crate::api::CONTENT_TYPE)
            .send()
            .await
            .map_err(|e| Error::Http(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::Http(e.to_string()))?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ErrorJson>(&bytes) {
                Ok(e) => Error::Remote {
                    status: status.as_u16(),
                    error_code: e.error_code,
                    message: e.message,
                },
                Err(_) => Error::Remote {
                    status: status.as_u16(),
                    error_code: i32::from(status.as_u16()),
                    message: String::from_utf8_lossy(&bytes).into_owned(),
                },
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Http(format!("unreadable answer: {e}")))
    }
}

fn to_schema(j: SchemaJson, id: Option<i32>) -> RegisteredSchema {
    RegisteredSchema {
        id: j.id.or(id).unwrap_or(-1),
        subject: j.subject,
        version: j.version,
        schema_type: j.schema_type.unwrap_or_default(),
        schema: j.schema,
        references: j.references,
    }
}

/// Percent-encode a subject for a path segment.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn subjects_are_path_encoded() {
        assert_eq!(super::encode("a/b c:.x"), "a%2Fb%20c%3A.x");
    }
}
