//! One gateway call, in order: key → model (allowed for the key?) → rate limit → budget →
//! guard on the prompt → cache → route with fallbacks → guard on the answer (streaming-safe)
//! → usage, cost and audit. Every call that got past the key is metered: a [`Meter`] records
//! it exactly once, when it finishes or, for a stream the client abandoned, when it is
//! dropped.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_domain::{OrgId, Timestamp, UsageId, UserId};
use switchboard_guard::{redact, scanner, GuardError, Placeholders, Policy, StreamRedactor};
use switchboard_llm::client::{AnswerStream, CallError};
use switchboard_llm::openai_compat::ClientChat;
use switchboard_llm::{Answer, ChatRequest, FinishReason, Part, StreamEvent, Usage};
use switchboard_store::{GatewayKeyRecord, UsageRecord};

use super::accounting::CallRecord;
use super::cache::{fingerprint, Cached};
use super::limits::month_start;
use super::models::OrgModels;
use super::{Gateway, GatewayError};
use crate::audit::{Actor, NewEvent};

/// A whole answer and what the response headers need.
#[derive(Debug)]
pub struct WholeReply {
    pub answer: Answer,
    /// The model id that was asked for, resolved (`default` → the real id).
    pub model: String,
    /// Time spent in the gateway itself (total minus waiting for the provider).
    pub overhead: Duration,
    pub cached: bool,
}

/// Embeddings and what the response headers need.
#[derive(Debug)]
pub struct EmbedReply {
    pub vectors: Vec<Vec<f32>>,
    pub input_tokens: u64,
    pub model: String,
    pub overhead: Duration,
}

/// The answer to a chat call.
#[derive(Debug)]
pub enum ChatReply {
    Whole(WholeReply),
    Stream(Box<GatewayStream>),
}

/// Records one call exactly once.
struct Meter {
    gateway: Gateway,
    /// The virtual key of a gateway call; `None` for the hub's own calls (the runtime).
    key: Option<Arc<GatewayKeyRecord>>,
    org_id: OrgId,
    user_id: Option<UserId>,
    actor: Actor,
    models: Arc<OrgModels>,
    endpoint: &'static str,
    model: String,
    stream: bool,
    at: Timestamp,
    month: Timestamp,
    started: Instant,
    upstream: Duration,
    route: Option<String>,
    usage: Usage,
    findings: BTreeMap<&'static str, u32>,
    cached: bool,
    done: bool,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Meter {
    fn overhead(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.upstream)
    }

    /// Records the call with `status` (`ok` or an error code); returns the overhead.
    fn finish(&mut self, status: &str) -> Duration {
        let overhead = self.overhead();
        if self.done {
            return overhead;
        }
        self.done = true;
        let latency = self.started.elapsed();
        let cost = match (&self.route, self.cached) {
            (Some(route), false) => self
                .models
                .catalog
                .find(route)
                .map(|r| r.model.cost_usd(self.usage))
                .unwrap_or(0.0),
            _ => 0.0,
        };
        let inner = &self.gateway.inner;
        let tokens = self.usage.input_tokens + self.usage.output_tokens;
        if let Some(key) = &self.key {
            if !self.cached {
                inner.limits.charge_tokens(key, tokens, Instant::now());
            }
            inner.limits.add_spend(key.id, self.month, cost);
        }
        metrics::histogram!("switchboard_gateway_overhead_seconds").record(overhead.as_secs_f64());
        metrics::counter!("switchboard_gateway_requests_total", "status" => status.to_owned())
            .increment(1);
        if tokens > 0 {
            metrics::counter!("switchboard_llm_tokens_total", "direction" => "input")
                .increment(self.usage.input_tokens);
            metrics::counter!("switchboard_llm_tokens_total", "direction" => "output")
                .increment(self.usage.output_tokens);
        }
        let usage = UsageRecord {
            id: UsageId::generate(inner.clock.as_ref()),
            org_id: self.org_id,
            key_id: self.key.as_ref().map(|k| k.id),
            user_id: self.user_id,
            at: self.at,
            endpoint: self.endpoint.to_owned(),
            model: self.model.clone(),
            provider: self.route.clone(),
            input_tokens: self.usage.input_tokens,
            output_tokens: self.usage.output_tokens,
            cost_usd: cost,
            latency_ms: latency.as_secs_f64() * 1000.0,
            overhead_ms: overhead.as_secs_f64() * 1000.0,
            status: status.to_owned(),
            cached: self.cached,
        };
        let event = NewEvent {
            org: self.org_id,
            actor: self.actor.clone(),
            kind: "ai.call".to_owned(),
            target: Some(self.model.clone()),
            decision: Some(status.to_owned()),
            details: json!({
                "endpoint": self.endpoint,
                "stream": self.stream,
                "route": self.route,
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cost_usd": cost,
                "cached": self.cached,
                "guard_findings": self.findings,
                "usage_id": usage.id.to_string(),
            }),
        };
        inner.sink.send(CallRecord { usage, event });
        overhead
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if !self.done {
            self.finish("cancelled");
        }
    }
}

