//! Managing the AI gateway: virtual keys (`/api/v1/gateway/keys`), usage summaries
//! (`/api/v1/usage`, `/api/v1/platform/usage`) and the organisation's models, default model
//! and guard policy (`/api/v1/llm/...`). Organisation admins; the platform summary is for
//! operators.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use switchboard_app::gateway::keys::NewKey;
use switchboard_app::gateway::models::{
    ModelPrice, ModelSettingsView, NewProvider, ProviderView, SettingsChange,
};
use switchboard_app::records::{GatewayKeyRecord, UsageGroup, UsageRow};
use switchboard_domain::{GatewayKeyId, Timestamp, UserId};
use utoipa::{IntoParams, ToSchema};

use super::json::ApiJson;
use crate::auth::{Admin, Auth, OperatorAuth};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGatewayKeyBody {
    name: String,
    /// Allowed model ids (`<provider>/<model>`); leave out for every model.
    #[serde(default)]
    models: Vec<String>,
    /// Requests per minute.
    rpm: Option<u32>,
    /// Tokens (input + output) per minute.
    tpm: Option<u64>,
    /// Monthly budget in US dollars (calendar month, UTC).
    monthly_budget_usd: Option<f64>,
    /// RFC 3339; the key stops working then.
    #[schema(value_type = Option<String>)]
    expires_at: Option<Timestamp>,
    /// The member the key acts for (usage is attributed to them).
    #[schema(value_type = Option<String>)]
    user_id: Option<UserId>,
    /// Keep identical answers for this many seconds (exact-match cache); off by default.
    cache_ttl_secs: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedGatewayKeyView {
    id: String,
    /// The key itself (`sbk_...`). It is shown this once; only a hash is kept.
    key: String,
    #[serde(flatten)]
    details: GatewayKeyView,
}

#[derive(Serialize, ToSchema)]
pub struct GatewayKeyView {
    id: String,
    name: String,
    /// The key's first characters, to recognise it.
    prefix: String,
    models: Vec<String>,
    rpm: Option<u32>,
    tpm: Option<u64>,
    monthly_budget_usd: Option<f64>,
    cache_ttl_secs: Option<u32>,
    user_id: Option<String>,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

pub fn gateway_key_view(k: &GatewayKeyRecord) -> GatewayKeyView {
    GatewayKeyView {
        id: k.id.to_string(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        models: k.models.clone(),
        rpm: k.rpm,
        tpm: k.tpm,
        monthly_budget_usd: k.monthly_budget_usd,
        cache_ttl_secs: k.cache_ttl_secs,
        user_id: k.user_id.map(|u| u.to_string()),
        created_at: k.created_at.to_rfc3339(),
        expires_at: k.expires_at.map(|t| t.to_rfc3339()),
        last_used_at: k.last_used_at.map(|t| t.to_rfc3339()),
    }
}

/// Creates a virtual key for the OpenAI-compatible gateway.
#[utoipa::path(post, path = "/api/v1/gateway/keys", tag = "gateway", request_body = CreateGatewayKeyBody,
    responses(
        (status = 201, description = "Created; the key is in the body, once", body = CreatedGatewayKeyView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody)
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<CreateGatewayKeyBody>,
) -> Result<(StatusCode, Json<CreatedGatewayKeyView>), ApiError> {
    let created = state
        .app
        .gateway
        .create_key(
            &auth,
            NewKey {
                name: body.name,
                models: body.models,
                rpm: body.rpm,
                tpm: body.tpm,
                monthly_budget_usd: body.monthly_budget_usd,
                expires_at: body.expires_at,
                user_id: body.user_id,
                cache_ttl_secs: body.cache_ttl_secs,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedGatewayKeyView {
            id: created.record.id.to_string(),
            key: created.key,
            details: gateway_key_view(&created.record),
        }),
    ))
}

/// Lists the organisation's live gateway keys (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/gateway/keys", tag = "gateway",
    responses(
        (status = 200, description = "Keys", body = Vec<GatewayKeyView>),
        (status = 403, description = "Not an admin", body = ErrorBody)
    ))]
