//! Approval requests (DESIGN 4.3): a tool call the policy asks a human about is stored with
//! the exact arguments, the requester, the tier, the approver role and an expiry; an approver
//! (not the requester, for T4) approves or denies it; a background worker — in any hub
//! process — expires what ran out of time (a denial) and runs what was approved, as the
//! requester, recording the result. Every step is an audit event.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use switchboard_domain::{ApprovalId, ApprovalStatus, OrgId, Role, Tier};
use switchboard_store::approvals::{ApprovalDecision, ApprovalRecord};
use tokio_util::sync::CancellationToken;

use super::{guarded, ToolError};
use crate::audit::{Actor, NewEvent};
use crate::identity::{Credential, IdentityError, Principal};
use crate::App;

/// How long a request waits for a decision unless configured otherwise.
pub const DEFAULT_TTL: chrono::Duration = chrono::Duration::hours(1);

/// A waiting time in seconds (from the configuration) as a duration.
pub fn ttl_seconds(seconds: i64) -> chrono::Duration {
    chrono::Duration::try_seconds(seconds).unwrap_or(DEFAULT_TTL)
}
/// How often the worker looks for expired and approved requests (it is also woken at once
/// when a decision is made in this process).
const TICK: Duration = Duration::from_millis(500);
/// A claim older than this belongs to a process that stopped; another one takes over.
const STALE_CLAIM: chrono::Duration = chrono::Duration::minutes(5);

/// An approval request as callers see it.
#[derive(Clone, Debug, Serialize)]
pub struct ApprovalView {
    pub id: String,
    pub status: String,
    pub tool: String,
    /// The arguments as approvers see them (guarded).
    pub arguments: Value,
    pub tier: String,
    /// The role an approver needs.
    pub approver_role: String,
    /// The approver may not be the requester.
    pub four_eyes: bool,
    /// Why the policy asked.
    pub reason: String,
    /// The user or API key id that asked.
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    pub created_at: String,
    pub expires_at: String,
}

fn view(r: &ApprovalRecord) -> ApprovalView {
    let json = |s: &str| serde_json::from_str(s).unwrap_or(Value::String(s.to_owned()));
    ApprovalView {
        id: r.id.to_string(),
        status: r.status.clone(),
        tool: r.tool.clone(),
        arguments: json(&r.shown_arguments),
        tier: r.tier.clone(),
        approver_role: r.approver_role.clone(),
        four_eyes: r.four_eyes,
        reason: r.reason.clone(),
        requested_by: r.requester_id.clone(),
        decided_by: r.decided_by.clone(),
        decision_reason: r.decision_reason.clone(),
        result: r.result.as_deref().map(json),
        created_at: r.created_at.to_rfc3339(),
        expires_at: r.expires_at.to_rfc3339(),
    }
}

fn internal(e: impl std::fmt::Display) -> ToolError {
    ToolError::Internal(e.to_string())
}

/// Who asked, as stored: (`user` | `api_key`, id).
fn requester_of(principal: &Principal) -> (&'static str, String) {
    match (&principal.credential, principal.user_id()) {
        (Credential::ApiKey(id), _) => ("api_key", id.to_string()),
        (_, Some(user)) => ("user", user.to_string()),
        (Credential::Session(id), None) => ("user", id.to_string()),
        (Credential::Approval(id), None) => ("user", id.to_string()),
        (Credential::Run(id), None) => ("user", id.to_string()),
    }
}

/// What the approval gives the tool call that asked for it.
pub(super) struct Asked {
    pub tool: &'static str,
    pub arguments: Value,
    pub tier: Tier,
    pub approver: Role,
    pub four_eyes: bool,
    pub reason: String,
}

impl App {
    async fn note(
        &self,
        org: OrgId,
        actor: Actor,
        kind: &str,
        id: ApprovalId,
        details: Value,
    ) -> Result<(), ToolError> {
        self.audit
            .record(NewEvent {
                org,
                actor,
                kind: kind.to_owned(),
                target: Some(id.to_string()),
                decision: Some("ok".to_owned()),
                details,
            })
            .await
            .map(|_| ())
            .map_err(internal)
    }