fn blocked(e: GuardError) -> GatewayError {
    match e {
        GuardError::Blocked(kind) => GatewayError::ContentBlocked(kind.to_string()),
        GuardError::TooLarge(n) => GatewayError::Invalid {
            field: "messages",
            message: format!("A message of {n} bytes is larger than the guard's limit."),
        },
    }
}

/// Guards one text in place, counting findings by kind.
fn guard_text(
    text: &mut String,
    policy: &Policy,
    placeholders: &mut Placeholders,
    findings: &mut BTreeMap<&'static str, u32>,
) -> Result<(), GatewayError> {
    if text.is_empty() {
        return Ok(());
    }
    let out = redact(scanner(), text, policy, placeholders).map_err(blocked)?;
    for (finding, _) in &out.findings {
        *findings.entry(finding.kind.as_str()).or_default() += 1;
    }
    *text = out.text;
    Ok(())
}

/// Guards every text the model will see: system, messages, tool calls and results.
fn guard_request(
    request: &mut ChatRequest,
    policy: &Policy,
    placeholders: &mut Placeholders,
    findings: &mut BTreeMap<&'static str, u32>,
) -> Result<(), GatewayError> {
    if let Some(system) = request.system.as_mut() {
        guard_text(system, policy, placeholders, findings)?;
    }
    for message in &mut request.messages {
        for part in &mut message.parts {
            match part {
                Part::Text(text) => guard_text(text, policy, placeholders, findings)?,
                Part::ToolCall(call) => {
                    guard_text(&mut call.arguments, policy, placeholders, findings)?
                }
                Part::ToolResult { content, .. } => {
                    guard_text(content, policy, placeholders, findings)?
                }
            }
        }
    }
    Ok(())
}

/// What the answer guard needs: the policy, the request's placeholders, and (when the policy
/// restores values in answers) the placeholders the prompt issued, to turn back into values
/// the client itself sent.
struct AnswerGuard {
    policy: Policy,
    placeholders: Placeholders,
    restore: Option<Placeholders>,
}

impl AnswerGuard {
    fn finish_text(&self, text: String) -> String {
        match &self.restore {
            Some(prompt) if !text.is_empty() => prompt.restore(&text),
            _ => text,
        }
    }

    fn whole(
        &mut self,
        answer: &mut Answer,
        findings: &mut BTreeMap<&'static str, u32>,
    ) -> Result<(), GatewayError> {
        guard_text(
            &mut answer.text,
            &self.policy,
            &mut self.placeholders,
            findings,
        )?;
        answer.text = self.finish_text(std::mem::take(&mut answer.text));
        for call in &mut answer.tool_calls {
            guard_text(
                &mut call.arguments,
                &self.policy,
                &mut self.placeholders,
                findings,
            )?;
            call.arguments = self.finish_text(std::mem::take(&mut call.arguments));
        }
        Ok(())
    }
}

