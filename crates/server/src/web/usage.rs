//! The usage pages: an organisation's model usage per day, model and key (admins), and every
//! organisation's usage (operators), as SVG charts and tables with CSV export. The numbers
//! come from the same summaries as `/api/v1/usage`; the CSV links are that API.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use switchboard_app::gateway::GatewayError;
use switchboard_app::records::{UsageGroup, UsageRow};
use switchboard_domain::Timestamp;

use super::admin::refused;
use super::charts::{self, Bar};
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{render, Layout};
use crate::state::AppState;

/// Days shown when the page is opened without a period.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Default, Deserialize)]
pub struct UsageQuery {
    /// First day shown (`YYYY-MM-DD`).
    #[serde(default)]
    from: String,
    /// Last day shown, inclusive (`YYYY-MM-DD`).
    #[serde(default)]
    to: String,
    /// What the charts measure: `requests`, `tokens` or `cost`.
    #[serde(default)]
    metric: String,
}

/// What the charts measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    Requests,
    Tokens,
    Cost,
}

impl Metric {
    const ALL: [Metric; 3] = [Metric::Requests, Metric::Tokens, Metric::Cost];

    fn as_str(self) -> &'static str {
        match self {
            Metric::Requests => "requests",
            Metric::Tokens => "tokens",
            Metric::Cost => "cost",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Metric::Requests => "Requests",
            Metric::Tokens => "Tokens",
            Metric::Cost => "Cost (USD)",
        }
    }

    fn of(self, row: &UsageRow) -> f64 {
        match self {
            Metric::Requests => row.requests as f64,
            Metric::Tokens => (row.input_tokens + row.output_tokens) as f64,
            Metric::Cost => row.cost_usd,
        }
    }
}

/// The days a page covers: `[first, last]`, both inclusive, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Period {
    first: NaiveDate,
    last: NaiveDate,
}

impl Period {
    fn from(&self) -> Timestamp {
        self.first.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The exclusive end: the start of the day after the last.
    fn to(&self) -> Timestamp {
        self.from() + Duration::days((self.last - self.first).num_days() + 1)
    }

    fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let last = self.last;
        self.first.iter_days().take_while(move |d| *d <= last)
    }

    fn query(&self) -> String {
        format!("from={}&to={}", self.first, self.to().format("%Y-%m-%d"))
    }
}

fn parse_day(field: &str, raw: &str) -> Result<Option<NaiveDate>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("The {field} date must look like 2026-01-31."))
}

/// The period and metric asked for, with defaults (the last 30 days, requests).
fn read_query(q: &UsageQuery, today: NaiveDate) -> Result<(Period, Metric), String> {
    let last = parse_day("end", &q.to)?.unwrap_or(today);
    let first = parse_day("start", &q.from)?.unwrap_or(last - Duration::days(DEFAULT_DAYS - 1));
    if first > last {
        return Err("The start date must not be after the end date.".to_owned());
    }
    let metric = Metric::ALL
        .into_iter()
        .find(|m| m.as_str() == q.metric)
        .unwrap_or(Metric::Requests);
    Ok((Period { first, last }, metric))
}

fn usd(cost: f64) -> String {
    if cost > 0.0 && cost < 0.01 {
        format!("${}", charts::significant(cost, 2))
    } else {
        format!("${cost:.2}")
    }
}

/// Thousands separated with thin spaces are hard to copy; commas read fine in English.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn detail(row: &UsageRow) -> String {
    format!(
        "{} requests · {} tokens · {}",
        count(row.requests),
        count(row.input_tokens + row.output_tokens),
        usd(row.cost_usd)
    )
}

/// One table row.
pub struct RowView {
    pub label: String,
    pub requests: String,
    pub errors: String,
    pub input_tokens: String,
    pub output_tokens: String,
    pub cost: String,
}

fn row_view(label: String, row: &UsageRow) -> RowView {
    RowView {
        label,
        requests: count(row.requests),
        errors: count(row.errors),
        input_tokens: count(row.input_tokens),
        output_tokens: count(row.output_tokens),
        cost: usd(row.cost_usd),
    }
}

/// A chart and its table.
pub struct Section {
    pub id: &'static str,
    pub heading: &'static str,
    /// The first column's heading.
    pub group_heading: &'static str,
    pub chart: String,
    pub rows: Vec<RowView>,
    pub csv_href: String,
}

/// Every day of the period, in order, days without calls as zeros.
fn by_day(
    id: &'static str,
    period: &Period,
    metric: Metric,
    rows: &[UsageRow],
    csv: String,
) -> Section {
    let by_date: HashMap<&str, &UsageRow> = rows
        .iter()
        .filter_map(|r| r.group.as_deref().map(|g| (g, r)))
        .collect();
    let empty = UsageRow {
        group: None,
        requests: 0,
        errors: 0,
        input_tokens: 0,
        output_tokens: 0,
        cost_usd: 0.0,
    };
    let mut bars = Vec::new();
    let mut table = Vec::new();
    for day in period.days() {
        let key = day.format("%Y-%m-%d").to_string();
        let row = by_date.get(key.as_str()).copied().unwrap_or(&empty);
        bars.push(Bar {
            label: day.format("%b %-d").to_string(),
            value: metric.of(row),
            detail: detail(row),
        });
        if row.requests > 0 {
            table.push(row_view(key, row));
        }
    }
    table.reverse();
    Section {
        id,
        heading: "Per day",
        group_heading: "Day",
        chart: charts::columns(id, &format!("{} per day", metric.label()), &bars),
        rows: table,
        csv_href: csv,
    }
}