    /// Stores a request for the call and tells approvers (audit event `approval.requested`).
    pub(super) async fn request_approval(
        &self,
        principal: &Principal,
        org: OrgId,
        asked: Asked,
    ) -> Result<ApprovalId, ToolError> {
        let now = self.clock.now();
        let id = ApprovalId::generate(self.clock.as_ref());
        let (kind, requester) = requester_of(principal);
        let shown = guarded(&asked.arguments);
        let record = ApprovalRecord {
            id,
            org_id: org,
            tool: asked.tool.to_owned(),
            arguments: asked.arguments.to_string(),
            shown_arguments: shown.to_string(),
            tier: asked.tier.as_str().to_owned(),
            approver_role: asked.approver.as_str().to_owned(),
            four_eyes: asked.four_eyes,
            reason: asked.reason.clone(),
            requester_kind: kind.to_owned(),
            requester_id: requester,
            status: ApprovalStatus::Pending.as_str().to_owned(),
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            result: None,
            created_at: now,
            expires_at: now + self.approval_ttl,
            claimed_at: None,
            finished_at: None,
        };
        self.store
            .approvals
            .insert(&record)
            .await
            .map_err(internal)?;
        self.note(
            org,
            principal.actor(),
            "approval.requested",
            id,
            json!({"tool": asked.tool, "tier": asked.tier.as_str(), "arguments": shown,
                   "reason": asked.reason, "expires_at": record.expires_at.to_rfc3339()}),
        )
        .await?;
        let shown = view(&record);
        self.notify(
            org,
            "approval.requested",
            format!(
                "Approval needed: {} ({}) — {}. Decide under Approvals in Switchboard.",
                record.tool, record.tier, record.reason
            ),
            serde_json::to_value(&shown).unwrap_or_default(),
        )
        .await;
        self.email_approvers(org, &shown);
        Ok(id)
    }

    /// The organisation's approval requests, newest first (any member).
    pub async fn list_approvals(
        &self,
        principal: &Principal,
        status: Option<ApprovalStatus>,
    ) -> Result<Vec<ApprovalView>, ToolError> {
        let access = principal.tenant(Role::Viewer)?;
        let list = self
            .store
            .approvals
            .list(access.org.id, status.map(ApprovalStatus::as_str), 200)
            .await
            .map_err(internal)?;
        Ok(list.iter().map(view).collect())
    }

    /// How many requests of the caller's organisation wait for a decision (for the console's
    /// badge); 0 without an organisation.
    pub async fn pending_approvals(&self, principal: &Principal) -> u64 {
        let Some(access) = principal.org.as_ref() else {
            return 0;
        };
        self.store
            .approvals
            .count_pending(access.org.id, self.clock.now())
            .await
            .unwrap_or(0)
    }

    /// One approval request of the caller's organisation.
    pub async fn approval(
        &self,
        principal: &Principal,
        id: ApprovalId,
    ) -> Result<ApprovalView, ToolError> {
        let access = principal.tenant(Role::Viewer)?;
        let record = self
            .store
            .approvals
            .get(access.org.id, id)
            .await
            .map_err(internal)?
            .ok_or(ToolError::Identity(IdentityError::NotFound))?;
        Ok(view(&record))
    }

    /// Approves or denies a pending request. The approver needs the request's role; for a
    /// four-eyes request they may not be the requester. An approved call is run by the
    /// worker right after.
    pub async fn decide_approval(
        &self,
        principal: &Principal,
        id: ApprovalId,
        approve: bool,
        reason: Option<String>,
    ) -> Result<ApprovalView, ToolError> {
        let access = principal.tenant(Role::Viewer)?;
        let org = access.org.id;
        let record = self
            .store
            .approvals
            .get(org, id)
            .await
            .map_err(internal)?
            .ok_or(ToolError::Identity(IdentityError::NotFound))?;
        let needed: Role = record.approver_role.parse().unwrap_or(Role::Admin);
        if !access.role.at_least(needed) {
            return Err(IdentityError::Forbidden(
                "Only an admin or owner may decide this request.",
            )
            .into());
        }
        // People decide, not API keys: otherwise a requester could approve their own
        // four-eyes request through a key they made.
        let Some(me) = principal.user_id().map(|u| u.to_string()) else {
            return Err(IdentityError::Forbidden(
                "Approval requests are decided by people: sign in to decide.",
            )
            .into());
        };
        if record.four_eyes && self.requested_by_person(&record, &me).await? {
            return Err(ToolError::FourEyes);
        }
        let status = if approve {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Denied
        };
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        let decided = self
            .store
            .approvals
            .decide(
                org,
                id,
                &ApprovalDecision {
                    status: status.as_str(),
                    by: &me,
                    reason: reason.as_deref(),
                    at: self.clock.now(),
                },
            )
            .await
            .map_err(internal)?;
        if !decided {
            let now = self.clock.now();
            return Err(ToolError::Conflict(
                if record.status == "pending" && record.expires_at <= now {
                    "This request has expired (which counts as denied).".to_owned()
                } else {
                    format!("This request was already decided ({}).", record.status)
                },
            ));
        }
        self.note(
            org,
            principal.actor(),
            if approve {
                "approval.approved"
            } else {
                "approval.denied"
            },
            id,
            json!({"tool": record.tool, "tier": record.tier, "reason": reason}),
        )
        .await?;
        if approve {
            self.approvals_wake.notify_one();
        } else {
            self.runs_wake.notify_one();
        }
        let now = self.approval(principal, id).await?;
        self.notify(
            org,
            if approve {
                "approval.approved"
            } else {
                "approval.denied"
            },
            format!(
                "{} {} ({}).",
                if approve { "Approved:" } else { "Denied:" },
                now.tool,
                now.tier
            ),
            serde_json::to_value(&now).unwrap_or_default(),
        )
        .await;
        Ok(now)
    }