pub async fn list_keys(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> Result<Json<Vec<GatewayKeyView>>, ApiError> {
    let keys = state.app.gateway.list_keys(&auth).await?;
    Ok(Json(keys.iter().map(gateway_key_view).collect()))
}

/// Revokes a gateway key; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/gateway/keys/{id}", tag = "gateway",
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key in this organisation", body = ErrorBody)
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: GatewayKeyId = id
        .parse()
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))?;
    state.app.gateway.revoke_key(&auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct UsageParams {
    /// RFC 3339 or `YYYY-MM-DD`; default 30 days before `to`.
    from: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (exclusive); default now.
    to: Option<String>,
    /// `day` (default), `model` or `key` (`org` on the platform summary).
    group_by: Option<String>,
    /// `json` (default) or `csv` (a download).
    format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UsageRowView {
    /// The day (`YYYY-MM-DD`), model id, key id or organisation id; null for calls without
    /// a key.
    group: Option<String>,
    requests: u64,
    errors: u64,
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: f64,
}

fn row_view(r: &UsageRow) -> UsageRowView {
    UsageRowView {
        group: r.group.clone(),
        requests: r.requests,
        errors: r.errors,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        cost_usd: r.cost_usd,
    }
}

fn parse_time(field: &'static str, value: &str) -> Result<Timestamp, ApiError> {
    let bad = || {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("`{field}` must be RFC 3339 or YYYY-MM-DD."),
        )
        .with_details(serde_json::json!({ "field": field }))
    };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())?;
    Ok(day.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc())
}

/// The period, grouping and format of a usage request.
pub struct UsageRequest {
    pub from: Timestamp,
    pub to: Timestamp,
    pub group: UsageGroup,
    pub group_name: &'static str,
    pub csv: bool,
}

pub fn usage_request(
    state: &AppState,
    p: &UsageParams,
    allow_org: bool,
) -> Result<UsageRequest, ApiError> {
    let to = match &p.to {
        Some(v) => parse_time("to", v)?,
        None => state.app.clock.now(),
    };
    let from = match &p.from {
        Some(v) => parse_time("from", v)?,
        None => to - Duration::days(30),
    };
    let (group, group_name) = match p.group_by.as_deref().unwrap_or("day") {
        "day" => (UsageGroup::Day, "day"),
        "model" => (UsageGroup::Model, "model"),
        "key" => (UsageGroup::Key, "key"),
        "org" if allow_org => (UsageGroup::Org, "org"),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                if allow_org {
                    "`group_by` must be day, model, key or org."
                } else {
                    "`group_by` must be day, model or key."
                },
            )
            .with_details(serde_json::json!({ "field": "group_by" })))
        }
    };
    let csv = match p.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "`format` must be json or csv.",
            ))
        }
    };
    Ok(UsageRequest {
        from,
        to,
        group,
        group_name,
        csv,
    })
}

/// Usage rows as CSV (RFC 4180), with a header line.
pub fn usage_csv(group_name: &str, rows: &[UsageRow]) -> String {
    let mut out = format!("{group_name},requests,errors,input_tokens,output_tokens,cost_usd\r\n");
    for r in rows {
        let group = r.group.clone().unwrap_or_default();
        let group = if group.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", group.replace('"', "\"\""))
        } else {
            group
        };
        out.push_str(&format!(
            "{group},{},{},{},{},{:.6}\r\n",
            r.requests, r.errors, r.input_tokens, r.output_tokens, r.cost_usd
        ));
    }
    out
}

fn usage_response(request: &UsageRequest, rows: &[UsageRow]) -> Response {
    if request.csv {
        let name = format!("usage-by-{}.csv", request.group_name);
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            usage_csv(request.group_name, rows),
        )
            .into_response()
    } else {
        Json(rows.iter().map(row_view).collect::<Vec<_>>()).into_response()
    }
}

/// The organisation's model usage in `[from, to)`, grouped by day, model or key.
#[utoipa::path(get, path = "/api/v1/usage", tag = "gateway", params(UsageParams),
    responses(
        (status = 200, description = "Rows with requests, tokens and cost (or CSV)", body = Vec<UsageRowView>),
        (status = 400, description = "Bad period or grouping", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody)
    ))]
pub async fn usage(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Query(params): Query<UsageParams>,
) -> Result<Response, ApiError> {
    let request = usage_request(&state, &params, false)?;
    let rows = state
        .app
        .gateway
        .usage_summary(&auth, request.from, request.to, request.group)
        .await?;
    Ok(usage_response(&request, &rows))
}

/// Every organisation's model usage (platform operators), grouped by org, day, model or key.
#[utoipa::path(get, path = "/api/v1/platform/usage", tag = "operator", params(UsageParams),
    responses(
        (status = 200, description = "Rows with requests, tokens and cost (or CSV)", body = Vec<UsageRowView>),
        (status = 403, description = "Not an operator", body = ErrorBody)
    ))]
pub async fn platform_usage(
    State(state): State<AppState>,
    OperatorAuth(caller): OperatorAuth,
    Query(params): Query<UsageParams>,
) -> Result<Response, ApiError> {
    let request = usage_request(&state, &params, true)?;
    let rows = state
        .app
        .gateway
        .platform_usage(&caller.principal, request.from, request.to, request.group)
        .await?;
    Ok(usage_response(&request, &rows))
}