/// Categories (models, keys, organisations), largest first by the metric.
fn by_category(
    id: &'static str,
    heading: &'static str,
    group_heading: &'static str,
    metric: Metric,
    mut rows: Vec<(String, UsageRow)>,
    csv: String,
) -> Section {
    rows.sort_by(|a, b| metric.of(&b.1).total_cmp(&metric.of(&a.1)));
    let bars: Vec<Bar> = rows
        .iter()
        .map(|(label, row)| Bar {
            label: label.clone(),
            value: metric.of(row),
            detail: match metric {
                Metric::Requests => format!("{} requests", count(row.requests)),
                Metric::Tokens => format!("{} tokens", count(row.input_tokens + row.output_tokens)),
                Metric::Cost => usd(row.cost_usd),
            },
        })
        .collect();
    Section {
        id,
        heading,
        group_heading,
        chart: charts::bars(
            id,
            &format!("{} {}", metric.label(), heading.to_lowercase()),
            &bars,
        ),
        rows: rows.iter().map(|(l, r)| row_view(l.clone(), r)).collect(),
        csv_href: csv,
    }
}

/// The totals above the charts.
pub struct Totals {
    pub requests: String,
    pub tokens: String,
    pub cost: String,
    pub error_rate: String,
}

fn totals(rows: &[UsageRow]) -> Totals {
    let requests: u64 = rows.iter().map(|r| r.requests).sum();
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    let tokens: u64 = rows.iter().map(|r| r.input_tokens + r.output_tokens).sum();
    let cost: f64 = rows.iter().map(|r| r.cost_usd).sum();
    Totals {
        requests: count(requests),
        tokens: count(tokens),
        cost: usd(cost),
        error_rate: if requests == 0 {
            "–".to_owned()
        } else {
            format!("{:.1}%", errors as f64 * 100.0 / requests as f64)
        },
    }
}

#[derive(askama::Template)]
#[template(path = "usage.html")]
struct UsagePage {
    layout: Layout,
    heading: &'static str,
    lede: &'static str,
    action: &'static str,
    first: String,
    last: String,
    metric: &'static str,
    metrics: Vec<(&'static str, &'static str)>,
    totals: Totals,
    sections: Vec<Section>,
}

impl UsagePage {
    fn metric_selected(&self, value: &str) -> bool {
        self.metric == value
    }
}

fn page(
    user: &ConsoleUser,
    headers: &HeaderMap,
    (heading, lede, action): (&'static str, &'static str, &'static str),
    period: &Period,
    metric: Metric,
    totals: Totals,
    sections: Vec<Section>,
) -> Response {
    let (flashes, clear) = flash::take(headers);
    let page = UsagePage {
        layout: Layout::signed_in(heading, action, flashes, user.view.clone()),
        heading,
        lede,
        action,
        first: period.first.to_string(),
        last: period.last.to_string(),
        metric: metric.as_str(),
        metrics: Metric::ALL
            .iter()
            .map(|m| (m.as_str(), m.label()))
            .collect(),
        totals,
        sections,
    };
    flash::finish(render(&page), clear)
}

/// The period and metric of a page request, or the way back to the page's defaults with the
/// reason.
fn requested(state: &AppState, q: &UsageQuery, back: &str) -> Result<(Period, Metric), Response> {
    let today = state.app.clock.now().date_naive();
    read_query(q, today).map_err(|message| redirect_with(back, FlashKind::Error, message))
}

/// `GET /usage`: the organisation's usage (admins).
pub async fn org_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Query(q): Query<UsageQuery>,
) -> Response {
    let (period, metric) = match requested(&state, &q, "/usage") {
        Ok(read) => read,
        Err(response) => return response,
    };
    let gateway = &state.app.gateway;
    let principal = user.principal();
    let summary = |group| gateway.usage_summary(principal, period.from(), period.to(), group);
    let (days, models, keys) = match futures_util::future::try_join3(
        summary(UsageGroup::Day),
        summary(UsageGroup::Model),
        summary(UsageGroup::Key),
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => return refused(e, "/usage"),
    };
    let names: HashMap<String, String> = match gateway.list_keys(principal).await {
        Ok(list) => list
            .into_iter()
            .map(|k| (k.id.to_string(), k.name))
            .collect(),
        Err(e) => return refused(e, "/"),
    };
    let csv = |group: &str| {
        format!(
            "/api/v1/usage?{}&group_by={group}&format=csv",
            period.query()
        )
    };
    let key_rows = keys
        .into_iter()
        .map(|r| {
            let label = match &r.group {
                None => "No key (assistant)".to_owned(),
                Some(id) => names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("Revoked key {}", &id[..id.len().min(8)])),
            };
            (label, r)
        })
        .collect();
    let totals = totals(&days);
    let sections = vec![
        by_day("usage-by-day", &period, metric, &days, csv("day")),
        by_category(
            "usage-by-model",
            "Per model",
            "Model",
            metric,
            labelled(models),
            csv("model"),
        ),
        by_category(
            "usage-by-key",
            "Per key",
            "Key",
            metric,
            key_rows,
            csv("key"),
        ),
    ];
    page(
        &user,
        &headers,
        (
            "Usage",
            "Model calls of this organisation: through the gateway and by the assistant.",
            "/usage",
        ),
        &period,
        metric,
        totals,
        sections,
    )
}

