//! `/api/v1/audit`: the current organisation's audit log (admins), as JSON pages or a JSON
//! Lines export, and verification of its hash chain.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_app::records::{AuditFilter, AuditRecord};
use switchboard_domain::Timestamp;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Auth};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Kind prefix, e.g. `auth.` or `admin.api_key`.
    kind: Option<String>,
    /// Actor id (a user or API key id).
    actor: Option<String>,
    /// RFC 3339; events at or after.
    #[param(value_type = Option<String>)]
    since: Option<Timestamp>,
    /// RFC 3339; events before.
    #[param(value_type = Option<String>)]
    until: Option<Timestamp>,
    /// Paging cursor: events after this sequence number.
    after: Option<i64>,
    /// Paging cursor backwards: events before this sequence number.
    before: Option<i64>,
    /// `asc` (chain order, default) or `desc` (newest first).
    order: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
    /// `json` (default), `jsonl` (JSON Lines download) or `csv` (a download).
    format: Option<String>,
}

/// Events as CSV (RFC 4180) with a header line; details as compact JSON.
pub fn audit_csv(events: &[AuditEventView]) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = String::from("seq,at,actor_kind,actor_id,kind,target,decision,details,hash\r\n");
    for e in events {
        let row = [
            e.seq.to_string(),
            e.at.clone(),
            e.actor_kind.clone(),
            e.actor_id.clone().unwrap_or_default(),
            e.kind.clone(),
            e.target.clone().unwrap_or_default(),
            e.decision.clone().unwrap_or_default(),
            e.details.to_string(),
            e.hash.clone(),
        ];
        let row: Vec<String> = row.iter().map(|v| field(v)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    id: String,
    seq: i64,
    at: String,
    actor_kind: String,
    actor_id: Option<String>,
    kind: String,
    target: Option<String>,
    decision: Option<String>,
    #[schema(value_type = Object)]
    details: serde_json::Value,
    prev_hash: String,
    hash: String,
}

fn view(r: &AuditRecord) -> AuditEventView {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    AuditEventView {
        id: r.id.to_string(),
        seq: r.seq,
        at: r.at.to_rfc3339(),
        actor_kind: r.actor_kind.clone(),
        actor_id: r.actor_id.clone(),
        kind: r.kind.clone(),
        target: r.target.clone(),
        decision: r.decision.clone(),
        details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
        prev_hash: hex(&r.prev_hash),
        hash: hex(&r.hash),
    }
}

/// Audit events of the current organisation, oldest first; `format=jsonl` downloads them.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "Events", body = Vec<AuditEventView>),
              (status = 403, description = "Not an admin", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let filter = AuditFilter {
        kind_prefix: q.kind.filter(|s| !s.is_empty()),
        actor_id: q.actor.filter(|s| !s.is_empty()),
        since: q.since,
        until: q.until,
        after_seq: q.after.unwrap_or(0),
        before_seq: q.before,
        newest_first: match q.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => {
                return Err(ApiError::new(
                    crate::error::ErrorCode::InvalidRequest,
                    "`order` must be asc or desc.",
                ))
            }
        },
        limit: q.limit.unwrap_or(100),
    };
    let events = state.app.identity.audit_events(&auth, filter).await?;
    let views: Vec<AuditEventView> = events.iter().map(view).collect();
    if q.format.as_deref() == Some("csv") {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit.csv\"",
                ),
            ],
            audit_csv(&views),
        )
            .into_response());
    }
    if q.format.as_deref() == Some("jsonl") {
        let mut body = String::new();
        for v in &views {
            body.push_str(&serde_json::to_string(v).map_err(|e| ApiError::internal(&e))?);
            body.push('\n');
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "application/x-ndjson"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit.jsonl\"",
                ),
            ],
            body,
        )
            .into_response());
    }
    Ok(Json(views).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct VerifyView {
    ok: bool,
    checked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    first_bad: Option<switchboard_app::audit::BadLink>,
}

/// Recomputes the organisation's hash chain and reports the first broken link.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, description = "`{\"ok\":true,\"checked\":N}` or the first bad link", body = VerifyView)))]
pub async fn verify(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> Result<Json<VerifyView>, ApiError> {
    let report = state.app.identity.verify_audit(&auth).await?;
    Ok(Json(VerifyView {
        ok: report.ok,
        checked: report.checked,
        first_bad: report.first_bad,
    }))
}
