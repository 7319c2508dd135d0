//! Each organisation's tool policy (settings per tool and rules), stored as one JSON
//! document; the app parses and checks it (`switchboard_domain::OrgPolicy`).

use switchboard_domain::{OrgId, Timestamp};

use crate::StoreError;

#[async_trait::async_trait]
pub trait ToolPolicyRepo: Send + Sync {
    /// The organisation's policy document, if it ever saved one.
    async fn policy(&self, org: OrgId) -> Result<Option<String>, StoreError>;
    /// Inserts or replaces the organisation's policy document.
    async fn save_policy(&self, org: OrgId, policy: &str, at: Timestamp) -> Result<(), StoreError>;
}
