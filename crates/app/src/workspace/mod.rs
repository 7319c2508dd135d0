//! The workspace (DESIGN 4.8): requests and tickets with comments and an activity log
//! (`items.rs`). People use it through the API and console, the assistant through the
//! `workspace.*` tools (`crate::tools::workspace`) — the same services, the same rules.

mod documents;
pub mod extract;
mod items;
mod projects;
mod triage;

pub use documents::{
    parse_tags, DocumentDetail, DocumentListQuery, DocumentPage, DocumentView, Download, SearchHit,
    Snippet, Upload, DEFAULT_DOCUMENT_MAX_BYTES,
};

pub use projects::{
    MilestoneInput, MilestonePatch, MilestoneView, ProjectDetail, ProjectInput, ProjectPage,
    ProjectPatch, ProjectQuery, ProjectView,
};

pub use items::{
    ActivityView, CommentInput, CommentView, ItemDetail, ItemInput, ItemPage, ItemPatch, ItemQuery,
    ItemView,
};

use crate::identity::IdentityError;

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// Bad input; `field` names the offending field.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Someone changed the item meanwhile.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<switchboard_store::StoreError> for WorkspaceError {
    fn from(e: switchboard_store::StoreError) -> Self {
        match e {
            switchboard_store::StoreError::NotFound => {
                WorkspaceError::Identity(IdentityError::NotFound)
            }
            switchboard_store::StoreError::Conflict(what) => WorkspaceError::Conflict(format!(
                "Someone changed this meanwhile ({what}); load it again and retry."
            )),
            other => WorkspaceError::Internal(other.to_string()),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> WorkspaceError {
    WorkspaceError::Invalid {
        field,
        message: message.into(),
    }
}

/// The longest title or name.
const MAX_TITLE: usize = 200;
/// The longest description, in bytes.
const MAX_DESCRIPTION: usize = 20_000;

/// A required one-line text (`title`, `name`), trimmed, 1–`MAX_TITLE` characters.
fn required_text(field: &'static str, value: &str) -> Result<String, WorkspaceError> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > MAX_TITLE {
        return Err(invalid(
            field,
            format!("`{field}` must be 1–{MAX_TITLE} characters."),
        ));
    }
    Ok(t.to_owned())
}

/// A description, trimmed, at most `MAX_DESCRIPTION` bytes (may be empty).
fn description(value: &str) -> Result<String, WorkspaceError> {
    if value.len() > MAX_DESCRIPTION {
        return Err(invalid(
            "description",
            format!("`description` may be at most {MAX_DESCRIPTION} bytes."),
        ));
    }
    Ok(value.trim().to_owned())
}

/// A changed field: its name, the value before and after.
type Change<'a> = (&'a str, Option<String>, Option<String>);

/// `{field: {from, to}}` for the audit log (a description's text left out: the item has it).
fn change_details(changes: &[Change<'_>]) -> serde_json::Value {
    use serde_json::{json, Value};
    changes
        .iter()
        .map(|(field, from, to)| {
            let shown = |v: &Option<String>| {
                if *field == "description" {
                    Value::Null
                } else {
                    json!(v)
                }
            };
            (
                (*field).to_owned(),
                json!({"from": shown(from), "to": shown(to)}),
            )
        })
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

impl crate::App {
    /// One activity entry by `actor` about the subject `kind`/`subject` in `org`.
    fn activity_entry(
        &self,
        actor: &crate::audit::Actor,
        org: switchboard_domain::OrgId,
        subject: uuid::Uuid,
        kind: &str,
        action: &str,
        at: switchboard_domain::Timestamp,
    ) -> switchboard_store::ActivityRecord {
        let (actor_kind, actor_id) = actor.parts();
        switchboard_store::ActivityRecord {
            id: switchboard_domain::ActivityId::generate(self.clock.as_ref()),
            org_id: org,
            subject_kind: kind.to_owned(),
            subject_id: subject,
            actor_kind: actor_kind.to_owned(),
            actor_id,
            action: action.to_owned(),
            field: None,
            from_value: None,
            to_value: None,
            at,
        }
    }

    /// One `changed` entry per changed field, with from → to (a description's text is not
    /// repeated: the subject has it).
    fn change_entries(
        &self,
        actor: &crate::audit::Actor,
        org: switchboard_domain::OrgId,
        subject: uuid::Uuid,
        kind: &str,
        changes: &[Change<'_>],
        at: switchboard_domain::Timestamp,
    ) -> Vec<switchboard_store::ActivityRecord> {
        changes
            .iter()
            .map(|(field, from, to)| {
                let mut e = self.activity_entry(actor, org, subject, kind, "changed", at);
                e.field = Some((*field).to_owned());
                if *field != "description" {
                    e.from_value.clone_from(from);
                    e.to_value.clone_from(to);
                }
                e
            })
            .collect()
    }
}
