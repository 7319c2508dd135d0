//! Console pages.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::console::ConsoleUser;
use super::{charts, flash, render, Layout};
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    overview: switchboard_app::health::SystemOverview,
    /// The organisation's requests and tickets by status, when the caller has one.
    workspace: Option<Workspace>,
}

/// The workspace card: counts by status per kind, and a chart of the tickets.
struct Workspace {
    kinds: Vec<KindCounts>,
    chart: String,
    open_tickets: u64,
    open_requests: u64,
}

/// One kind's counts: its label, its page, and (status, count) in the kind's order.
type KindCounts = (&'static str, &'static str, Vec<(String, u64)>);

fn workspace(counts: &serde_json::Value) -> Workspace {
    use switchboard_domain::ItemKind;
    let mut kinds = Vec::new();
    let mut open = [0u64; 2];
    for (i, (kind, key, label, href)) in [
        (ItemKind::Ticket, "tickets", "Tickets", "/tickets"),
        (ItemKind::Request, "requests", "Requests", "/requests"),
    ]
    .into_iter()
    .enumerate()
    {
        let rows: Vec<(String, u64)> = kind
            .statuses()
            .iter()
            .map(|s| (s.replace('_', " "), counts[key][*s].as_u64().unwrap_or(0)))
            .collect();
        open[i] = kind
            .statuses()
            .iter()
            .filter(|s| !kind.is_done(s))
            .map(|s| counts[key][*s].as_u64().unwrap_or(0))
            .sum();
        kinds.push((label, href, rows));
    }
    let bars: Vec<charts::Bar> = kinds[0]
        .2
        .iter()
        .map(|(status, n)| charts::Bar {
            label: status.clone(),
            value: *n as f64,
            detail: format!("{n} {status}"),
        })
        .collect();
    Workspace {
        chart: charts::bars("tickets-by-status", "Tickets by status", &bars),
        kinds,
        open_tickets: open[0],
        open_requests: open[1],
    }
}

pub async fn home(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    let (flashes, clear) = flash::take(&headers);
    let overview = state.app.overview().await;
    let workspace = state
        .app
        .item_counts(user.principal())
        .await
        .ok()
        .map(|counts| workspace(&counts));
    let page = HomePage {
        layout: Layout::signed_in("Overview", "/", flashes, user.view),
        overview,
        workspace,
    };
    flash::finish(render(&page), clear)
}
