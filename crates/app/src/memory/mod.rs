//! The assistant's memory (DESIGN 4.8): facts it may remember, recall and forget, for the
//! whole organisation or for one person. The same fact is kept once per scope (by a hash of
//! its normalised text); text in which the guard finds a credential is refused; recall is by
//! full text, ranked, over the organisation's facts and the caller's own.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use switchboard_domain::{MemoryId, Role};
use switchboard_store::MemoryRecord;

use crate::audit::NewEvent;
use crate::identity::{IdentityError, Principal};
use crate::workspace::WorkspaceError;
use crate::App;

const MAX_CONTENT: usize = 2_000;
const MAX_RESULTS: u32 = 50;
/// The scope key of organisation-wide facts (a person's is their user id).
const ORG: &str = "org";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryInput {
    pub content: String,
    /// `user` (the default for people: only they and the assistant working for them see it)
    /// or `organization` (everyone in it; members and up; the default for API keys).
    pub scope: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemoryView {
    pub id: String,
    pub content: String,
    /// `organization` or `user`.
    pub scope: String,
    pub created_at: String,
    /// Rank in a search (higher is better).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// What `remember` did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Remembered {
    #[serde(flatten)]
    pub memory: MemoryView,
    /// `false`: the same fact was already remembered in this scope.
    pub new: bool,
}

fn view(m: &MemoryRecord, score: Option<f64>) -> MemoryView {
    MemoryView {
        id: m.id.to_string(),
        content: m.content.clone(),
        scope: if m.scope_key == ORG {
            "organization"
        } else {
            "user"
        }
        .to_owned(),
        created_at: m.created_at.to_rfc3339(),
        score,
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> WorkspaceError {
    WorkspaceError::Invalid {
        field,
        message: message.into(),
    }
}

/// The hash that makes two spellings of one fact the same: case and spacing do not count.
fn content_hash(content: &str) -> Vec<u8> {
    let normal = content
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    Sha256::digest(normal.as_bytes()).to_vec()
}

impl App {
    /// The scopes the caller may read: the organisation's, and their own.
    fn memory_scopes(principal: &Principal) -> Vec<String> {
        let mut scopes = vec![ORG.to_owned()];
        if let Some(user) = principal.user_id() {
            scopes.push(user.to_string());
        }
        scopes
    }

    /// Remembers a fact (see [`MemoryInput`]); refuses text with credentials in it.
    pub async fn remember(
        &self,
        principal: &Principal,
        input: MemoryInput,
    ) -> Result<Remembered, WorkspaceError> {
        let access = principal.tenant(Role::Viewer)?;
        let org = access.org.id;
        let content = input
            .content
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if content.is_empty() || content.chars().count() > MAX_CONTENT {
            return Err(invalid(
                "content",
                format!("`content` must be 1–{MAX_CONTENT} characters."),
            ));
        }
        let user = principal.user_id();
        let scope = match (input.scope.as_deref(), user) {
            (Some("organization"), _) | (None, None) => ORG.to_owned(),
            (Some("user") | None, Some(user)) => user.to_string(),
            (Some("user"), None) => {
                return Err(invalid(
                    "scope",
                    "An API key has no personal memory; use `organization`.",
                ))
            }
            (Some(_), _) => return Err(invalid("scope", "`scope` is `user` or `organization`.")),
        };
        if scope == ORG && !access.role.at_least(Role::Member) {
            return Err(IdentityError::Forbidden(
                "Members and up remember facts for the whole organisation.",
            )
            .into());
        }
        let findings = switchboard_guard::scanner()
            .scan(&content)
            .map_err(|e| invalid("content", e.to_string()))?;
        if let Some(f) = findings.iter().find(|f| f.kind.is_credential()) {
            return Err(invalid(
                "content",
                format!(
                    "This looks like it holds a credential ({}); memories must not keep secrets. \
                     Store it in the vault instead.",
                    f.kind.as_str()
                ),
            ));
        }
        let (actor_kind, actor_id) = principal.actor().parts();
        let record = MemoryRecord {
            id: MemoryId::generate(self.clock.as_ref()),
            org_id: org,
            user_id: if scope == ORG { None } else { user },
            scope_key: scope,
            content_hash: content_hash(&content),
            content,
            actor_kind: actor_kind.to_owned(),
            actor_id,
            created_at: self.clock.now(),
        };
        let (stored, new) = self.store.memory.remember(&record).await?;
        if new {
            self.memory_audit(principal, &stored, "memory.remembered")
                .await?;
        }
        Ok(Remembered {
            memory: view(&stored, None),
            new,
        })
    }

    /// Facts whose words match `q`, best first (the organisation's and the caller's own).
    pub async fn recall(
        &self,
        principal: &Principal,
        q: &str,
        limit: Option<u32>,
    ) -> Result<Vec<MemoryView>, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let q = q.trim();
        if q.is_empty() || q.chars().count() > 500 {
            return Err(invalid("q", "`q` must be 1–500 characters."));
        }
        let limit = limit.unwrap_or(10).clamp(1, MAX_RESULTS);
        let hits = self
            .store
            .memory
            .search(org, &Self::memory_scopes(principal), &[q.to_owned()], limit)
            .await?;
        Ok(hits
            .iter()
            .map(|h| view(&h.memory, Some(h.score)))
            .collect())
    }

    /// The facts the caller can see, newest first.
    pub async fn memories(&self, principal: &Principal) -> Result<Vec<MemoryView>, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let list = self
            .store
            .memory
            .list(org, &Self::memory_scopes(principal), 200)
            .await?;
        Ok(list.iter().map(|m| view(m, None)).collect())
    }

    /// Forgets a fact: one's own, or (admins) an organisation-wide one.
    pub async fn forget(&self, principal: &Principal, id: &str) -> Result<(), WorkspaceError> {
        let access = principal.tenant(Role::Viewer)?;
        let org = access.org.id;
        let id: MemoryId = id.parse().map_err(|_| IdentityError::NotFound)?;
        let record = self
            .store
            .memory
            .get(org, id)
            .await?
            .filter(|m| Self::memory_scopes(principal).contains(&m.scope_key))
            .ok_or(IdentityError::NotFound)?;
        if record.scope_key == ORG && !access.role.at_least(Role::Admin) {
            return Err(
                IdentityError::Forbidden("Only admins forget the organisation's facts.").into(),
            );
        }
        self.store.memory.forget(org, id).await?;
        self.memory_audit(principal, &record, "memory.forgotten")
            .await
    }

    async fn memory_audit(
        &self,
        principal: &Principal,
        m: &MemoryRecord,
        kind: &str,
    ) -> Result<(), WorkspaceError> {
        self.audit
            .record(NewEvent {
                org: m.org_id,
                actor: principal.actor(),
                kind: kind.to_owned(),
                target: Some(m.id.to_string()),
                decision: Some("ok".to_owned()),
                details: json!({
                    "scope": if m.scope_key == ORG { "organization" } else { "user" },
                    "characters": m.content.chars().count(),
                }),
            })
            .await
            .map(|_| ())
            .map_err(|e| WorkspaceError::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spacing_do_not_make_a_new_fact() {
        assert_eq!(
            content_hash("The  printer is\tBROTHER"),
            content_hash("the printer is brother")
        );
        assert_ne!(
            content_hash("the printer is brother"),
            content_hash("the printer is canon")
        );
    }
}
