//! `/healthz` (the process is alive), `/readyz` (the database answers and is migrated) and
//! `/metrics` (Prometheus text).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok` when the process answers.
    status: &'static str,
    version: &'static str,
}

/// Liveness: answers 200 whenever the process can serve HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Alive", body = Liveness)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Liveness> {
    Json(Liveness {
        status: "ok",
        version: state.app.version,
    })
}

#[derive(Serialize, ToSchema)]
pub struct ReadinessBody {
    ready: bool,
    /// `SQLite` or `PostgreSQL`.
    database: &'static str,
    database_reachable: bool,
    migrations_pending: usize,
}

/// Readiness: 200 when the database is reachable and every migration is applied, else 503.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = ReadinessBody),
        (status = 503, description = "Not ready", body = ReadinessBody)
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let report = state.app.readiness().await;
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = ReadinessBody {
        ready: report.ready,
        database: report.database,
        database_reachable: report.database_reachable,
        migrations_pending: report.migrations_pending,
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics() -> Response {
    let text = crate::middleware::metrics::handle()
        .map(|h| h.render())
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