impl Gateway {
    /// Opens the meter of a call and resolves the model to its routes (the first is the
    /// model asked for; fallbacks follow). A model that does not resolve is a metered refusal.
    #[allow(clippy::too_many_arguments)]
    fn open_meter(
        &self,
        key: Option<Arc<GatewayKeyRecord>>,
        (org_id, user_id, actor): (OrgId, Option<UserId>, Actor),
        models: Arc<OrgModels>,
        model: &str,
        endpoint: &'static str,
        stream: bool,
        started: Instant,
    ) -> Result<(Meter, Vec<String>), GatewayError> {
        let now = self.inner.clock.now();
        let mut meter = Meter {
            gateway: self.clone(),
            key,
            org_id,
            user_id,
            actor,
            models: models.clone(),
            endpoint,
            model: model.to_owned(),
            stream,
            at: now,
            month: month_start(now),
            started,
            upstream: Duration::ZERO,
            route: None,
            usage: Usage::default(),
            findings: BTreeMap::new(),
            cached: false,
            done: false,
        };
        let routes: Vec<String> = match models.catalog.routes(model) {
            Ok(routes) => routes.into_iter().map(|r| r.id).collect(),
            Err(e) => {
                let e = match e {
                    switchboard_llm::catalog::CatalogError::NoDefault => {
                        GatewayError::ModelNotFound(
                            "No default model is configured; name a model such as \
                             `<provider>/<model>`, or choose a default in the console under Models."
                                .into(),
                        )
                    }
                    other => GatewayError::ModelNotFound(other.to_string()),
                };
                meter.finish(e.status());
                return Err(e);
            }
        };
        meter.model = routes.first().cloned().unwrap_or_default();
        Ok((meter, routes))
    }

    /// Resolves the key and the model, and applies limits and budget.
    async fn admit(
        &self,
        bearer: &str,
        model: &str,
        endpoint: &'static str,
        stream: bool,
        started: Instant,
    ) -> Result<(Meter, Vec<String>), GatewayError> {
        let key = self.authenticate(bearer).await?;
        let models = self.org_models(key.org_id).await?;
        // From here every outcome is metered: refusals are usage records too.
        let caller = (
            key.org_id,
            key.user_id,
            Actor::GatewayKey(key.id.to_string()),
        );
        let (mut meter, routes) = self.open_meter(
            Some(key.clone()),
            caller,
            models,
            model,
            endpoint,
            stream,
            started,
        )?;
        if !key.models.is_empty() && !key.models.contains(&meter.model) {
            let e = GatewayError::ModelNotAllowed(meter.model.clone());
            meter.finish(e.status());
            return Err(e);
        }
        if let Err(e) = self.inner.limits.admit(&key, Instant::now()) {
            meter.finish(e.status());
            return Err(e);
        }
        if let Some(budget) = key.monthly_budget_usd {
            let spent = match self.inner.limits.cached_spend(key.id, meter.month) {
                Some(spent) => spent,
                None => {
                    let spent = self
                        .inner
                        .store
                        .usage
                        .key_spend(key.id, meter.month)
                        .await?;
                    self.inner.limits.set_spend(key.id, meter.month, spent);
                    spent
                }
            };
            if spent >= budget {
                let e = GatewayError::BudgetExceeded { budget_usd: budget };
                meter.finish(e.status());
                return Err(e);
            }
        }
        Ok((meter, routes))
    }

