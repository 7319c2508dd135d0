//! The document library (DESIGN 4.8): uploads with their text extracted (`extract.rs`) and
//! indexed for ranked full-text search with highlighted snippets; the file sealed at rest
//! (purpose `document.file`, written with the document in one transaction) and opened only
//! for someone of the organisation. Viewers find, read and download; members upload and tag;
//! admins delete. Every change is in the activity log and the audit log.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use switchboard_domain::{DocumentId, OrgId, Role};
use switchboard_store::documents::{MARK_END, MARK_START};
use switchboard_store::{DocumentQuery, DocumentRecord};
use zeroize::Zeroizing;

use super::items::{activity_view, ActivityView};
use super::{extract, invalid, WorkspaceError};
use crate::audit::NewEvent;
use crate::identity::{IdentityError, Principal};
use crate::App;

/// The default largest upload.
pub const DEFAULT_DOCUMENT_MAX_BYTES: usize = 20 * 1024 * 1024;
/// What the sealed file is for (bound into its associated data).
const FILE_PURPOSE: &str = "document.file";
const MAX_TAGS: usize = 10;
const MAX_TAG: usize = 32;
const MAX_RESULTS: u32 = 50;
/// How much text `document_text` hands out at most (the assistant's reading).
const MAX_READ: usize = 20_000;

/// One upload.
#[derive(Clone, Debug, Default)]
pub struct Upload {
    /// The file's name as the client sent it (paths are cut off).
    pub name: String,
    /// The type the client declared, if any (the bytes decide).
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    /// Tags, separated by commas or spaces.
    pub tags: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DocumentView {
    pub id: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// How its text was read: `pdf`, `html`, `markdown`, `text`, or `none` (not searched).
    pub format: String,
    pub tags: Vec<String>,
    /// Why there is no (or only part of the) text, when so.
    pub text_note: Option<String>,
    pub sha256: String,
    pub created_by: Value,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct DocumentDetail {
    #[serde(flatten)]
    pub document: DocumentView,
    pub activity: Vec<ActivityView>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DocumentPage {
    pub documents: Vec<DocumentView>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DocumentListQuery {
    pub tag: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A document found by a search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    pub document: DocumentView,
    pub snippet: Snippet,
    /// Rank (higher is better; comparable within one search).
    pub score: f64,
}

impl SearchHit {
    /// `{"id","name","snippet","score",…}` with the snippet as HTML (see [`Snippet::html`]).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.document.id,
            "name": self.document.name,
            "snippet": self.snippet.html(),
            "score": self.score,
            "tags": self.document.tags,
            "format": self.document.format,
            "size": self.document.size,
        })
    }
}

/// A stretch of a document's text around the words searched for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet(String);

impl Snippet {
    /// HTML-escaped, the matched words in `<mark>` (safe to put into a page as is).
    pub fn html(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 32);
        for c in self.0.chars() {
            match c {
                MARK_START => out.push_str("<mark>"),
                MARK_END => out.push_str("</mark>"),
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                '\n' => out.push(' '),
                c => out.push(c),
            }
        }
        out
    }

    /// The text alone.
    pub fn plain(&self) -> String {
        self.0
            .chars()
            .filter(|c| *c != MARK_START && *c != MARK_END)
            .map(|c| if c == '\n' { ' ' } else { c })
            .collect()
    }
}

