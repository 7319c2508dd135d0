//! The governed tool layer (DESIGN 4.2): one registry of tool definitions — name,
//! description, JSON-Schema input, minimum role, tier, implementation — serving the AI
//! runtime, `GET /api/v1/tools` and `POST /api/v1/tools/{name}/invoke`.
//!
//! Every call: arguments checked against the schema (nothing runs on a bad call), then the
//! policy decision (`switchboard_domain::policy::decide`) with the organisation's tool
//! settings and rules, then — when allowed — the implementation. The decision, its reason and
//! the guarded arguments are written to the audit log, whatever the outcome.

pub mod approvals;
mod documents;
mod fleet;
mod memory;
pub mod schema;
mod system;
mod workspace;

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use serde_json::{json, Value};
use switchboard_domain::policy::{decide, CallContext, ToolFacts};
use switchboard_domain::{Decision, OrgId, OrgPolicy, Role, Tier, ToolSettings};

use crate::audit::NewEvent;
use crate::identity::{IdentityError, Principal};
use crate::App;

/// What a tool's implementation returns.
pub type ToolResult = Result<Value, ToolFailure>;

/// A tool's implementation: the hub's services, the caller, the checked arguments.
pub type Handler = for<'a> fn(
    &'a App,
    &'a Principal,
    Value,
) -> Pin<Box<dyn Future<Output = ToolResult> + Send + 'a>>;

/// One tool, defined once.
pub struct ToolDef {
    pub name: &'static str,
    pub description: &'static str,
    pub input_schema: Value,
    pub min_role: Role,
    pub tier: Tier,
    /// For a tool whose risk depends on what it is asked (`fleet.run`: by task type), the
    /// tier of a call; the call's tier is never below `tier`.
    pub tier_for: Option<fn(&Value) -> Tier>,
    /// Problems with a call's arguments that the schema cannot express, found without IO,
    /// before any approval is asked for (`fleet.run`: the payload's shape for its type).
    pub check: Option<fn(&Value) -> Vec<String>>,
    pub run: Handler,
}

impl std::fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDef")
            .field("name", &self.name)
            .field("tier", &self.tier)
            .finish_non_exhaustive()
    }
}

/// A tool ran but could not do what was asked (told to the model as a tool error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolFailure(pub String);

impl From<IdentityError> for ToolFailure {
    fn from(e: IdentityError) -> Self {
        ToolFailure(e.to_string())
    }
}

/// Why a call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("The arguments are invalid: {}.", .0.join("; "))]
    InvalidArguments(Vec<String>),
    #[error("The call was denied: {0}.")]
    Denied(String),
    /// A four-eyes request decided by its own requester.
    #[error("The person who asked for this call may not approve it (four-eyes rule).")]
    FourEyes,
    /// The request was already decided or has expired.
    #[error("{0}")]
    Conflict(String),
    #[error("The tool failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("internal: {0}")]
    Internal(String),
}

/// What a call produced: the tool's result, or a request waiting for a human.
#[derive(Clone, Debug, PartialEq)]
pub enum Invoked {
    Done(Value),
    Pending {
        approval_id: switchboard_domain::ApprovalId,
    },
}

/// What one governed call came to (see [`App::call_tool`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Called {
    Done(Value),
    /// Waits for a human; the tier that applied.
    Pending {
        approval_id: switchboard_domain::ApprovalId,
        tier: Tier,
    },
    /// Refused, with the policy's reason.
    Denied(String),
    /// Not run: the arguments do not fit the schema.
    Invalid(Vec<String>),
    /// The tool ran and failed.
    Failed(String),
}

/// Every tool of this installation.
#[derive(Debug)]
pub struct Registry {
    tools: Vec<ToolDef>,
}

impl Default for Registry {
    fn default() -> Self {
        let mut tools = system::tools();
        tools.extend(workspace::tools());
        tools.extend(memory::tools());
        tools.extend(documents::tools());
        tools.extend(fleet::tools());
        Registry { tools }
    }
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }

    pub fn all(&self) -> &[ToolDef] {
        &self.tools
    }

    /// The registry with one more tool (integrations and tests add theirs this way).
    pub fn with_tool(mut self, tool: ToolDef) -> Registry {
        self.tools.retain(|t| t.name != tool.name);
        self.tools.push(tool);
        self
    }
}

