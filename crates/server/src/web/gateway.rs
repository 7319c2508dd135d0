//! The AI gateway screens for organisation admins: virtual keys (create with limits, list
//! with this month's spend, revoke) and models (providers and prices, the default model,
//! the guard policy). Everything goes through the same gateway service as the API.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use switchboard_app::gateway::keys::NewKey;
use switchboard_app::gateway::limits::month_start;
use switchboard_app::gateway::models::{
    GuardAction, GuardKind, GuardPolicy, ModelPrice, NewProvider, ProviderView, SettingsChange,
};
use switchboard_app::records::{GatewayKeyRecord, UsageGroup};
use switchboard_domain::Timestamp;

use super::admin::refused;
use super::console::{redirect_with, ConsoleUser};
use super::flash::{self, FlashKind};
use super::{error_page, render, Layout};
use crate::error::ErrorCode;
use crate::state::AppState;

/// A submitted form as name/value pairs (checkbox groups repeat a name).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// An optional number field: blank is `None`; anything else must parse.
    fn number<T: std::str::FromStr>(&self, name: &str, what: &str) -> Result<Option<T>, String> {
        let raw = self.get(name).trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse()
            .map(Some)
            .map_err(|_| format!("{what} must be a number, not “{raw}”."))
    }
}

fn check_csrf(user: &ConsoleUser, fields: &Fields) -> Result<(), Response> {
    user.check_csrf(fields.get("csrf"))
}

/// Every model id the organisation can use, for pickers.
fn model_ids(providers: &[ProviderView]) -> Vec<String> {
    providers
        .iter()
        .flat_map(|p| {
            p.models
                .iter()
                .map(move |m| format!("{}/{}", p.name, m.name))
        })
        .collect()
}

/// A key as the table shows it.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub models: String,
    pub limits: String,
    pub budget: String,
    pub expires: String,
    pub last_used: String,
}

fn key_row(k: &GatewayKeyRecord, spent: f64) -> KeyRow {
    let limits = match (k.rpm, k.tpm) {
        (None, None) => "none".to_owned(),
        (Some(r), None) => format!("{r} req/min"),
        (None, Some(t)) => format!("{t} tokens/min"),
        (Some(r), Some(t)) => format!("{r} req/min · {t} tokens/min"),
    };
    KeyRow {
        id: k.id.to_string(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        models: if k.models.is_empty() {
            "all".to_owned()
        } else {
            k.models.join(", ")
        },
        limits,
        budget: match k.monthly_budget_usd {
            Some(b) => format!("${spent:.2} of ${b:.2}"),
            None => format!("${spent:.2} (no budget)"),
        },
        expires: k
            .expires_at
            .map_or("never".to_owned(), |t| t.format("%Y-%m-%d").to_string()),
        last_used: k.last_used_at.map_or("never".to_owned(), |t| {
            t.format("%Y-%m-%d %H:%M").to_string()
        }),
    }
}

#[derive(askama::Template)]
#[template(path = "gateway.html")]
struct GatewayPage {
    layout: Layout,
    keys: Vec<KeyRow>,
    models: Vec<String>,
    new_key: Option<String>,
    base_url: String,
}

pub async fn keys_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    keys_render(&state, &user, &headers, None).await
}

async fn keys_render(
    state: &AppState,
    user: &ConsoleUser,
    headers: &HeaderMap,
    new_key: Option<String>,
) -> Response {
    let gateway = &state.app.gateway;
    let principal = user.principal();
    let now = state.app.clock.now();
    let loaded = futures_util::future::try_join3(
        gateway.list_keys(principal),
        gateway.usage_summary(principal, month_start(now), now, UsageGroup::Key),
        gateway.model_settings(principal),
    )
    .await;
    let (keys, spend, settings) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return refused(e, "/"),
    };
    let spend: HashMap<String, f64> = spend
        .into_iter()
        .filter_map(|r| r.group.map(|g| (g, r.cost_usd)))
        .collect();
    let (flashes, clear) = flash::take(headers);
    let page = GatewayPage {
        layout: Layout::signed_in("AI gateway", "/gateway", flashes, user.view.clone()),
        keys: keys
            .iter()
            .map(|k| key_row(k, spend.get(&k.id.to_string()).copied().unwrap_or(0.0)))
            .collect(),
        models: model_ids(&settings.providers),
        new_key,
        base_url: format!("{}/v1", state.origin(headers)),
    };
    flash::finish(render(&page), clear)
}

/// The end of the chosen day (UTC): a key that expires "on" a day works through it.
fn expiry(raw: &str) -> Result<Option<Timestamp>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| "The expiry date must look like 2026-12-31.".to_owned())?;
    let next = day.succ_opt().unwrap_or(day);
    Ok(Some(next.and_time(chrono::NaiveTime::MIN).and_utc()))
}