/// A downloaded file.
pub struct Download {
    pub name: String,
    pub content_type: String,
    pub bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("name", &self.name)
            .field("size", &self.bytes.len())
            .finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn view(d: &DocumentRecord) -> DocumentView {
    DocumentView {
        id: d.id.to_string(),
        name: d.name.clone(),
        size: d.size,
        content_type: d.content_type.clone(),
        format: d.format.clone(),
        tags: d.tags.clone(),
        text_note: d.text_note.clone(),
        sha256: hex(&d.sha256),
        created_by: json!({"kind": d.actor_kind, "id": d.actor_id}),
        created_at: d.created_at.to_rfc3339(),
        updated_at: d.updated_at.to_rfc3339(),
    }
}

/// A file name as kept: the last path part, without control characters, at most 200
/// characters (the extension kept).
fn file_name(raw: &str) -> Result<String, WorkspaceError> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        return Err(invalid("name", "The file needs a name."));
    }
    if clean.chars().count() <= 200 {
        return Ok(clean.to_owned());
    }
    let (stem, ext) = match clean.rsplit_once('.') {
        Some((stem, ext)) if ext.chars().count() <= 10 => (stem, format!(".{ext}")),
        _ => (clean, String::new()),
    };
    let keep = 200 - ext.chars().count();
    Ok(stem.chars().take(keep).collect::<String>() + &ext)
}

/// Tags from `a, b c`: lower-case letters, digits, `-` and `_`, 1–32 characters each, at
/// most 10, sorted, once each.
pub fn parse_tags(raw: &str) -> Result<Vec<String>, WorkspaceError> {
    let mut tags: Vec<String> = raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect();
    if let Some(bad) = tags.iter().find(|t| {
        t.chars().count() > MAX_TAG
            || !t
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    }) {
        return Err(invalid(
            "tags",
            format!(
                "`{bad}` is not a tag: use letters, digits, `-` and `_`, at most {MAX_TAG} \
                 characters."
            ),
        ));
    }
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        return Err(invalid(
            "tags",
            format!("A document has at most {MAX_TAGS} tags."),
        ));
    }
    Ok(tags)
}

