//! The assistant's memory (DESIGN 4.8): facts it may remember, recall and forget, for the
//! whole organisation or for one person. The same fact is kept once per scope (by a hash of
//! its normalised text); text in which the guard finds a credential is refused; recall is by
//! full text, ranked, over the organisation's facts and the caller's own — and, when the
//! organisation has an embeddings model, also by cosine similarity of stored vectors, the two
//! rankings merged by reciprocal rank fusion (`rrf`).

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
/// How many candidates each ranking gives the fusion.
const CANDIDATES: u32 = 50;
/// The most stored vectors one recall compares (newest first).
const MAX_COMPARED: u32 = 10_000;
/// Below this cosine similarity a fact does not count as meaning the same.
pub const MIN_SIMILARITY: f64 = 0.25;
/// The `k` of reciprocal rank fusion: score = Σ 1 / (k + rank).
const RRF_K: f64 = 60.0;
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
    /// In a search: what found it — `words`, `meaning` or both.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched_by: Vec<&'static str>,
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
        matched_by: Vec::new(),
    }
}

/// A vector as stored: little-endian f32s.
fn vector_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn vector_from(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Cosine similarity; 0 for vectors of different length or no length.
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Reciprocal rank fusion of rankings (best first): each item scores Σ 1 / (k + rank), rank
/// from 1; ties keep the order of first appearance. Returns ids with their scores and which
/// rankings (by index) found them.
fn rrf<T: Clone + PartialEq>(rankings: &[Vec<T>]) -> Vec<(T, f64, Vec<usize>)> {
    let mut fused: Vec<(T, f64, Vec<usize>)> = Vec::new();
    for (which, ranking) in rankings.iter().enumerate() {
        for (i, item) in ranking.iter().enumerate() {
            let add = 1.0 / (RRF_K + (i + 1) as f64);
            match fused.iter_mut().find(|(t, _, _)| t == item) {
                Some((_, score, by)) => {
                    *score += add;
                    by.push(which);
                }
                None => fused.push((item.clone(), add, vec![which])),
            }
        }
    }
    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
    fused
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
            // Kept without a vector if there is no embeddings model or it fails: found by
            // words alone.
            if let Some((model, vector)) = self.embedding(principal, org, &stored.content).await {
                self.store
                    .memory
                    .set_embedding(org, stored.id, &model, &vector_bytes(&vector))
                    .await?;
            }
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
        let scopes = Self::memory_scopes(principal);
        let by_words = self
            .store
            .memory
            .search(org, &scopes, &[q.to_owned()], CANDIDATES.max(limit))
            .await?;
        let by_meaning = match self.embedding(principal, org, q).await {
            Some((model, query)) => {
                let stored = self
                    .store
                    .memory
                    .with_embeddings(org, &scopes, &model, MAX_COMPARED)
                    .await?;
                let mut scored: Vec<(MemoryRecord, f64)> = stored
                    .into_iter()
                    .map(|(m, bytes)| {
                        let similarity = cosine(&query, &vector_from(&bytes));
                        (m, similarity)
                    })
                    .filter(|(_, similarity)| *similarity >= MIN_SIMILARITY)
                    .collect();
                scored.sort_by(|a, b| b.1.total_cmp(&a.1));
                scored.truncate(CANDIDATES as usize);
                scored
            }
            None => Vec::new(),
        };
        if by_meaning.is_empty() {
            return Ok(by_words
                .iter()
                .take(limit as usize)
                .map(|h| {
                    let mut v = view(&h.memory, Some(h.score));
                    v.matched_by = vec!["words"];
                    v
                })
                .collect());
        }
        let records: Vec<MemoryRecord> = by_words
            .iter()
            .map(|h| h.memory.clone())
            .chain(by_meaning.iter().map(|(m, _)| m.clone()))
            .collect();
        let rankings = [
            by_words.iter().map(|h| h.memory.id).collect::<Vec<_>>(),
            by_meaning.iter().map(|(m, _)| m.id).collect::<Vec<_>>(),
        ];
        Ok(rrf(&rankings)
            .into_iter()
            .take(limit as usize)
            .filter_map(|(id, score, by)| {
                let m = records.iter().find(|m| m.id == id)?;
                let mut v = view(m, Some(score));
                v.matched_by = by.iter().map(|i| ["words", "meaning"][*i]).collect();
                Some(v)
            })
            .collect())
    }

    /// The vector of `text` from the organisation's embeddings model, with the model's id;
    /// `None` without a model or when the call fails (logged: recall falls back to words).
    async fn embedding(
        &self,
        principal: &Principal,
        org: switchboard_domain::OrgId,
        text: &str,
    ) -> Option<(String, Vec<f32>)> {
        let reply = self
            .gateway
            .embed_for(
                org,
                principal.user_id(),
                principal.actor(),
                vec![text.to_owned()],
            )
            .await;
        match reply {
            Ok(Some(reply)) => {
                let model = reply.model;
                reply.vectors.into_iter().next().map(|v| (model, v))
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "memory embedding failed; recall by words only");
                None
            }
        }
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
    fn vectors_round_trip_and_compare_by_angle() {
        let v = [0.5f32, -1.25, 3.0];
        assert_eq!(vector_from(&vector_bytes(&v)), v);
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-9);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-9);
        assert_eq!(
            cosine(&[1.0], &[1.0, 2.0]),
            0.0,
            "different models' vectors never match"
        );
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    fn fusion_rewards_what_both_rankings_found() {
        let words = vec!["a", "b", "c"];
        let meaning = vec!["d", "b"];
        let fused = rrf(&[words, meaning]);
        let order: Vec<&str> = fused.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(
            order,
            ["b", "a", "d", "c"],
            "b is in both; a and d lead their lists"
        );
        assert_eq!(fused[0].2, [0, 1]);
        let expected = 1.0 / 62.0 + 1.0 / 62.0;
        assert!((fused[0].1 - expected).abs() < 1e-12);
        assert!((fused[1].1 - fused[2].1).abs() < 1e-12, "first places tie");
    }

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