/// A tool as a caller sees it.
#[derive(Clone, Debug, Serialize)]
pub struct ToolView {
    pub name: &'static str,
    pub description: &'static str,
    /// The tier that applies in this organisation (the tool's own, or the raised one).
    pub tier: Tier,
    pub min_role: Role,
    pub input_schema: Value,
    /// What happens when the caller calls it now: `allow`, `ask` or `deny` (rules included).
    pub decision: &'static str,
}

/// A change to one tool's settings in an organisation; `None` fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct SettingsChange {
    pub enabled: Option<bool>,
    pub tier: Option<Tier>,
}

/// What the policy decides on; `arguments` raise the tier of a tool with `tier_for`.
fn facts<'a>(tool: &'a ToolDef, arguments: Option<&Value>) -> ToolFacts<'a> {
    let tier = match (tool.tier_for, arguments) {
        (Some(tier_for), Some(args)) => tier_for(args).max(tool.tier),
        _ => tool.tier,
    };
    ToolFacts {
        name: tool.name,
        tier,
        min_role: tool.min_role,
    }
}

fn attended(role: Role) -> CallContext {
    CallContext {
        role,
        unattended: false,
        injection_suspected: false,
    }
}

/// The arguments as the audit log keeps them: personal data and secrets redacted.
pub(crate) fn guarded(arguments: &Value) -> Value {
    let text = arguments.to_string();
    let policy = switchboard_guard::Policy::default();
    match switchboard_guard::redact(
        switchboard_guard::scanner(),
        &text,
        &policy,
        &mut switchboard_guard::Placeholders::new(),
    ) {
        Ok(redacted) => {
            serde_json::from_str(&redacted.text).unwrap_or(Value::String(redacted.text))
        }
        Err(_) => json!("[withheld: the guard refused these arguments]"),
    }
}

impl App {
    /// The organisation's tool settings and rules (defaults when it never saved any).
    /// The organisation's tool policy for deciding calls (read through [`crate::cache`]: a
    /// change through another hub process counts within a second).
    pub(crate) async fn tool_policy(&self, org: OrgId) -> Result<OrgPolicy, ToolError> {
        let stamp = self.tool_policies.stamp(0);
        if let Some(policy) = self.tool_policies.get(&org, stamp) {
            return Ok(policy);
        }
        let policy = self.stored_tool_policy(org).await?;
        self.tool_policies.put(org, policy.clone(), stamp);
        Ok(policy)
    }