impl App {
    /// Stores an upload (members and up): its text extracted and indexed, the file sealed.
    pub async fn upload_document(
        &self,
        principal: &Principal,
        upload: Upload,
    ) -> Result<DocumentView, WorkspaceError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let name = file_name(&upload.name)?;
        if upload.bytes.is_empty() {
            return Err(invalid("file", "The file is empty."));
        }
        if upload.bytes.len() > self.document_max_bytes {
            return Err(invalid("file", self.too_large_message()));
        }
        let tags = parse_tags(upload.tags.as_deref().unwrap_or(""))?;
        let bytes = std::sync::Arc::new(upload.bytes);
        let (for_extract, declared, file) = (bytes.clone(), upload.content_type, name.clone());
        // PDFs take CPU; a file that makes the reader panic is kept without text.
        let extracted = tokio::task::spawn_blocking(move || {
            extract::extract(&file, declared.as_deref(), &for_extract)
        })
        .await
        .unwrap_or_else(|_| extract::Extracted {
            format: "none",
            content_type: "application/octet-stream",
            text: String::new(),
            note: Some("The file's text could not be read.".to_owned()),
        });
        let sealed = self
            .secrets
            .sealed_record(Some(org), FILE_PURPOSE, &bytes)
            .map_err(|e| WorkspaceError::Internal(e.to_string()))?;
        let now = self.clock.now();
        let (actor_kind, actor_id) = principal.actor().parts();
        let record = DocumentRecord {
            id: DocumentId::generate(self.clock.as_ref()),
            org_id: org,
            name,
            content_type: extracted.content_type.to_owned(),
            format: extracted.format.to_owned(),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            sha256: Sha256::digest(bytes.as_slice()).to_vec(),
            tags,
            text_note: extracted.note,
            file_id: sealed.id,
            actor_kind: actor_kind.to_owned(),
            actor_id,
            created_at: now,
            updated_at: now,
        };
        let entry = self.activity_entry(
            &principal.actor(),
            org,
            record.id.as_uuid(),
            "document",
            "created",
            now,
        );
        self.store
            .documents
            .insert(&record, &extracted.text, &sealed, &[entry])
            .await?;
        self.document_audit(
            principal,
            &record,
            "uploaded",
            json!({"name": record.name, "size": record.size, "format": record.format,
                   "tags": record.tags}),
        )
        .await?;
        Ok(view(&record))
    }

    /// What a too-large upload is told.
    pub fn too_large_message(&self) -> String {
        format!(
            "The file is larger than the {} limit.",
            human_size(self.document_max_bytes)
        )
    }

    /// A page of the organisation's documents, newest first (viewers and up).
    pub async fn list_documents(
        &self,
        principal: &Principal,
        query: &DocumentListQuery,
    ) -> Result<DocumentPage, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let per_page = query.per_page.unwrap_or(25);
        if !(1..=100).contains(&per_page) {
            return Err(invalid("per_page", "`per_page` must be 1–100."));
        }
        let page = query.page.unwrap_or(1).max(1);
        let tag = match query
            .tag
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(t) => parse_tags(t)?.into_iter().next(),
            None => None,
        };
        let (list, total) = self
            .store
            .documents
            .list(
                org,
                &DocumentQuery {
                    tag,
                    limit: per_page,
                    offset: (page - 1).saturating_mul(per_page),
                },
            )
            .await?;
        Ok(DocumentPage {
            documents: list.iter().map(view).collect(),
            total,
            page,
            per_page,
        })
    }

    /// One document with its activity (viewers and up).
    pub async fn document(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<DocumentDetail, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let record = self.own_document(org, id).await?;
        let activity = self.store.items.activity(org, record.id.as_uuid()).await?;
        let names = self.member_names(principal).await?;
        Ok(DocumentDetail {
            document: view(&record),
            activity: activity.iter().map(|a| activity_view(a, &names)).collect(),
        })
    }

    /// A document's extracted text, at most 20,000 characters (and whether it was cut).
    pub async fn document_text(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(DocumentView, String, bool), WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let record = self.own_document(org, id).await?;
        let text = self
            .store
            .documents
            .text(org, record.id)
            .await?
            .unwrap_or_default();
        let cut = text.chars().count() > MAX_READ;
        Ok((view(&record), text.chars().take(MAX_READ).collect(), cut))
    }

    /// The file itself, opened from its seal (viewers and up; recorded in the audit log).
    pub async fn download_document(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Download, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let record = self.own_document(org, id).await?;
        let bytes = self
            .secrets
            .open(record.file_id, Some(org), FILE_PURPOSE)
            .await
            .map_err(|e| WorkspaceError::Internal(format!("document file: {e}")))?;
        self.document_audit(
            principal,
            &record,
            "downloaded",
            json!({"name": record.name}),
        )
        .await?;
        Ok(Download {
            name: record.name,
            content_type: record.content_type,
            bytes,
        })
    }

    /// Documents whose name, tags or text match the words of `q`, best first, each with a
    /// snippet (viewers and up).
    pub async fn search_documents(
        &self,
        principal: &Principal,
        q: &str,
        tag: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<SearchHit>, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let q = q.trim();
        if q.is_empty() || q.chars().count() > 500 {
            return Err(invalid("q", "`q` must be 1–500 characters."));
        }
        let tag = match tag.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => parse_tags(t)?.into_iter().next(),
            None => None,
        };
        let limit = limit.unwrap_or(10).clamp(1, MAX_RESULTS);
        let hits = self
            .store
            .documents
            .search(org, &[q.to_owned()], tag.as_deref(), limit)
            .await?;
        Ok(hits
            .into_iter()
            .map(|h| SearchHit {
                document: view(&h.document),
                snippet: Snippet(h.snippet),
                score: h.score,
            })
            .collect())
    }

    /// Replaces a document's tags (members and up). `expected_updated_at`, when given, must
    /// match (409 otherwise).
    pub async fn tag_document(
        &self,
        principal: &Principal,
        id: &str,
        tags: &str,
        expected_updated_at: Option<&str>,
    ) -> Result<DocumentView, WorkspaceError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let before = self.own_document(org, id).await?;
        if let Some(expected) = expected_updated_at {
            if expected != before.updated_at.to_rfc3339() {
                return Err(WorkspaceError::Conflict(
                    "Someone changed this document meanwhile; load it again and retry.".into(),
                ));
            }
        }
        let tags = parse_tags(tags)?;
        if tags == before.tags {
            return Ok(view(&before));
        }
        let now = self
            .clock
            .now()
            .max(before.updated_at + chrono::Duration::milliseconds(1));
        let (from, to) = (before.tags.join(", "), tags.join(", "));
        let entries = self.change_entries(
            &principal.actor(),
            org,
            before.id.as_uuid(),
            "document",
            &[("tags", Some(from.clone()), Some(to.clone()))],
            now,
        );
        self.store
            .documents
            .set_tags(org, before.id, &tags, before.updated_at, now, &entries)
            .await?;
        let after = DocumentRecord {
            tags,
            updated_at: now,
            ..before
        };
        self.document_audit(
            principal,
            &after,
            "tagged",
            json!({"tags": {"from": from, "to": to}}),
        )
        .await?;
        Ok(view(&after))
    }

    /// Deletes a document and its sealed file (admins).
    pub async fn delete_document(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(), WorkspaceError> {
        let org = principal.tenant(Role::Admin)?.org.id;
        let record = self.own_document(org, id).await?;
        let entry = self.activity_entry(
            &principal.actor(),
            org,
            record.id.as_uuid(),
            "document",
            "deleted",
            self.clock.now(),
        );
        self.store
            .documents
            .delete(org, record.id, &[entry])
            .await?;
        self.document_audit(principal, &record, "deleted", json!({"name": record.name}))
            .await
    }

    async fn own_document(&self, org: OrgId, id: &str) -> Result<DocumentRecord, WorkspaceError> {
        let id: DocumentId = id.parse().map_err(|_| IdentityError::NotFound)?;
        self.store
            .documents
            .get(org, id)
            .await?
            .ok_or_else(|| IdentityError::NotFound.into())
    }

    async fn document_audit(
        &self,
        principal: &Principal,
        d: &DocumentRecord,
        action: &str,
        details: Value,
    ) -> Result<(), WorkspaceError> {
        self.audit
            .record(NewEvent {
                org: d.org_id,
                actor: principal.actor(),
                kind: format!("workspace.document.{action}"),
                target: Some(d.id.to_string()),
                decision: Some("ok".to_owned()),
                details,
            })
            .await
            .map(|_| ())
            .map_err(|e| WorkspaceError::Internal(e.to_string()))
    }
}

