//! Documents (DESIGN 4.8): an organisation's library. The file is sealed (a
//! [`SealedRecord`](crate::SealedRecord) written in the same transaction); the row keeps what
//! is searched — name, tags and the text extracted at upload — in a full-text index (FTS5 on
//! SQLite, `tsvector` + GIN on PostgreSQL) ranked, with a highlighted snippet per hit.

use switchboard_domain::{DocumentId, OrgId, SecretId, Timestamp};

use crate::workspace::ActivityRecord;
use crate::{SealedRecord, StoreError};

/// Marks the start of a matched word in a [`DocumentHit::snippet`] (never in stored text).
pub const MARK_START: char = '\u{27E6}';
/// Marks the end of a matched word in a [`DocumentHit::snippet`].
pub const MARK_END: char = '\u{27E7}';

/// A document without its text (which may be long: read it with [`DocumentRepo::text`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DocumentRecord {
    pub id: DocumentId,
    pub org_id: OrgId,
    pub name: String,
    /// As detected at upload (e.g. `application/pdf`).
    pub content_type: String,
    /// How the text was read: `pdf`, `html`, `markdown`, `text` or `none`.
    pub format: String,
    pub size: i64,
    pub sha256: Vec<u8>,
    /// Lower-case, no spaces, sorted.
    pub tags: Vec<String>,
    /// Why no text was extracted, when none was.
    pub text_note: Option<String>,
    /// The sealed file.
    pub file_id: SecretId,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A document found by a search: its rank (higher is better) and a snippet of its text with
/// the matched words between [`MARK_START`] and [`MARK_END`].
#[derive(Clone, Debug, PartialEq)]
pub struct DocumentHit {
    pub document: DocumentRecord,
    pub snippet: String,
    pub score: f64,
}

/// Which documents a list shows, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentQuery {
    pub tag: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[async_trait::async_trait]
pub trait DocumentRepo: Send + Sync {
    /// Stores a document with its text, its sealed file and its activity, at once.
    async fn insert(
        &self,
        document: &DocumentRecord,
        text: &str,
        file: &SealedRecord,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    async fn get(&self, org: OrgId, id: DocumentId) -> Result<Option<DocumentRecord>, StoreError>;
    /// The document's extracted text.
    async fn text(&self, org: OrgId, id: DocumentId) -> Result<Option<String>, StoreError>;
    /// A page of documents and how many match in all.
    async fn list(
        &self,
        org: OrgId,
        query: &DocumentQuery,
    ) -> Result<(Vec<DocumentRecord>, u64), StoreError>;
    /// Documents matching any of `terms` (plain words), best first.
    async fn search(
        &self,
        org: OrgId,
        terms: &[String],
        tag: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DocumentHit>, StoreError>;
    /// Replaces the tags if the document is unchanged since `expected` (`Conflict`
    /// otherwise), with the activity.
    async fn set_tags(
        &self,
        org: OrgId,
        id: DocumentId,
        tags: &[String],
        expected: Timestamp,
        at: Timestamp,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    /// Deletes a document and its sealed file, with the activity; `NotFound` if absent.
    async fn delete(
        &self,
        org: OrgId,
        id: DocumentId,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
}
