//! Writes go to the leader. On a follower, a write request (register, delete,
//! config and mode changes) is sent on to the leader's URL as it came, and the
//! leader's answer is relayed: 50004 when no leader is known, 50003 when the
//! leader cannot be reached. Reads are always served locally.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::Error;
use crate::leader::Leader;

/// Marks a request one instance forwarded to another (never forwarded twice).
pub const FORWARDED_HEADER: &str = "x-strom-forwarded";

/// How long a forwarded request may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether the matched route and method change state.
fn is_write(method: &Method, route: &str) -> bool {
    match *method {
        Method::PUT | Method::DELETE => true,
        // POST /subjects/{subject} is a lookup and /compatibility/... a check.
        Method::POST => route == "/subjects/{subject}/versions",
        _ => false,
    }
}

/// Route-layer middleware: run writes here when this instance leads, else forward them.
pub async fn forward_writes(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    if !is_write(req.method(), &route) {
        return next.run(req).await;
    }
    match app.registry.leader().current() {
        Leader::Me => next.run(req).await,
        Leader::Unknown => Error::UnknownLeader.into_response(),
        Leader::Other(_) if req.headers().contains_key(FORWARDED_HEADER) => {
            Error::ForwardingFailed(
                "this instance is not the leader (leadership changed while forwarding)".to_string(),
            )
            .into_response()
        }
        Leader::Other(url) => match forward(&app, &url, req).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        },
    }
}

async fn forward(app: &AppState, leader_url: &str, req: Request) -> Result<Response, Error> {
    let (parts, body) = req.into_parts();
    let limit = app.registry.config().max_request_bytes;
    let body = to_bytes(body, limit)
        .await
        .map_err(|_| Error::BodyTooLarge)?;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("{}{}", leader_url.trim_end_matches('/'), path);
    tracing::debug!(%url, method = %parts.method, "forwarding to the leader");
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static(super::CONTENT_TYPE));
    let response = app
        .http
        .request(parts.method.clone(), &url)
        .header(header::CONTENT_TYPE, content_type)
        .header(FORWARDED_HEADER, "true")
        .timeout(FORWARD_TIMEOUT)
        .body(body)
        .send()
        .await
        .map_err(|e| Error::ForwardingFailed(format!("{url}: {e}")))?;
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::ForwardingFailed(format!("{url}: {e}")))?;
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    if let Some(ct) = content_type {
        out.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_recognised() {
        assert!(is_write(&Method::POST, "/subjects/{subject}/versions"));
        assert!(!is_write(&Method::POST, "/subjects/{subject}"));
        assert!(!is_write(
            &Method::POST,
            "/compatibility/subjects/{subject}/versions"
        ));
        assert!(is_write(&Method::DELETE, "/subjects/{subject}"));
        assert!(is_write(&Method::PUT, "/config"));
        assert!(!is_write(&Method::GET, "/config"));
    }
}
