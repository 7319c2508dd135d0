//! The workspace (DESIGN 4.8): requests and tickets with comments and an activity log
//! (`items.rs`). People use it through the API and console, the assistant through the
//! `workspace.*` tools (`crate::tools::workspace`) — the same services, the same rules.

mod items;
mod projects;
mod triage;

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