#[derive(Serialize, ToSchema)]
pub struct ModelSettingsBody {
    default_model: Option<String>,
    effective_default_model: Option<String>,
    /// The organisation's own embeddings model (memory recalls by meaning with one).
    embedding_model: Option<String>,
    /// The embeddings model that applies (the organisation's, else the installation's).
    effective_embedding_model: Option<String>,
    /// `{"actions": {"<kind>": "redact|mask|block|flag|off"}, "restore_in_answers": bool}`.
    #[schema(value_type = Object)]
    guard_policy: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    providers: Vec<serde_json::Value>,
}

fn settings_body(view: ModelSettingsView) -> ModelSettingsBody {
    ModelSettingsBody {
        default_model: view.default_model,
        effective_default_model: view.effective_default_model,
        embedding_model: view.embedding_model,
        effective_embedding_model: view.effective_embedding_model,
        guard_policy: serde_json::to_value(&view.guard_policy).unwrap_or_default(),
        providers: view
            .providers
            .iter()
            .map(|p: &ProviderView| serde_json::to_value(p).unwrap_or_default())
            .collect(),
    }
}

/// The organisation's models (installation and own providers), default model and guard
/// policy.
#[utoipa::path(get, path = "/api/v1/llm/settings", tag = "gateway",
    responses((status = 200, description = "Settings", body = ModelSettingsBody),
              (status = 403, description = "Not an admin", body = ErrorBody)))]
pub async fn settings(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> Result<Json<ModelSettingsBody>, ApiError> {
    let view = state.app.gateway.model_settings(&auth).await?;
    Ok(Json(settings_body(view)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettingsBody {
    /// A model id, or null to use the installation's default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    default_model: Option<Option<String>>,
    /// The guard policy (see GET); leave out to keep it.
    #[schema(value_type = Option<Object>)]
    guard_policy: Option<switchboard_app::gateway::models::GuardPolicy>,
    /// An embeddings model id, or null to use the installation's (if any).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    embedding_model: Option<Option<String>>,
}

fn double_option<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(d).map(Some)
}

/// Changes the organisation's default model, embeddings model and/or guard policy.
#[utoipa::path(put, path = "/api/v1/llm/settings", tag = "gateway", request_body = UpdateSettingsBody,
    responses((status = 200, description = "The settings now", body = ModelSettingsBody),
              (status = 400, description = "Unknown model or bad policy", body = ErrorBody),
              (status = 403, description = "Not an admin", body = ErrorBody)))]
pub async fn update_settings(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    ApiJson(body): ApiJson<UpdateSettingsBody>,
) -> Result<Json<ModelSettingsBody>, ApiError> {
    let gateway = &state.app.gateway;
    gateway
        .update_model_settings(
            &auth,
            SettingsChange {
                default_model: body.default_model,
                guard_policy: body.guard_policy,
                embedding_model: body.embedding_model,
            },
        )
        .await?;
    Ok(Json(settings_body(gateway.model_settings(&auth).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderBody {
    /// `openai` or `anthropic`.
    kind: String,
    /// Up to the API version, e.g. `https://api.openai.com/v1`.
    base_url: String,
    /// Sealed in the vault; leave out to keep the current key.
    api_key: Option<String>,
    #[schema(value_type = Vec<Object>)]
    models: Vec<ModelPrice>,
}

/// Adds or replaces one of the organisation's own providers.
#[utoipa::path(put, path = "/api/v1/llm/providers/{name}", tag = "gateway", request_body = ProviderBody,
    params(("name" = String, Path, description = "The provider name (the `<provider>` of model ids)")),
    responses((status = 200, description = "Saved; the settings now", body = ModelSettingsBody),
              (status = 400, description = "Invalid provider", body = ErrorBody),
              (status = 403, description = "Not an admin", body = ErrorBody)))]
pub async fn save_provider(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<ProviderBody>,
) -> Result<Json<ModelSettingsBody>, ApiError> {
    let gateway = &state.app.gateway;
    gateway
        .save_provider(
            &auth,
            NewProvider {
                name,
                kind: body.kind,
                base_url: body.base_url,
                api_key: body.api_key,
                models: body.models,
            },
        )
        .await?;
    Ok(Json(settings_body(gateway.model_settings(&auth).await?)))
}

/// Removes one of the organisation's own providers (and its sealed key).
#[utoipa::path(delete, path = "/api/v1/llm/providers/{name}", tag = "gateway",
    params(("name" = String, Path, description = "The provider name")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No such provider", body = ErrorBody)))]
pub async fn delete_provider(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.gateway.delete_provider(&auth, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