fn labelled(rows: Vec<UsageRow>) -> Vec<(String, UsageRow)> {
    rows.into_iter()
        .map(|r| (r.group.clone().unwrap_or_else(|| "unknown".to_owned()), r))
        .collect()
}

/// `GET /operator/usage`: every organisation's usage (platform operators).
pub async fn platform_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Query(q): Query<UsageQuery>,
) -> Response {
    let (period, metric) = match requested(&state, &q, "/operator/usage") {
        Ok(read) => read,
        Err(response) => return response,
    };
    let gateway = &state.app.gateway;
    let principal = user.principal();
    let summary = |group| gateway.platform_usage(principal, period.from(), period.to(), group);
    let (orgs, days, models) = match futures_util::future::try_join3(
        summary(UsageGroup::Org),
        summary(UsageGroup::Day),
        summary(UsageGroup::Model),
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => return refused(e, "/operator/usage"),
    };
    let names: HashMap<String, String> = match state.app.identity.list_orgs(principal).await {
        Ok(list) => list
            .into_iter()
            .map(|s| (s.org.id.to_string(), s.org.name))
            .collect(),
        Err(e) => return refused(GatewayError::Identity(e), "/"),
    };
    let csv = |group: &str| {
        format!(
            "/api/v1/platform/usage?{}&group_by={group}&format=csv",
            period.query()
        )
    };
    let org_rows = orgs
        .into_iter()
        .map(|r| {
            let id = r.group.clone().unwrap_or_default();
            (names.get(&id).cloned().unwrap_or(id), r)
        })
        .collect();
    let totals = totals(&days);
    let sections = vec![
        by_category(
            "usage-by-org",
            "Per organisation",
            "Organisation",
            metric,
            org_rows,
            csv("org"),
        ),
        by_day("usage-by-day", &period, metric, &days, csv("day")),
        by_category(
            "usage-by-model",
            "Per model",
            "Model",
            metric,
            labelled(models),
            csv("model"),
        ),
    ];
    page(
        &user,
        &headers,
        (
            "Platform usage",
            "Model calls of every organisation on this installation.",
            "/operator/usage",
        ),
        &period,
        metric,
        totals,
        sections,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_default_period_is_the_last_thirty_days() {
        let (period, metric) = read_query(&UsageQuery::default(), day("2026-11-22")).unwrap();
        assert_eq!(period.first, day("2026-10-24"));
        assert_eq!(period.last, day("2026-11-22"));
        assert_eq!(period.days().count(), 30);
        assert_eq!(metric, Metric::Requests);
        assert_eq!(period.query(), "from=2026-10-24&to=2026-11-23");
    }

    #[test]
    fn bad_periods_are_refused() {
        let q = |from: &str, to: &str| UsageQuery {
            from: from.into(),
            to: to.into(),
            metric: "cost".into(),
        };
        assert!(read_query(&q("2026-11-30", "2026-11-01"), day("2026-11-22")).is_err());
        assert!(read_query(&q("yesterday", ""), day("2026-11-22")).is_err());
        let (period, metric) =
            read_query(&q("2026-11-01", "2026-11-01"), day("2026-11-22")).unwrap();
        assert_eq!(period.days().count(), 1);
        assert_eq!(metric, Metric::Cost);
    }

    #[test]
    fn missing_days_are_zero_and_the_table_lists_busy_days_newest_first() {
        let period = Period {
            first: day("2026-11-01"),
            last: day("2026-11-03"),
        };
        let row = UsageRow {
            group: Some("2026-11-02".into()),
            requests: 1234,
            errors: 1,
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: 0.004,
        };
        let section = by_day("d", &period, Metric::Requests, &[row], String::new());
        assert_eq!(section.chart.matches("<rect").count(), 3);
        assert_eq!(section.rows.len(), 1);
        assert_eq!(section.rows[0].label, "2026-11-02");
        assert_eq!(section.rows[0].requests, "1,234");
        assert_eq!(section.rows[0].cost, "$0.004");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.000_010_4), "$0.00001");
    }
}