    /// A chat completion, whole or streamed.
    pub async fn chat(
        &self,
        bearer: &str,
        chat: ClientChat,
        started: Instant,
    ) -> Result<ChatReply, GatewayError> {
        let stream = chat.request.stream;
        let (mut meter, route_ids) = self
            .admit(bearer, &chat.model, "chat", stream, started)
            .await?;
        let mut request = chat.request;
        let policy = meter.models.policy.clone();
        let mut placeholders = Placeholders::new();
        if let Err(e) = guard_request(
            &mut request,
            &policy,
            &mut placeholders,
            &mut meter.findings,
        ) {
            meter.finish(e.status());
            return Err(e);
        }
        let mut guard = AnswerGuard {
            restore: policy.restore_in_answers.then(|| placeholders.clone()),
            policy,
            placeholders,
        };

        let (cache_key, cache_ttl) = match &meter.key {
            Some(key) => (Some(key.id), key.cache_ttl_secs),
            None => (None, None),
        };
        let cache = cache_ttl.map(|ttl| {
            (
                fingerprint(&meter.model, &request),
                Duration::from_secs(u64::from(ttl)),
            )
        });
        if let (Some((print, _)), Some(cache_key)) = (cache, cache_key) {
            if let Some(hit) = self.inner.cache.get(cache_key, print) {
                metrics::counter!("switchboard_gateway_cache_total", "result" => "hit")
                    .increment(1);
                meter.cached = true;
                meter.route = Some(hit.route);
                meter.usage = hit.answer.usage;
                let model = meter.model.clone();
                if stream {
                    return Ok(ChatReply::Stream(Box::new(GatewayStream::replay(
                        meter, hit.answer,
                    ))));
                }
                let overhead = meter.finish("ok");
                return Ok(ChatReply::Whole(WholeReply {
                    answer: hit.answer,
                    model,
                    overhead,
                    cached: true,
                }));
            }
            metrics::counter!("switchboard_gateway_cache_total", "result" => "miss").increment(1);
        }

        let models = meter.models.clone();
        let routes: Vec<_> = route_ids
            .iter()
            .filter_map(|id| models.catalog.find(id).ok())
            .collect();
        let client = &self.inner.client;
        let waiting = Instant::now();
        if stream {
            let result = client.stream_routed(&routes, &request).await;
            meter.upstream += waiting.elapsed();
            match result {
                Ok(routed) => {
                    meter.route = Some(routed.route);
                    Ok(ChatReply::Stream(Box::new(GatewayStream::live(
                        meter,
                        routed.value,
                        guard,
                        cache,
                    ))))
                }
                Err(e) => Err(upstream_failed(&mut meter, &e)),
            }
        } else {
            let result = client.complete_routed(&routes, &request).await;
            meter.upstream += waiting.elapsed();
            match result {
                Ok(routed) => {
                    meter.route = Some(routed.route.clone());
                    let mut answer = routed.value;
                    meter.usage = answer.usage;
                    if let Err(e) = guard.whole(&mut answer, &mut meter.findings) {
                        meter.finish(e.status());
                        return Err(e);
                    }
                    if let (Some((print, ttl)), Some(cache_key)) = (cache, cache_key) {
                        let cached = Cached {
                            answer: answer.clone(),
                            route: routed.route,
                        };
                        self.inner.cache.put(cache_key, print, cached, ttl);
                    }
                    let model = meter.model.clone();
                    let overhead = meter.finish("ok");
                    Ok(ChatReply::Whole(WholeReply {
                        answer,
                        model,
                        overhead,
                        cached: false,
                    }))
                }
                Err(e) => Err(upstream_failed(&mut meter, &e)),
            }
        }
    }

