//! Outbound notifications: each organisation's webhooks (Slack-compatible JSON, signed with
//! HMAC-SHA256) and a durable delivery queue with retries and backoff, worked by a background
//! worker in every hub process.
//!
//! A delivery's body is `{"text", "event", "data", "sent_at"}`: Slack and Mattermost incoming
//! webhooks show `text`; other receivers read `event` and `data`. Headers:
//! `x-switchboard-event`, `x-switchboard-delivery` (its id, for de-duplication) and
//! `x-switchboard-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
//! webhook's secret.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use switchboard_domain::{DeliveryId, OrgId, Role, WebhookId};
use switchboard_store::webhooks::{DeliveryRecord, WebhookRecord};
use tokio_util::sync::CancellationToken;

use crate::audit::NewEvent;
use crate::identity::{IdentityError, Principal};
use crate::net::{check_tenant_url, UrlProblem};
use crate::App;

/// The vault purpose of webhook signing secrets.
const SECRET_PURPOSE: &str = "webhook-signing";
/// Attempts before a delivery is given up (backoff 1 s, 2 s, 4 s … capped at one hour).
pub const MAX_ATTEMPTS: i32 = 10;
const MAX_BACKOFF_SECS: i64 = 3600;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the worker looks for due deliveries (it is also woken when one is queued).
const TICK: Duration = Duration::from_secs(1);
/// A claim older than this belongs to a process that stopped.
const STALE_CLAIM: chrono::Duration = chrono::Duration::minutes(2);
/// Webhooks per organisation.
const MAX_WEBHOOKS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("internal: {0}")]
    Internal(String),
}

fn internal(e: impl std::fmt::Display) -> NotifyError {
    NotifyError::Internal(e.to_string())
}

/// A webhook as admins see it (never the secret).
#[derive(Clone, Debug, Serialize)]
pub struct WebhookView {
    pub id: String,
    pub name: String,
    pub url: String,
    pub created_at: String,
}

fn view(w: &WebhookRecord) -> WebhookView {
    WebhookView {
        id: w.id.to_string(),
        name: w.name.clone(),
        url: w.url.clone(),
        created_at: w.created_at.to_rfc3339(),
    }
}

/// A new webhook: `secret` signs its deliveries; it is shown this once.
#[derive(Clone, Debug)]
pub struct CreatedWebhook {
    pub webhook: WebhookView,
    pub secret: String,
}

