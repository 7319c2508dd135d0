//! The workspace's requests and tickets (one aggregate: work items), their comments and the
//! activity log (DESIGN 4.8). Every write takes the activity entries that describe it and
//! stores them in the same transaction, so the log never misses a change.

use switchboard_domain::{ActivityId, CommentId, ItemId, OrgId, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct ItemRecord {
    pub id: ItemId,
    pub org_id: OrgId,
    /// `request` or `ticket`.
    pub kind: String,
    /// From 1 per organisation and kind; assigned on insert.
    pub number: i64,
    pub title: String,
    pub description: String,
    pub category: Option<String>,
    pub priority: String,
    pub status: String,
    /// Who created it (`user`, `api_key`, …) and their id.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the work was last finished (`resolved`/`closed`, `completed`/`cancelled`).
    pub resolved_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CommentRecord {
    pub id: CommentId,
    pub org_id: OrgId,
    pub item_id: ItemId,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// The author's name as shown (a person's name, a key's name, `Assistant`).
    pub author: String,
    pub body: String,
    /// Only for the organisation's staff, not for the person who asked.
    pub internal: bool,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActivityRecord {
    pub id: ActivityId,
    pub org_id: OrgId,
    /// `request`, `ticket`, …
    pub subject_kind: String,
    pub subject_id: uuid::Uuid,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// `created`, `changed`, `commented`, `deleted`.
    pub action: String,
    pub field: Option<String>,
    pub from_value: Option<String>,
    pub to_value: Option<String>,
    pub at: Timestamp,
}

/// Which items to list.
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub kind: String,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// Words the title or description contains (case-insensitive).
    pub text: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[async_trait::async_trait]
pub trait WorkItemRepo: Send + Sync {
    /// Stores a new item with its number (the next of its kind in the organisation, which is
    /// returned) and its activity.
    async fn insert(
        &self,
        item: &ItemRecord,
        activity: &[ActivityRecord],
    ) -> Result<i64, StoreError>;
    async fn get(&self, org: OrgId, id: ItemId) -> Result<Option<ItemRecord>, StoreError>;
    /// Items newest first (by last change), and how many match in all.
    async fn list(
        &self,
        org: OrgId,
        filter: &ItemFilter,
    ) -> Result<(Vec<ItemRecord>, u64), StoreError>;
    /// Saves the changeable fields if the stored item was last changed at `expected`
    /// (`Conflict` otherwise: someone changed it meanwhile), with the activity.
    async fn update(
        &self,
        item: &ItemRecord,
        expected: Timestamp,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    /// Deletes an item and its comments, recording the activity; `NotFound` if absent.
    async fn delete(
        &self,
        org: OrgId,
        id: ItemId,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    /// Adds a comment (and marks the item changed at its time), with the activity.
    async fn add_comment(
        &self,
        comment: &CommentRecord,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    /// An item's comments, oldest first.
    async fn comments(&self, org: OrgId, item: ItemId) -> Result<Vec<CommentRecord>, StoreError>;
    /// A subject's activity, oldest first.
    async fn activity(
        &self,
        org: OrgId,
        subject: uuid::Uuid,
    ) -> Result<Vec<ActivityRecord>, StoreError>;
    /// How many items of `kind` are in each status.
    async fn counts(&self, org: OrgId, kind: &str) -> Result<Vec<(String, u64)>, StoreError>;
}