    /// A streamed model call the hub makes itself for a person (the assistant runtime):
    /// the organisation's models and fallbacks, the guard on the prompt and the answer, and
    /// a usage record with its `ai.call` audit event — the same path as a gateway call,
    /// without a virtual key's limits. `model` may be `default`.
    pub async fn converse(
        &self,
        org: OrgId,
        user: Option<UserId>,
        actor: Actor,
        model: &str,
        mut request: ChatRequest,
    ) -> Result<GatewayStream, GatewayError> {
        let started = Instant::now();
        let models = self.org_models(org).await?;
        request.stream = true;
        let (mut meter, route_ids) = self.open_meter(
            None,
            (org, user, actor),
            models.clone(),
            model,
            "runtime",
            true,
            started,
        )?;
        let policy = models.policy.clone();
        let mut placeholders = Placeholders::new();
        if let Err(e) = guard_request(
            &mut request,
            &policy,
            &mut placeholders,
            &mut meter.findings,
        ) {
            meter.finish(e.status());
            return Err(e);
        }
        let guard = AnswerGuard {
            restore: policy.restore_in_answers.then(|| placeholders.clone()),
            policy,
            placeholders,
        };
        let routes: Vec<_> = route_ids
            .iter()
            .filter_map(|id| models.catalog.find(id).ok())
            .collect();
        let waiting = Instant::now();
        let result = self.inner.client.stream_routed(&routes, &request).await;
        meter.upstream += waiting.elapsed();
        match result {
            Ok(routed) => {
                meter.route = Some(routed.route);
                Ok(GatewayStream::live(meter, routed.value, guard, None))
            }
            Err(e) => Err(upstream_failed(&mut meter, &e)),
        }
    }

    /// Whether the organisation has a model to talk to (a default is configured).
    pub async fn has_default_model(&self, org: OrgId) -> Result<bool, GatewayError> {
        Ok(self
            .org_models(org)
            .await?
            .catalog
            .routes("default")
            .is_ok())
    }

    /// The model ids a key may use (for `GET /v1/models`).
    pub async fn models_for_key(&self, bearer: &str) -> Result<Vec<String>, GatewayError> {
        let key = self.authenticate(bearer).await?;
        let models = self.org_models(key.org_id).await?;
        Ok(models
            .catalog
            .model_ids()
            .into_iter()
            .filter(|id| key.models.is_empty() || key.models.contains(id))
            .collect())
    }

    /// Embeddings through the key's organisation (first route only).
    pub async fn embed(
        &self,
        bearer: &str,
        model: &str,
        input: Vec<String>,
        started: Instant,
    ) -> Result<EmbedReply, GatewayError> {
        let (meter, route_ids) = self
            .admit(bearer, model, "embeddings", false, started)
            .await?;
        self.embed_metered(meter, &route_ids, input).await
    }

    /// Embeddings the hub asks for itself (the assistant's memory) with the organisation's
    /// embeddings model, accounted and audited like any call; `None` when the organisation
    /// has no embeddings model.
    pub async fn embed_for(
        &self,
        org: OrgId,
        user: Option<UserId>,
        actor: Actor,
        input: Vec<String>,
    ) -> Result<Option<EmbedReply>, GatewayError> {
        let started = Instant::now();
        let models = self.org_models(org).await?;
        let Some(model) = models.catalog.embedding_model.clone() else {
            return Ok(None);
        };
        let (meter, route_ids) = self.open_meter(
            None,
            (org, user, actor),
            models,
            &model,
            "embeddings",
            false,
            started,
        )?;
        self.embed_metered(meter, &route_ids, input).await.map(Some)
    }

    /// The guard on every input, then the first route's provider.
    async fn embed_metered(
        &self,
        mut meter: Meter,
        route_ids: &[String],
        mut input: Vec<String>,
    ) -> Result<EmbedReply, GatewayError> {
        let policy = meter.models.policy.clone();
        let mut placeholders = Placeholders::new();
        for text in &mut input {
            if let Err(e) = guard_text(text, &policy, &mut placeholders, &mut meter.findings) {
                meter.finish(e.status());
                return Err(e);
            }
        }
        let models = meter.models.clone();
        let Some(route) = route_ids
            .first()
            .and_then(|id| models.catalog.find(id).ok())
        else {
            let e = GatewayError::ModelNotFound(format!("unknown model `{}`", meter.model));
            meter.finish(e.status());
            return Err(e);
        };
        let waiting = Instant::now();
        let result = self
            .inner
            .client
            .embed(&route.provider.endpoint, &route.model.name, &input)
            .await;
        meter.upstream += waiting.elapsed();
        match result {
            Ok(embeddings) => {
                meter.route = Some(route.id.clone());
                meter.usage = Usage {
                    input_tokens: embeddings.input_tokens,
                    output_tokens: 0,
                };
                let model = meter.model.clone();
                let overhead = meter.finish("ok");
                Ok(EmbedReply {
                    vectors: embeddings.vectors,
                    input_tokens: embeddings.input_tokens,
                    model,
                    overhead,
                })
            }
            Err(e) => Err(upstream_failed(&mut meter, &e)),
        }
    }
}

