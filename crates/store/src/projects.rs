//! Projects and their milestones (DESIGN 4.8). Like work items, every write takes the
//! activity entries that describe it and stores them in the same transaction.

use switchboard_domain::{MilestoneId, OrgId, ProjectId, Timestamp};

use crate::workspace::ActivityRecord;
use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct ProjectRecord {
    pub id: ProjectId,
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    pub status: String,
    /// `YYYY-MM-DD`.
    pub start_date: Option<String>,
    pub due_date: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MilestoneRecord {
    pub id: MilestoneId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub title: String,
    pub status: String,
    /// 0–100.
    pub progress: i64,
    pub due_date: Option<String>,
    /// Order within the project, from 1; assigned on insert.
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[async_trait::async_trait]
pub trait ProjectRepo: Send + Sync {
    async fn insert(
        &self,
        project: &ProjectRecord,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    async fn get(&self, org: OrgId, id: ProjectId) -> Result<Option<ProjectRecord>, StoreError>;
    /// Projects most recently changed first, by status and words in the name or
    /// description, and how many match in all.
    async fn list(
        &self,
        org: OrgId,
        status: Option<&str>,
        text: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<ProjectRecord>, u64), StoreError>;
    /// Saves the changeable fields if the project was last changed at `expected`.
    async fn update(
        &self,
        project: &ProjectRecord,
        expected: Timestamp,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    /// Deletes a project and its milestones.
    async fn delete(
        &self,
        org: OrgId,
        id: ProjectId,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    /// A project's milestones in order.
    async fn milestones(
        &self,
        org: OrgId,
        project: ProjectId,
    ) -> Result<Vec<MilestoneRecord>, StoreError>;
    /// Adds a milestone at the end (its position is returned) and marks the project changed.
    async fn add_milestone(
        &self,
        milestone: &MilestoneRecord,
        activity: &[ActivityRecord],
    ) -> Result<i64, StoreError>;
    /// Saves a milestone's title, status, progress, due date and position, and marks the
    /// project changed; `NotFound` if it is not the project's.
    async fn update_milestone(
        &self,
        milestone: &MilestoneRecord,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
    async fn delete_milestone(
        &self,
        org: OrgId,
        project: ProjectId,
        id: MilestoneId,
        activity: &[ActivityRecord],
    ) -> Result<(), StoreError>;
}
