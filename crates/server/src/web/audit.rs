//! The audit viewer (admins): the organisation's events newest first with filters, paging to
//! older events, a chain check, and JSON Lines / CSV export through `/api/v1/audit`.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use switchboard_app::audit::VerifyReport;
use switchboard_app::records::{AuditFilter, AuditRecord};

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{render, Layout};
use crate::state::AppState;

/// Events per page.
const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct AuditPageQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    actor: String,
    /// First day (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    from: String,
    /// Last day, inclusive.
    #[serde(default)]
    to: String,
    /// Older than this sequence number (paging).
    before: Option<i64>,
    /// Check the chain and show the result.
    #[serde(default)]
    verify: Option<String>,
}

/// One row of the table.
pub struct EventRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub target: String,
    pub decision: String,
    pub details: String,
}

fn row(e: &AuditRecord) -> EventRow {
    EventRow {
        seq: e.seq,
        at: e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
        actor: match &e.actor_id {
            Some(id) => format!("{} {id}", e.actor_kind),
            None => e.actor_kind.clone(),
        },
        kind: e.kind.clone(),
        target: e.target.clone().unwrap_or_default(),
        decision: e.decision.clone().unwrap_or_default(),
        details: e.details.clone(),
    }
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    kind: String,
    actor: String,
    from: String,
    to: String,
    events: Vec<EventRow>,
    /// The query string of the filters (for export and paging links).
    filters: String,
    older: Option<i64>,
    verify: Option<VerifyReport>,
}

fn day(field: &str, raw: &str, end: bool) -> Result<Option<switchboard_domain::Timestamp>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| format!("The {field} date must look like 2026-01-31."))?;
    let date = if end {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    Ok(Some(date.and_time(chrono::NaiveTime::MIN).and_utc()))
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Query(q): Query<AuditPageQuery>,
) -> Response {
    let (since, until) = match (day("start", &q.from, false), day("end", &q.to, true)) {
        (Ok(since), Ok(until)) => (since, until),
        (Err(m), _) | (_, Err(m)) => return redirect_with("/audit", FlashKind::Error, m),
    };
    let kind = q.kind.trim().to_owned();
    let actor = q.actor.trim().to_owned();
    let filter = AuditFilter {
        kind_prefix: Some(kind.clone()).filter(|k| !k.is_empty()),
        actor_id: Some(actor.clone()).filter(|a| !a.is_empty()),
        since,
        until,
        after_seq: 0,
        before_seq: q.before,
        newest_first: true,
        limit: PAGE,
    };
    let identity = &state.app.identity;
    let events = match identity.audit_events(user.principal(), filter).await {
        Ok(events) => events,
        Err(e) => return refused(e, "/"),
    };
    let verify = if q.verify.is_some() {
        match identity.verify_audit(user.principal()).await {
            Ok(report) => Some(report),
            Err(e) => return refused(e, "/audit"),
        }
    } else {
        None
    };
    let mut filters = Vec::new();
    for (name, value) in [("kind", &kind), ("actor", &actor)] {
        if !value.is_empty() {
            filters.push(format!("{name}={}", encode(value)));
        }
    }
    if let Some(t) = since {
        filters.push(format!("since={}", encode(&t.to_rfc3339())));
    }
    if let Some(t) = until {
        filters.push(format!("until={}", encode(&t.to_rfc3339())));
    }
    let older = (events.len() as u32 == PAGE)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    let (flashes, clear) = flash::take(&headers);
    let page = AuditPage {
        layout: Layout::signed_in("Audit log", "/audit", flashes, user.view.clone()),
        kind,
        actor,
        from: q.from.trim().to_owned(),
        to: q.to.trim().to_owned(),
        events: events.iter().map(row).collect(),
        filters: filters.join("&"),
        older,
        verify,
    };
    flash::finish(render(&page), clear)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("auth.login"), "auth.login");
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(
            encode("2026-01-01T00:00:00+00:00"),
            "2026-01-01T00%3A00%3A00%2B00%3A00"
        );
    }

    #[test]
    fn days_cover_whole_days() {
        let start = day("start", "2026-01-31", false).unwrap().unwrap();
        let end = day("end", "2026-01-31", true).unwrap().unwrap();
        assert_eq!((end - start).num_hours(), 24);
        assert!(day("start", "31/01/2026", false).is_err());
        assert_eq!(day("start", " ", false).unwrap(), None);
    }
}
