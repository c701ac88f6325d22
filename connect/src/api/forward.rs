//! Forwarding, as Connect's `HerderRequestHandler` does it: a request whose
//! handler answers "not here" ([`super::error::ForwardTo`]: the leader, or
//! the worker running a task) is sent on with `?forward=`; a request that
//! arrived without `forward` may be forwarded twice (`forward=true`), one
//! with `forward=true` once more (`forward=false`), one with `forward=false`
//! not at all (409: the cluster is rebalancing).

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error::{error_response, ForwardTo};
use super::{query_flag, AppState, MAX_BODY};
use crate::herder::REBALANCING;

/// How long a forwarded request may take (Connect's 90 s request timeout).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(90);

pub async fn forward(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error_response(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
    };
    let response = next
        .run(Request::from_parts(
            parts.clone(),
            Body::from(bytes.clone()),
        ))
        .await;
    let Some(ForwardTo(target)) = response.extensions().get::<ForwardTo>().cloned() else {
        return response;
    };
    let query = parts.uri.query();
    let next_flag = match query_flag(query, "forward") {
        None => "true",
        Some(true) => "false",
        Some(false) => return error_response(StatusCode::CONFLICT, REBALANCING),
    };
    let mut pairs: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("forward="))
        .map(str::to_string)
        .collect();
    pairs.push(format!("forward={next_flag}"));
    let url = format!(
        "{}{}?{}",
        target.trim_end_matches('/'),
        parts.uri.path(),
        pairs.join("&")
    );
    tracing::debug!(%url, method = %parts.method, "forwarding");
    let sent = app
        .http
        .request(parts.method.clone(), &url)
        .header(header::CONTENT_TYPE, "application/json")
        .timeout(FORWARD_TIMEOUT)
        .body(bytes.to_vec())
        .send()
        .await;
    let r = match sent {
        Ok(r) => r,
        Err(e) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Error trying to forward REST request: {e}"),
            )
        }
    };
    let status = r.status();
    let content_type = r.headers().get(header::CONTENT_TYPE).cloned();
    let location = r.headers().get(header::LOCATION).cloned();
    let body = match r.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Error trying to forward REST request: {e}"),
            )
        }
    };
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    if let Some(ct) = content_type {
        out.headers_mut().insert(header::CONTENT_TYPE, ct);
    } else {
        out.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Some(l) = location {
        out.headers_mut().insert(header::LOCATION, l);
    }
    out
}