/// One delivery as admins see it.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// `t=<unix>,v1=<hex>`: the signature of `body` sent at `t` with `secret`.
pub fn signature(secret: &[u8], t: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Seconds to wait after `attempts` failed attempts.
fn backoff_secs(attempts: i32) -> i64 {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    (1i64 << exponent).min(MAX_BACKOFF_SECS)
}

impl App {
    /// Adds a webhook to the admin's organisation; the signing secret is shown once.
    pub async fn create_webhook(
        &self,
        principal: &Principal,
        name: &str,
        url: &str,
    ) -> Result<CreatedWebhook, NotifyError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(NotifyError::Invalid {
                field: "name",
                message: "Give the webhook a name of 1 to 100 characters.".into(),
            });
        }
        let url = url.trim();
        if url.len() > 2000 {
            return Err(NotifyError::Invalid {
                field: "url",
                message: "The URL is too long.".into(),
            });
        }
        check_tenant_url(url, false, &self.webhook_allow_hosts).map_err(|p| {
            NotifyError::Invalid {
                field: "url",
                message: match p {
                    UrlProblem::NotHttp => "The URL must start with https:// or http://.",
                    UrlProblem::NoHost => "The URL has no host.",
                    UrlProblem::Private => {
                        "Webhooks to loopback or private addresses need the operator to allow \
                         the host (notify.webhook_allow_hosts)."
                    }
                }
                .into(),
            }
        })?;
        let existing = self.store.webhooks.list(org).await.map_err(internal)?;
        if existing.len() >= MAX_WEBHOOKS {
            return Err(NotifyError::Invalid {
                field: "url",
                message: format!("An organisation can have at most {MAX_WEBHOOKS} webhooks."),
            });
        }
        let secret = format!("whsec_{}", crate::identity::token::random_token());
        let secret_id = self
            .secrets
            .seal(Some(org), SECRET_PURPOSE, secret.as_bytes())
            .await
            .map_err(internal)?;
        let record = WebhookRecord {
            id: WebhookId::generate(self.clock.as_ref()),
            org_id: org,
            name: name.to_owned(),
            url: url.to_owned(),
            secret_id,
            created_at: self.clock.now(),
        };
        self.store
            .webhooks
            .insert(&record)
            .await
            .map_err(internal)?;
        self.audit
            .record(NewEvent {
                org,
                actor: principal.actor(),
                kind: "admin.webhook_created".into(),
                target: Some(record.id.to_string()),
                decision: Some("ok".into()),
                details: json!({"name": record.name, "url": record.url}),
            })
            .await
            .map_err(internal)?;
        Ok(CreatedWebhook {
            webhook: view(&record),
            secret,
        })
    }

    pub async fn list_webhooks(
        &self,
        principal: &Principal,
    ) -> Result<Vec<WebhookView>, NotifyError> {
        let access = principal.tenant(Role::Admin)?;
        let list = self
            .store
            .webhooks
            .list(access.org.id)
            .await
            .map_err(internal)?;
        Ok(list.iter().map(view).collect())
    }

    /// Removes a webhook, its queued deliveries and its secret.
    pub async fn delete_webhook(
        &self,
        principal: &Principal,
        id: WebhookId,
    ) -> Result<(), NotifyError> {
        let access = principal.tenant(Role::Admin)?;
        let org = access.org.id;
        let gone = self
            .store
            .webhooks
            .delete(org, id)
            .await
            .map_err(internal)?
            .ok_or(NotifyError::Identity(IdentityError::NotFound))?;
        if let Err(e) = self.store.secrets.delete(gone.secret_id).await {
            tracing::warn!(error = %e, "a deleted webhook's secret stays in the vault");
        }
        self.audit
            .record(NewEvent {
                org,
                actor: principal.actor(),
                kind: "admin.webhook_deleted".into(),
                target: Some(id.to_string()),
                decision: Some("ok".into()),
                details: json!({"name": gone.name, "url": gone.url}),
            })
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// The latest deliveries to one webhook, newest first.
    pub async fn webhook_deliveries(
        &self,
        principal: &Principal,
        id: WebhookId,
    ) -> Result<Vec<DeliveryView>, NotifyError> {
        let access = principal.tenant(Role::Admin)?;
        let ours = self
            .store
            .webhooks
            .list(access.org.id)
            .await
            .map_err(internal)?;
        if !ours.iter().any(|w| w.id == id) {
            return Err(IdentityError::NotFound.into());
        }
        let list = self
            .store
            .webhooks
            .deliveries(access.org.id, id, 50)
            .await
            .map_err(internal)?;
        Ok(list
            .iter()
            .map(|d| DeliveryView {
                id: d.id.to_string(),
                event: d.event.clone(),
                status: d.status.clone(),
                attempts: d.attempts,
                last_error: d.last_error.clone(),
                created_at: d.created_at.to_rfc3339(),
                delivered_at: d.delivered_at.map(|t| t.to_rfc3339()),
            })
            .collect())
    }

    /// Queues `event` for every webhook of the organisation. A failure to queue is logged,
    /// never fails the action that caused it.
    pub async fn notify(&self, org: OrgId, event: &str, text: String, data: Value) {
        let hooks = match self.store.webhooks.list(org).await {
            Ok(hooks) => hooks,
            Err(e) => {
                tracing::error!(error = %e, event, "could not read webhooks");
                return;
            }
        };
        if hooks.is_empty() {
            return;
        }
        let now = self.clock.now();
        let body = json!({"text": text, "event": event, "data": data, "sent_at": now.to_rfc3339()})
            .to_string();
        let deliveries: Vec<DeliveryRecord> = hooks
            .iter()
            .map(|h| DeliveryRecord {
                id: DeliveryId::generate(self.clock.as_ref()),
                org_id: org,
                webhook_id: h.id,
                event: event.to_owned(),
                body: body.clone(),
                status: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                claimed_at: None,
                last_error: None,
                created_at: now,
                delivered_at: None,
            })
            .collect();
        match self.store.webhooks.enqueue(&deliveries).await {
            Ok(()) => self.notify_wake.notify_one(),
            Err(e) => tracing::error!(error = %e, event, "could not queue webhook deliveries"),
        }
    }

    /// Emails a new approval request to the people who may decide it (admins and owners,
    /// without the requester of a four-eyes request), when SMTP is configured. In the
    /// background, one attempt each: the console badge and the webhooks are the durable
    /// channels; a failure is logged.
    pub fn email_approvers(&self, org: OrgId, approval: &crate::tools::approvals::ApprovalView) {
        let Some(mail) = self.identity.mail().cloned() else {
            return;
        };
        let app = self.clone();
        let approval = approval.clone();
        self.workers
            .spawn("approval-email", move |_shutdown| async move {
                let needed: Role = approval.approver_role.parse().unwrap_or(Role::Admin);
                let members = match app.store.memberships.list_for_org(org).await {
                    Ok(members) => members,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not list approvers to email");
                        return;
                    }
                };
                let org_name = match app.store.orgs.get(org).await {
                    Ok(Some(o)) => o.name,
                    _ => "your organisation".to_owned(),
                };
                let subject = format!("Approval needed: {} ({})", approval.tool, approval.tier);
                let body = format!(
                    "The assistant or a script in {org_name} wants to run {tool} ({tier}).\n\
                 Why it asks: {reason}.\n\nDecide in Switchboard (the request expires at \
                 {expires}, which counts as denied):\n{base}/approvals\n",
                    tool = approval.tool,
                    tier = approval.tier,
                    reason = approval.reason,
                    expires = approval.expires_at,
                    base = mail.public_url.trim_end_matches('/'),
                );
                let date = app.clock.now().to_rfc2822();
                for m in members.iter().filter(|m| m.role.at_least(needed)) {
                    if approval.four_eyes && m.user_id.to_string() == approval.requested_by {
                        continue;
                    }
                    let Ok(Some(user)) = app.store.users.get(m.user_id).await else {
                        continue;
                    };
                    let message = crate::mail::Message {
                        to: &user.email,
                        subject: &subject,
                        body: &body,
                    };
                    if let Err(e) = mail.mailer.send(&message, &date).await {
                        tracing::warn!(error = %e, "could not email an approval request");
                    }
                }
            });
    }

    /// One pass of the delivery worker: sends what is due; returns how many it attempted.
    pub async fn deliver_due(&self, client: &reqwest::Client) -> Result<usize, NotifyError> {
        let now = self.clock.now();
        let due = self
            .store
            .webhooks
            .claim_due(now, now - STALE_CLAIM, 20)
            .await
            .map_err(internal)?;
        for delivery in &due {
            let outcome = self.attempt(client, delivery).await;
            let attempts = delivery.attempts + 1;
            let at = self.clock.now();
            let (status, next, error) = match outcome {
                Ok(()) => ("delivered", at, None),
                Err(e) if attempts >= MAX_ATTEMPTS => ("failed", at, Some(e)),
                Err(e) => (
                    "pending",
                    at + chrono::Duration::seconds(backoff_secs(attempts)),
                    Some(e),
                ),
            };
            if let Some(e) = &error {
                tracing::warn!(delivery = %delivery.id, attempts, error = %e, "webhook delivery failed");
            }
            self.store
                .webhooks
                .attempted(delivery.id, status, attempts, next, error.as_deref(), at)
                .await
                .map_err(internal)?;
        }
        Ok(due.len())
    }

    async fn attempt(&self, client: &reqwest::Client, d: &DeliveryRecord) -> Result<(), String> {
        let hook = self
            .store
            .webhooks
            .get_by_id(d.webhook_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the webhook was removed")?;
        // The operator may have narrowed the allowed hosts since the webhook was added.
        check_tenant_url(&hook.url, false, &self.webhook_allow_hosts)
            .map_err(|_| "the URL is no longer allowed".to_owned())?;
        let secret = self
            .secrets
            .open(hook.secret_id, Some(hook.org_id), SECRET_PURPOSE)
            .await
            .map_err(|e| e.to_string())?;
        let t = self.clock.now().timestamp();
        let response = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("Switchboard/", env!("CARGO_PKG_VERSION")),
            )
            .header("x-switchboard-event", &d.event)
            .header("x-switchboard-delivery", d.id.to_string())
            .header("x-switchboard-signature", signature(&secret, t, &d.body))
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| format!("could not reach the webhook: {e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {status}"))
        }
    }

    /// Starts the webhook delivery worker under the supervisor (stopped on shutdown).
    pub fn start_notifications(self: &Arc<App>) {
        let app = self.clone();
        self.workers
            .spawn("webhooks", move |shutdown: CancellationToken| async move {
                let client = match reqwest::Client::builder()
                    .timeout(ATTEMPT_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                {
                    Ok(client) => client,
                    Err(e) => {
                        tracing::error!(error = %e, "webhook client failed to start");
                        return;
                    }
                };
                loop {
                    match app.deliver_due(&client).await {
                        // More may be due: go again at once.
                        Ok(n) if n > 0 => continue,
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "delivering webhooks failed"),
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = app.notify_wake.notified() => {}
                        () = tokio::time::sleep(TICK) => {}
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_time_and_body() {
        // Reference value from `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test`.
        let sig = signature(b"whsec_test", 1_700_000_000, r#"{"a":1}"#);
        assert_eq!(
            sig,
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(sig, signature(b"whsec_other", 1_700_000_000, r#"{"a":1}"#));
        assert_ne!(sig, signature(b"whsec_test", 1_700_000_001, r#"{"a":1}"#));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(
            (1..=5).map(backoff_secs).collect::<Vec<_>>(),
            [1, 2, 4, 8, 16]
        );
        assert_eq!(backoff_secs(30), 3600);
    }
}