fn new_key(fields: &Fields) -> Result<NewKey, String> {
    Ok(NewKey {
        name: fields.get("name").to_owned(),
        models: fields.all("models"),
        rpm: fields.number("rpm", "Requests per minute")?,
        tpm: fields.number("tpm", "Tokens per minute")?,
        monthly_budget_usd: fields.number("budget", "The monthly budget")?,
        expires_at: expiry(fields.get("expires"))?,
        user_id: None,
        cache_ttl_secs: fields.number("cache_ttl", "The cache lifetime")?,
    })
}

pub async fn keys_create(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(page) = check_csrf(&user, &fields) {
        return page;
    }
    let new = match new_key(&fields) {
        Ok(new) => new,
        Err(message) => return redirect_with("/gateway", FlashKind::Error, message),
    };
    match state.app.gateway.create_key(user.principal(), new).await {
        Ok(created) => keys_render(&state, &user, &headers, Some(created.key)).await,
        Err(e) => refused(e, "/gateway"),
    }
}

pub async fn keys_revoke(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(page) = check_csrf(&user, &Fields(fields)) {
        return page;
    }
    let Ok(id) = id.parse() else {
        return error_page(ErrorCode::NotFound);
    };
    match state.app.gateway.revoke_key(user.principal(), id).await {
        Ok(()) => redirect_with("/gateway", FlashKind::Success, "The key is revoked."),
        Err(e) => refused(e, "/gateway"),
    }
}

/// One row of the guard policy form.
pub struct GuardRow {
    pub kind: &'static str,
    pub action: &'static str,
}

#[derive(askama::Template)]
#[template(path = "models.html")]
struct ModelsPage {
    layout: Layout,
    providers: Vec<ProviderView>,
    models: Vec<String>,
    default_model: Option<String>,
    effective_default: Option<String>,
    embedding_model: Option<String>,
    effective_embedding: Option<String>,
    guard: Vec<GuardRow>,
    actions: Vec<&'static str>,
    restore_in_answers: bool,
}

impl ModelsPage {
    fn is_default(&self, model: &str) -> bool {
        self.default_model.as_deref() == Some(model)
    }
    fn is_embedding(&self, model: &str) -> bool {
        self.embedding_model.as_deref() == Some(model)
    }
}

pub async fn models_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Response {
    let view = match state.app.gateway.model_settings(user.principal()).await {
        Ok(view) => view,
        Err(e) => return refused(e, "/"),
    };
    let (flashes, clear) = flash::take(&headers);
    let page = ModelsPage {
        layout: Layout::signed_in("Models", "/models", flashes, user.view.clone()),
        models: model_ids(&view.providers),
        default_model: view.default_model,
        effective_default: view.effective_default_model,
        embedding_model: view.embedding_model,
        effective_embedding: view.effective_embedding_model,
        guard: GuardKind::ALL
            .iter()
            .map(|k| GuardRow {
                kind: k.as_str(),
                action: view.guard_policy.action(*k).as_str(),
            })
            .collect(),
        actions: GuardAction::ALL.iter().map(|a| a.as_str()).collect(),
        restore_in_answers: view.guard_policy.restore_in_answers,
        providers: view.providers,
    };
    flash::finish(render(&page), clear)
}

pub async fn models_default(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(page) = check_csrf(&user, &fields) {
        return page;
    }
    let chosen = fields.get("default_model").trim();
    let change = SettingsChange {
        default_model: Some(Some(chosen.to_owned()).filter(|m| !m.is_empty())),
        ..SettingsChange::default()
    };
    save_settings(&state, &user, change, "The default model is saved.").await
}

/// Applies a change to the organisation's model settings; back to `/models` with `saved`.
async fn save_settings(
    state: &AppState,
    user: &ConsoleUser,
    change: SettingsChange,
    saved: &str,
) -> Response {
    match state
        .app
        .gateway
        .update_model_settings(user.principal(), change)
        .await
    {
        Ok(()) => redirect_with("/models", FlashKind::Success, saved),
        Err(e) => refused(e, "/models"),
    }
}

pub async fn models_embedding(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(page) = check_csrf(&user, &fields) {
        return page;
    }
    let chosen = fields.get("embedding_model").trim();
    let change = SettingsChange {
        embedding_model: Some(Some(chosen.to_owned()).filter(|m| !m.is_empty())),
        ..SettingsChange::default()
    };
    save_settings(&state, &user, change, "The embeddings model is saved.").await
}

fn guard_policy(fields: &Fields) -> Result<GuardPolicy, String> {
    let mut policy = GuardPolicy::default();
    for kind in GuardKind::ALL {
        let raw = fields.get(&format!("guard_{}", kind.as_str()));
        let action = GuardAction::parse(raw)
            .ok_or_else(|| format!("Choose what happens to {}.", kind.as_str()))?;
        policy.set(kind, action);
    }
    policy.restore_in_answers = !fields.get("restore_in_answers").is_empty();
    Ok(policy)
}

