//! `GET /` (version, commit, Kafka cluster id) and `GET /metrics`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::{ok, AppState};
use crate::plugins::KAFKA_VERSION;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(server_info))
        .route("/metrics", get(metrics))
}

async fn server_info(State(app): State<AppState>) -> Response {
    let cluster = app.herder.kafka_cluster_id.read().clone();
    ok(&json!({
        "version": KAFKA_VERSION,
        "commit": format!("strom-{}", env!("CARGO_PKG_VERSION")),
        "kafka_cluster_id": cluster,
    }))
}

async fn metrics(State(app): State<AppState>) -> Response {
    let h = &app.herder;
    let connectors = h.connectors().len();
    let tasks = h.worker.task_ids().await.len();
    let leader = u8::from(h.assignment().is_some_and(|a| a.is_leader));
    let body = format!(
        "# HELP strom_connect_connectors Connectors configured in the cluster.\n\
         # TYPE strom_connect_connectors gauge\n\
         strom_connect_connectors {connectors}\n\
         # HELP strom_connect_worker_tasks Tasks running on this worker.\n\
         # TYPE strom_connect_worker_tasks gauge\n\
         strom_connect_worker_tasks {tasks}\n\
         # HELP strom_connect_is_leader 1 if this worker leads its group.\n\
         # TYPE strom_connect_is_leader gauge\n\
         strom_connect_is_leader {leader}\n"
    );
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}