    /// The organisation's tool policy as stored now (to change it).
    pub(crate) async fn stored_tool_policy(&self, org: OrgId) -> Result<OrgPolicy, ToolError> {
        match self
            .store
            .tool_policy
            .policy(org)
            .await
            .map_err(|e| ToolError::Internal(e.to_string()))?
        {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| ToolError::Internal(e.to_string()))
            }
            None => Ok(OrgPolicy::default()),
        }
    }

    async fn save_tool_policy(&self, org: OrgId, policy: &OrgPolicy) -> Result<(), ToolError> {
        let text = serde_json::to_string(policy).map_err(|e| ToolError::Internal(e.to_string()))?;
        self.store
            .tool_policy
            .save_policy(org, &text, self.clock.now())
            .await
            .map_err(|e| ToolError::Internal(e.to_string()))?;
        self.tool_policies.invalidate();
        Ok(())
    }

    /// The tools the caller may see (enabled, role permitting), with the decision a call
    /// would get now.
    pub async fn list_tools(&self, principal: &Principal) -> Result<Vec<ToolView>, ToolError> {
        let access = principal.tenant(Role::Viewer)?;
        let policy = self.tool_policy(access.org.id).await?;
        self.list_tools_under(principal, &policy)
    }

    /// [`App::list_tools`] with the organisation's policy already read (the runtime reads it
    /// once per model call, for the tools it offers and the calls that come back).
    pub(crate) fn list_tools_under(
        &self,
        principal: &Principal,
        policy: &OrgPolicy,
    ) -> Result<Vec<ToolView>, ToolError> {
        let access = principal.tenant(Role::Viewer)?;
        Ok(self
            .tools
            .all()
            .iter()
            .filter_map(|tool| {
                let settings = policy.tools.get(tool.name).copied().unwrap_or_default();
                if !settings.enabled || !access.role.at_least(tool.min_role) {
                    return None;
                }
                let decision = decide(Some(facts(tool, None)), policy, &attended(access.role));
                Some(ToolView {
                    name: tool.name,
                    description: tool.description,
                    tier: settings.tier.map_or(tool.tier, |t| t.max(tool.tier)),
                    min_role: tool.min_role,
                    input_schema: tool.input_schema.clone(),
                    decision: decision.effect().as_str(),
                })
            })
            .collect())
    }

    /// Calls a tool for a person or an API key: schema, policy, then the implementation — or,
    /// when the policy asks, an approval request. Every outcome is audited as `tool.call`.
    pub async fn invoke_tool(
        &self,
        principal: &Principal,
        name: &str,
        arguments: Value,
    ) -> Result<Invoked, ToolError> {
        match self.call_tool(principal, name, arguments, false).await? {
            Called::Done(value) => Ok(Invoked::Done(value)),
            Called::Pending { approval_id, .. } => Ok(Invoked::Pending { approval_id }),
            Called::Denied(reason) => Err(ToolError::Denied(reason)),
            Called::Invalid(problems) => Err(ToolError::InvalidArguments(problems)),
            Called::Failed(message) => Err(ToolError::Failed(message)),
        }
    }

    /// One governed call, whoever makes it (the API, MCP, the assistant runtime): the
    /// decision (with `injection_suspected` when the conversation carries a suspected prompt
    /// injection), the schema check, then the implementation or an approval request. Every
    /// outcome is audited as `tool.call`; only internal failures are errors.
    pub async fn call_tool(
        &self,
        principal: &Principal,
        name: &str,
        arguments: Value,
        injection_suspected: bool,
    ) -> Result<Called, ToolError> {
        let access = principal.tenant(Role::Viewer)?;
        let policy = self.tool_policy(access.org.id).await?;
        self.call_tool_under(principal, name, arguments, injection_suspected, &policy)
            .await
    }

    /// [`App::call_tool`] with the organisation's policy already read.
    pub(crate) async fn call_tool_under(
        &self,
        principal: &Principal,
        name: &str,
        arguments: Value,
        injection_suspected: bool,
        policy: &OrgPolicy,
    ) -> Result<Called, ToolError> {
        let access = principal.tenant(Role::Viewer)?;
        let org = access.org.id;
        let tool = self.tools.get(name);
        let context = CallContext {
            injection_suspected,
            ..attended(access.role)
        };
        let decision = decide(tool.map(|t| facts(t, Some(&arguments))), policy, &context);
        let audit = |decision: &str, outcome: Value| NewEvent {
            org,
            actor: principal.actor(),
            kind: "tool.call".to_owned(),
            target: Some(name.to_owned()),
            decision: Some(decision.to_owned()),
            details: json!({
                "tool": name,
                "tier": tool.map(|t| t.tier.as_str()),
                "arguments": guarded(&arguments),
                "outcome": outcome,
            }),
        };
        let record = |event: NewEvent| async move {
            self.audit
                .record(event)
                .await
                .map_err(|e| ToolError::Internal(e.to_string()))
        };
        // Unknown tools and denials are refused before the arguments are looked at.
        let tool = match (tool, &decision) {
            (Some(tool), Decision::Allow { .. } | Decision::Ask { .. }) => tool,
            (_, d) => {
                let reason = d.reason().to_owned();
                record(audit("deny", json!({"reason": reason}))).await?;
                return Ok(Called::Denied(reason));
            }
        };
        let mut problems = schema::validate(&tool.input_schema, &arguments);
        if let (true, Some(check)) = (problems.is_empty(), tool.check) {
            problems = check(&arguments);
        }
        if !problems.is_empty() {
            record(audit(
                "invalid_arguments",
                json!({"problems": problems.clone()}),
            ))
            .await?;
            return Ok(Called::Invalid(problems));
        }
        if let Decision::Ask {
            tier,
            approver,
            four_eyes,
            reason,
        } = decision
        {
            let asked = approvals::Asked {
                tool: tool.name,
                arguments: arguments.clone(),
                tier,
                approver,
                four_eyes,
                reason: reason.clone(),
            };
            let approval_id = self.request_approval(principal, org, asked).await?;
            record(audit(
                "ask",
                json!({"reason": reason, "approval_id": approval_id.to_string()}),
            ))
            .await?;
            return Ok(Called::Pending { approval_id, tier });
        }
        let result = (tool.run)(self, principal, arguments.clone()).await;
        let outcome = match &result {
            Ok(_) => json!({"reason": decision.reason(), "ok": true}),
            Err(e) => json!({"reason": decision.reason(), "ok": false, "error": e.0}),
        };
        record(audit("allow", outcome)).await?;
        Ok(match result {
            Ok(value) => Called::Done(value),
            Err(e) => Called::Failed(e.0),
        })
    }

    /// Enables or disables a tool, or raises its tier, for the admin's organisation.
    pub async fn update_tool_settings(
        &self,
        principal: &Principal,
        name: &str,
        change: SettingsChange,
    ) -> Result<ToolSettings, ToolError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let tool = self
            .tools
            .get(name)
            .ok_or(ToolError::Identity(IdentityError::NotFound))?;
        if let Some(tier) = change.tier {
            if tier < tool.tier {
                return Err(ToolError::InvalidArguments(vec![format!(
                    "`tier` can only be raised: {} is {}",
                    tool.name, tool.tier
                )]));
            }
        }
        let mut policy = self.stored_tool_policy(org).await?;
        let settings = policy.tools.entry(name.to_owned()).or_default();
        if let Some(enabled) = change.enabled {
            settings.enabled = enabled;
        }
        if let Some(tier) = change.tier {
            settings.tier = (tier > tool.tier).then_some(tier);
        }
        let saved = *settings;
        if saved == ToolSettings::default() {
            policy.tools.remove(name);
        }
        self.save_tool_policy(org, &policy).await?;
        self.audit
            .record(NewEvent {
                org,
                actor: principal.actor(),
                kind: "admin.tool_settings_changed".to_owned(),
                target: Some(name.to_owned()),
                decision: Some("ok".to_owned()),
                details: json!({"enabled": saved.enabled, "tier": saved.tier.map(Tier::as_str)}),
            })
            .await
            .map_err(|e| ToolError::Internal(e.to_string()))?;
        Ok(saved)
    }

    /// The organisation's tool rules (admins).
    pub async fn tool_rules(
        &self,
        principal: &Principal,
    ) -> Result<Vec<switchboard_domain::Rule>, ToolError> {
        let access = principal.tenant(Role::Admin)?;
        Ok(self.tool_policy(access.org.id).await?.rules)
    }

    /// Replaces the organisation's tool rules (glob → allow / ask / deny).
    pub async fn set_tool_rules(
        &self,
        principal: &Principal,
        rules: Vec<switchboard_domain::Rule>,
    ) -> Result<(), ToolError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let problems: Vec<String> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.pattern.trim().is_empty()
                    || r.pattern.len() > 200
                    || !r
                        .pattern
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-*?".contains(c))
            })
            .map(|(i, _)| {
                format!("`rules[{i}].pattern` must be 1–200 of letters, digits, . _ - * ?")
            })
            .collect();
        if !problems.is_empty() || rules.len() > 200 {
            let mut problems = problems;
            if rules.len() > 200 {
                problems.push("at most 200 rules".to_owned());
            }
            return Err(ToolError::InvalidArguments(problems));
        }
        let mut policy = self.stored_tool_policy(org).await?;
        policy.rules = rules;
        self.save_tool_policy(org, &policy).await?;
        self.audit
            .record(NewEvent {
                org,
                actor: principal.actor(),
                kind: "admin.tool_rules_changed".to_owned(),
                target: None,
                decision: Some("ok".to_owned()),
                details: json!({"rules": policy.rules}),
            })
            .await
            .map_err(|e| ToolError::Internal(e.to_string()))?;
        Ok(())
    }
}