pub async fn models_guard(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(page) = check_csrf(&user, &fields) {
        return page;
    }
    let policy = match guard_policy(&fields) {
        Ok(policy) => policy,
        Err(message) => return redirect_with("/models", FlashKind::Error, message),
    };
    let change = SettingsChange {
        guard_policy: Some(policy),
        ..SettingsChange::default()
    };
    save_settings(&state, &user, change, "The guard policy is saved.").await
}

/// Models typed one per line: `name [input-price [output-price]]`, prices in USD per
/// million tokens.
fn model_lines(text: &str) -> Result<Vec<ModelPrice>, String> {
    let mut models = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let Some(name) = parts.first() else { continue };
        if parts.len() > 3 {
            return Err(format!(
                "Line {}: write a model as “name input-price output-price”.",
                n + 1
            ));
        }
        let price = |i: usize| -> Result<f64, String> {
            parts.get(i).map_or(Ok(0.0), |p| {
                p.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| format!("Line {}: “{p}” is not a price.", n + 1))
            })
        };
        models.push(ModelPrice {
            name: (*name).to_owned(),
            input_usd_per_mtok: price(1)?,
            output_usd_per_mtok: price(2)?,
            fallbacks: Vec::new(),
        });
    }
    Ok(models)
}

pub async fn providers_save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(page) = check_csrf(&user, &fields) {
        return page;
    }
    let models = match model_lines(fields.get("models")) {
        Ok(models) => models,
        Err(message) => return redirect_with("/models", FlashKind::Error, message),
    };
    let name = fields.get("name").trim().to_owned();
    let key = fields.get("api_key").trim();
    let new = NewProvider {
        name: name.clone(),
        kind: fields.get("kind").to_owned(),
        base_url: fields.get("base_url").trim().to_owned(),
        api_key: Some(key.to_owned()).filter(|k| !k.is_empty()),
        models,
    };
    match state.app.gateway.save_provider(user.principal(), new).await {
        Ok(()) => redirect_with(
            "/models",
            FlashKind::Success,
            format!("The provider {name} is saved."),
        ),
        Err(e) => refused(e, "/models"),
    }
}

pub async fn providers_delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(name): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(page) = check_csrf(&user, &Fields(fields)) {
        return page;
    }
    match state
        .app
        .gateway
        .delete_provider(user.principal(), &name)
        .await
    {
        Ok(()) => redirect_with(
            "/models",
            FlashKind::Success,
            format!("The provider {name} is removed."),
        ),
        Err(e) => refused(e, "/models"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn key_forms_read_limits_and_model_lists() {
        let f = fields(&[
            ("name", "n8n"),
            ("models", "local/a"),
            ("models", "local/b"),
            ("rpm", "60"),
            ("tpm", ""),
            ("budget", "12.5"),
            ("expires", "2026-12-31"),
        ]);
        let key = new_key(&f).unwrap();
        assert_eq!(key.models, vec!["local/a", "local/b"]);
        assert_eq!(key.rpm, Some(60));
        assert_eq!(key.tpm, None);
        assert_eq!(key.monthly_budget_usd, Some(12.5));
        assert_eq!(
            key.expires_at.unwrap().to_rfc3339(),
            "2027-01-01T00:00:00+00:00"
        );
        let bad = fields(&[("name", "x"), ("rpm", "lots")]);
        assert!(new_key(&bad).unwrap_err().contains("“lots”"));
    }

    #[test]
    fn model_lines_take_names_and_prices() {
        let models = model_lines("gpt-4o 2.5 10\n\n  llama3  \nmini 0.15").unwrap();
        assert_eq!(models.len(), 3);
        assert_eq!(models[0].output_usd_per_mtok, 10.0);
        assert_eq!(models[1].name, "llama3");
        assert_eq!(models[1].input_usd_per_mtok, 0.0);
        assert_eq!(models[2].input_usd_per_mtok, 0.15);
        assert!(model_lines("a b").unwrap_err().contains("Line 1"));
        assert!(model_lines("a 1 -2").is_err());
        assert!(model_lines("a 1 2 3").is_err());
    }

    #[test]
    fn guard_forms_need_an_action_for_every_kind() {
        let mut pairs: Vec<(String, String)> = GuardKind::ALL
            .iter()
            .map(|k| (format!("guard_{}", k.as_str()), "redact".to_owned()))
            .collect();
        pairs[0].1 = "block".to_owned();
        let policy = guard_policy(&Fields(pairs.clone())).unwrap();
        assert_eq!(policy.action(GuardKind::ALL[0]), GuardAction::Block);
        assert!(!policy.restore_in_answers);
        pairs.pop();
        assert!(guard_policy(&Fields(pairs)).is_err());
    }
}