    /// Whether `user` asked for the request: directly, or through an API key they created
    /// (a revoked key's call cannot run, so only live keys matter).
    async fn requested_by_person(
        &self,
        record: &ApprovalRecord,
        user: &str,
    ) -> Result<bool, ToolError> {
        if record.requester_kind == "user" {
            return Ok(record.requester_id == user);
        }
        let keys = self
            .store
            .api_keys
            .list_for_org(record.org_id)
            .await
            .map_err(internal)?;
        Ok(keys.iter().any(|k| {
            k.id.to_string() == record.requester_id
                && k.created_by.is_some_and(|c| c.to_string() == user)
        }))
    }

    /// One pass of the approvals worker: expire what ran out of time, run what was approved.
    /// Returns how many requests it settled.
    pub async fn settle_approvals(&self) -> Result<usize, ToolError> {
        let now = self.clock.now();
        let expired = self
            .store
            .approvals
            .expire_due(now)
            .await
            .map_err(internal)?;
        for r in &expired {
            self.note(
                r.org_id,
                Actor::System,
                "approval.expired",
                r.id,
                json!({"tool": r.tool, "tier": r.tier}),
            )
            .await?;
            self.notify(
                r.org_id,
                "approval.expired",
                format!(
                    "Expired without a decision (denied): {} ({}).",
                    r.tool, r.tier
                ),
                serde_json::to_value(view(r)).unwrap_or_default(),
            )
            .await;
        }
        let claimed = self
            .store
            .approvals
            .claim_approved(now, now - STALE_CLAIM, 20)
            .await
            .map_err(internal)?;
        for r in &claimed {
            self.execute_approved(r).await?;
        }
        if !expired.is_empty() || !claimed.is_empty() {
            self.runs_wake.notify_one();
        }
        Ok(expired.len() + claimed.len())
    }

    /// Runs an approved call as its requester and records the outcome.
    async fn execute_approved(&self, r: &ApprovalRecord) -> Result<(), ToolError> {
        let requester = self
            .identity
            .requester(r.org_id, &r.requester_kind, &r.requester_id, r.id)
            .await
            .map_err(internal)?;
        let tool = self.tools.get(&r.tool);
        let arguments: Value = serde_json::from_str(&r.arguments).unwrap_or(Value::Null);
        let outcome = match (requester, tool) {
            (Some(principal), Some(tool)) => (tool.run)(self, &principal, arguments)
                .await
                .map_err(|e| e.0),
            (None, _) => {
                Err("the requester is no longer a member (or the key was revoked)".to_owned())
            }
            (_, None) => Err("the tool no longer exists".to_owned()),
        };
        let (status, result) = match &outcome {
            Ok(value) => (ApprovalStatus::Executed, value.clone()),
            Err(message) => (ApprovalStatus::Failed, json!({"error": message})),
        };
        let now = self.clock.now();
        self.store
            .approvals
            .finish(r.id, status.as_str(), &result.to_string(), now)
            .await
            .map_err(internal)?;
        self.note(
            r.org_id,
            Actor::System,
            if outcome.is_ok() {
                "approval.executed"
            } else {
                "approval.failed"
            },
            r.id,
            json!({"tool": r.tool, "ok": outcome.is_ok(), "error": outcome.as_ref().err()}),
        )
        .await?;
        let event = if outcome.is_ok() {
            "approval.executed"
        } else {
            "approval.failed"
        };
        self.notify(
            r.org_id,
            event,
            match &outcome {
                Ok(_) => format!("Done: {} ran after approval.", r.tool),
                Err(e) => format!("Failed after approval: {} — {e}.", r.tool),
            },
            json!({"id": r.id.to_string(), "tool": r.tool, "status": status.as_str()}),
        )
        .await;
        Ok(())
    }

    /// Starts the approvals worker under the supervisor (stopped on shutdown).
    pub fn start_approvals(self: &Arc<App>) {
        let app = self.clone();
        self.workers
            .spawn("approvals", move |shutdown: CancellationToken| async move {
                loop {
                    if let Err(e) = app.settle_approvals().await {
                        tracing::error!(error = %e, "settling approvals failed");
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = app.approvals_wake.notified() => {}
                        () = tokio::time::sleep(TICK) => {}
                    }
                }
            });
    }
}