/// `20 MB`, `512 KB`.
fn human_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MB", bytes / (1024 * 1024))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_paths_and_control_characters() {
        assert_eq!(
            file_name("C:\\Users\\ada\\report.pdf").unwrap(),
            "report.pdf"
        );
        assert_eq!(file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(file_name(" a\u{0}b\n.txt ").unwrap(), "ab.txt");
        assert!(file_name("dir/").is_err());
        let long = format!("{}.pdf", "x".repeat(300));
        let kept = file_name(&long).unwrap();
        assert_eq!(kept.chars().count(), 200);
        assert!(kept.ends_with(".pdf"));
    }

    #[test]
    fn tags_are_normalised_and_checked() {
        assert_eq!(
            parse_tags("Policy, backups  policy,howto").unwrap(),
            ["backups", "howto", "policy"]
        );
        assert!(parse_tags("").unwrap().is_empty());
        assert!(matches!(
            parse_tags("no/slashes"),
            Err(WorkspaceError::Invalid { field: "tags", .. })
        ));
        let many = (0..11)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_tags(&many).is_err());
    }

    #[test]
    fn snippets_escape_the_text_and_mark_the_words() {
        let s = Snippet(format!("a <b> & {MARK_START}NAS{MARK_END}\n\"x\""));
        assert_eq!(s.html(), "a &lt;b&gt; &amp; <mark>NAS</mark> &quot;x&quot;");
        assert_eq!(s.plain(), "a <b> & NAS \"x\"");
    }
}