fn upstream_failed(meter: &mut Meter, e: &CallError) -> GatewayError {
    let err = match e {
        // The request asks for something the provider cannot do: the client can fix that.
        CallError::Unsupported(what) => GatewayError::Invalid {
            field: "model",
            message: format!("The provider of `{}` does not support {what}.", meter.model),
        },
        other => {
            tracing::warn!(model = %meter.model, error = %other, "upstream call failed");
            GatewayError::Upstream(other.to_string())
        }
    };
    meter.finish(err.status());
    err
}

/// A streamed answer passing through the answer guard. Text and tool arguments are held back
/// only as long as the guard needs to see what follows (see `switchboard_guard::stream`).
pub struct GatewayStream {
    meter: Meter,
    upstream: Option<AnswerStream>,
    guard: Option<AnswerGuard>,
    text: Option<StreamRedactor>,
    arguments: HashMap<usize, StreamRedactor>,
    pending: VecDeque<StreamEvent>,
    finish: Option<FinishReason>,
    /// Where to keep the answer when the key caches responses.
    cache: Option<([u8; 32], Duration)>,
    collected: Answer,
    indices: Vec<usize>,
    ended: bool,
    /// The provider's stream ended normally and the guard released everything.
    completed: bool,
}

impl std::fmt::Debug for GatewayStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayStream")
            .field("meter", &self.meter)
            .finish_non_exhaustive()
    }
}

impl GatewayStream {
    fn live(
        meter: Meter,
        upstream: AnswerStream,
        guard: AnswerGuard,
        cache: Option<([u8; 32], Duration)>,
    ) -> GatewayStream {
        GatewayStream {
            text: Some(StreamRedactor::new(guard.policy.clone())),
            meter,
            upstream: Some(upstream),
            guard: Some(guard),
            arguments: HashMap::new(),
            pending: VecDeque::new(),
            finish: None,
            cache,
            collected: Answer::default(),
            indices: Vec::new(),
            ended: false,
            completed: false,
        }
    }

