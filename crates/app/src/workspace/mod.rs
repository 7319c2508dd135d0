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
