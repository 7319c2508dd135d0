//! An organisation's own agents (AI personas) with their skills. The system agents are
//! defined in code (`app::runtime::agents`), not stored. `tools` and `skills` are JSON.

use switchboard_domain::{AgentId, OrgId, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct AgentRecord {
    pub id: AgentId,
    pub org_id: OrgId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub instructions: String,
    /// `None`: the organisation's default model.
    pub model: Option<String>,
    pub max_steps: i64,
    /// JSON array of tool-name globs the agent may use.
    pub tools: String,
    pub min_role: String,
    /// JSON array of `{"name","content","enabled"}` in order.
    pub skills: String,
    /// The built-in template it was made from.
    pub template: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[async_trait::async_trait]
pub trait AgentRepo: Send + Sync {
    /// `Conflict` when the slug is taken in the organisation.
    async fn insert(&self, agent: &AgentRecord) -> Result<(), StoreError>;
    async fn get(&self, org: OrgId, slug: &str) -> Result<Option<AgentRecord>, StoreError>;
    /// By slug.
    async fn list(&self, org: OrgId) -> Result<Vec<AgentRecord>, StoreError>;
    /// Replaces every field but id, org, slug and created_at; `NotFound` when absent.
    async fn update(&self, agent: &AgentRecord) -> Result<(), StoreError>;
    /// `NotFound` when absent.
    async fn delete(&self, org: OrgId, slug: &str) -> Result<(), StoreError>;
}