    /// A cached answer played back as a stream.
    fn replay(mut meter: Meter, answer: Answer) -> GatewayStream {
        let mut pending = VecDeque::new();
        if !answer.text.is_empty() {
            pending.push_back(StreamEvent::Text(answer.text.clone()));
        }
        for (index, call) in answer.tool_calls.iter().enumerate() {
            pending.push_back(StreamEvent::ToolCallStart {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            pending.push_back(StreamEvent::ToolArguments {
                index,
                json: call.arguments.clone(),
            });
        }
        pending.push_back(StreamEvent::Finish(
            answer.finish.clone().unwrap_or(FinishReason::Stop),
        ));
        meter.finish("ok");
        GatewayStream {
            meter,
            upstream: None,
            guard: None,
            text: None,
            arguments: HashMap::new(),
            pending,
            finish: None,
            cache: None,
            collected: Answer::default(),
            indices: Vec::new(),
            ended: true,
            completed: true,
        }
    }

    /// The resolved model id.
    pub fn model(&self) -> &str {
        &self.meter.model
    }

    /// Time spent in the gateway so far.
    pub fn overhead(&self) -> Duration {
        self.meter.overhead()
    }

    /// Tokens used (complete once the stream has ended).
    pub fn usage(&self) -> Usage {
        self.meter.usage
    }

    /// The next guarded event; `None` at the end. After an error the stream is over.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, GatewayError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if self.cache.is_some() {
                    self.collected.apply(event.clone(), &mut self.indices);
                }
                return Some(Ok(event));
            }
            if self.ended {
                self.keep_in_cache();
                return None;
            }
            let upstream = self.upstream.as_mut()?;
            let waiting = Instant::now();
            let item = upstream.next().await;
            self.meter.upstream += waiting.elapsed();
            let result = match item {
                Some(Ok(event)) => self.accept(event),
                Some(Err(e)) => {
                    self.ended = true;
                    return Some(Err(upstream_failed(&mut self.meter, &e)));
                }
                None => self.end(),
            };
            if let Err(e) = result {
                self.ended = true;
                self.meter.finish(e.status());
                return Some(Err(e));
            }
        }
    }

    fn accept(&mut self, event: StreamEvent) -> Result<(), GatewayError> {
        let (Some(guard), Some(text)) = (self.guard.as_mut(), self.text.as_mut()) else {
            return Ok(());
        };
        match event {
            StreamEvent::Text(chunk) => {
                let out = text
                    .push(&chunk, &mut guard.placeholders)
                    .map_err(blocked)?;
                if !out.is_empty() {
                    self.pending
                        .push_back(StreamEvent::Text(guard.finish_text(out)));
                }
            }
            StreamEvent::ToolArguments { index, json } => {
                let redactor = self
                    .arguments
                    .entry(index)
                    .or_insert_with(|| StreamRedactor::new(guard.policy.clone()));
                let out = redactor
                    .push(&json, &mut guard.placeholders)
                    .map_err(blocked)?;
                if !out.is_empty() {
                    self.pending.push_back(StreamEvent::ToolArguments {
                        index,
                        json: guard.finish_text(out),
                    });
                }
            }
            StreamEvent::Usage(usage) => self.meter.usage = usage,
            StreamEvent::Finish(reason) => self.finish = Some(reason),
            start @ StreamEvent::ToolCallStart { .. } => self.pending.push_back(start),
        }
        Ok(())
    }

    /// The provider's stream ended: release what the guard held back, then finish.
    fn end(&mut self) -> Result<(), GatewayError> {
        self.ended = true;
        if let (Some(guard), Some(text)) = (self.guard.as_mut(), self.text.as_mut()) {
            let rest = text.finish(&mut guard.placeholders).map_err(blocked)?;
            if !rest.is_empty() {
                self.pending
                    .push_back(StreamEvent::Text(guard.finish_text(rest)));
            }
            let mut indices: Vec<usize> = self.arguments.keys().copied().collect();
            indices.sort_unstable();
            for index in indices {
                if let Some(redactor) = self.arguments.get_mut(&index) {
                    let rest = redactor.finish(&mut guard.placeholders).map_err(blocked)?;
                    if !rest.is_empty() {
                        self.pending.push_back(StreamEvent::ToolArguments {
                            index,
                            json: guard.finish_text(rest),
                        });
                    }
                }
            }
        }
        let reason = self.finish.take().unwrap_or(FinishReason::Stop);
        self.pending.push_back(StreamEvent::Finish(reason));
        self.completed = true;
        self.meter.finish("ok");
        Ok(())
    }

    /// Keeps a completed answer for the key's response cache.
    fn keep_in_cache(&mut self) {
        let Some((print, ttl)) = self.cache.take() else {
            return;
        };
        let Some(route) = self.meter.route.clone().filter(|_| self.completed) else {
            return;
        };
        let Some(key) = self.meter.key.as_ref().map(|k| k.id) else {
            return;
        };
        let mut answer = std::mem::take(&mut self.collected);
        answer.usage = self.meter.usage;
        self.meter
            .gateway
            .inner
            .cache
            .put(key, print, Cached { answer, route }, ttl);
    }
}
