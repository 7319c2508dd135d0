//! Conversations with the assistant and their messages (DESIGN 4.4). A message's `body` is
//! the JSON of its parts (text, tool calls, tool results) as the runtime wrote it; `seq`
//! orders a conversation and is assigned by the store on append.

use switchboard_domain::{ConversationId, MessageId, OrgId, RunId, Timestamp, UserId};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct ConversationRecord {
    pub id: ConversationId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub title: String,
    /// The agent's slug that answers by default.
    pub agent: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MessageRecord {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub org_id: OrgId,
    /// Position in the conversation, from 1; set by [`ConversationRepo::append_message`].
    pub seq: i64,
    /// `user`, `assistant` or `tool`.
    pub role: String,
    pub body: String,
    pub run_id: Option<RunId>,
    pub created_at: Timestamp,
}

#[async_trait::async_trait]
pub trait ConversationRepo: Send + Sync {
    async fn insert(&self, conversation: &ConversationRecord) -> Result<(), StoreError>;
    async fn get(
        &self,
        org: OrgId,
        id: ConversationId,
    ) -> Result<Option<ConversationRecord>, StoreError>;
    /// The user's conversations in the organisation, most recently active first.
    async fn list(
        &self,
        org: OrgId,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<ConversationRecord>, StoreError>;
    /// Sets the title (and the last activity); `NotFound` when there is no such conversation.
    async fn rename(
        &self,
        org: OrgId,
        id: ConversationId,
        title: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// [`ConversationRepo::rename`] as part of a new message (the title a first message
    /// gives, and the last activity), not yet durable on return like the run's other writes
    /// (see `RunRepo::insert`).
    async fn touch(
        &self,
        org: OrgId,
        id: ConversationId,
        title: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Removes the conversation with its messages, runs and run events.
    async fn delete(&self, org: OrgId, id: ConversationId) -> Result<(), StoreError>;
    /// Appends a message at the end (its `seq` is ignored and assigned); returns the seq. Not
    /// yet durable on return (see `RunRepo::insert`).
    async fn append_message(&self, message: &MessageRecord) -> Result<i64, StoreError>;
    /// Every message in order.
    async fn messages(
        &self,
        org: OrgId,
        id: ConversationId,
    ) -> Result<Vec<MessageRecord>, StoreError>;
}
