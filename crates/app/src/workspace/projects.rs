//! Projects and their milestones: create, list, read with milestones and activity, change
//! (fields by members, status by admins along the project's lines), milestones added,
//! changed (status, progress, due date, order) and removed. Every change writes activity
//! entries with it and one audit event.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_domain::workspace::{milestone, project};
use switchboard_domain::{MilestoneId, OrgId, ProjectId, Role};
use switchboard_store::{ActivityRecord, MilestoneRecord, ProjectRecord};

use super::{change_details, description, invalid, required_text, ActivityView, WorkspaceError};
use crate::audit::{Actor, NewEvent};
use crate::identity::{IdentityError, Principal};
use crate::App;

const MAX_MILESTONES: usize = 200;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `YYYY-MM-DD`.
    pub start_date: Option<String>,
    pub due_date: Option<String>,
}

/// A change: fields not given stay; an empty date clears it. `status` needs an admin.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub start_date: Option<String>,
    pub due_date: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneInput {
    pub title: String,
    pub due_date: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestonePatch {
    pub title: Option<String>,
    /// `pending`, `in_progress`, `done`.
    pub status: Option<String>,
    /// 0–100 (`done` is 100).
    pub progress: Option<u8>,
    pub due_date: Option<String>,
    /// Its place in the project's order, from 1.
    pub position: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProjectQuery {
    pub status: Option<String>,
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub status: String,
    pub start_date: Option<String>,
    pub due_date: Option<String>,
    pub created_by: Value,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MilestoneView {
    pub id: String,
    pub title: String,
    pub status: String,
    pub progress: i64,
    pub due_date: Option<String>,
    pub position: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProjectPage {
    pub projects: Vec<ProjectView>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: ProjectView,
    /// The milestones' average progress (0 without milestones).
    pub progress: i64,
    pub milestones: Vec<MilestoneView>,
    pub activity: Vec<ActivityView>,
}

fn view(p: &ProjectRecord) -> ProjectView {
    ProjectView {
        id: p.id.to_string(),
        name: p.name.clone(),
        description: p.description.clone(),
        status: p.status.clone(),
        start_date: p.start_date.clone(),
        due_date: p.due_date.clone(),
        created_by: json!({"kind": p.actor_kind, "id": p.actor_id}),
        created_at: p.created_at.to_rfc3339(),
        updated_at: p.updated_at.to_rfc3339(),
    }
}

fn milestone_view(m: &MilestoneRecord) -> MilestoneView {
    MilestoneView {
        id: m.id.to_string(),
        title: m.title.clone(),
        status: m.status.clone(),
        progress: m.progress,
        due_date: m.due_date.clone(),
        position: m.position,
    }
}

/// A calendar day as `YYYY-MM-DD`; empty clears it.
fn date(field: &'static str, value: &str) -> Result<Option<String>, WorkspaceError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(|d| Some(d.format("%Y-%m-%d").to_string()))
        .map_err(|_| invalid(field, format!("`{field}` must be a date like 2026-12-31.")))
}

fn dates_in_order(start: &Option<String>, due: &Option<String>) -> Result<(), WorkspaceError> {
    match (start, due) {
        // ISO dates compare as text.
        (Some(s), Some(d)) if d < s => Err(invalid(
            "due_date",
            "`due_date` cannot be before `start_date`.",
        )),
        _ => Ok(()),
    }
}

fn statuses_of(list: &[&str]) -> String {
    list.join(", ")
}

impl App {
    /// Starts a project (members and up), in status `planned`.
    pub async fn create_project(
        &self,
        principal: &Principal,
        input: ProjectInput,
    ) -> Result<ProjectView, WorkspaceError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let now = self.clock.now();
        let (actor_kind, actor_id) = principal.actor().parts();
        let record = ProjectRecord {
            id: ProjectId::generate(self.clock.as_ref()),
            org_id: org,
            name: required_text("name", &input.name)?,
            description: description(&input.description)?,
            status: "planned".to_owned(),
            start_date: date("start_date", input.start_date.as_deref().unwrap_or(""))?,
            due_date: date("due_date", input.due_date.as_deref().unwrap_or(""))?,
            actor_kind: actor_kind.to_owned(),
            actor_id,
            created_at: now,
            updated_at: now,
        };
        dates_in_order(&record.start_date, &record.due_date)?;
        let entry = self.activity_entry(
            &principal.actor(),
            org,
            record.id.as_uuid(),
            "project",
            "created",
            now,
        );
        self.store.projects.insert(&record, &[entry]).await?;
        self.project_audit(
            principal,
            org,
            &record,
            "created",
            json!({"name": record.name}),
        )
        .await?;
        Ok(view(&record))
    }

    /// A page of projects, most recently changed first (viewers and up).
    pub async fn list_projects(
        &self,
        principal: &Principal,
        query: &ProjectQuery,
    ) -> Result<ProjectPage, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        if let Some(s) = &query.status {
            if !project::is_status(s) {
                return Err(invalid(
                    "status",
                    format!("`status` is one of {}.", statuses_of(&project::STATUSES)),
                ));
            }
        }
        let per_page = query.per_page.unwrap_or(25);
        if !(1..=100).contains(&per_page) {
            return Err(invalid("per_page", "`per_page` must be 1–100."));
        }
        let page = query.page.unwrap_or(1).max(1);
        let q = query
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| q.chars().take(200).collect::<String>());
        let (projects, total) = self
            .store
            .projects
            .list(
                org,
                query.status.as_deref(),
                q.as_deref(),
                per_page,
                (page - 1).saturating_mul(per_page),
            )
            .await?;
        Ok(ProjectPage {
            projects: projects.iter().map(view).collect(),
            total,
            page,
            per_page,
        })
    }

    /// One project with its milestones, progress and activity (viewers and up).
    pub async fn project(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<ProjectDetail, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let record = self.own_project(org, id).await?;
        let milestones = self.store.projects.milestones(org, record.id).await?;
        let activity = self.store.items.activity(org, record.id.as_uuid()).await?;
        let names = self.member_names(principal).await?;
        let progress = if milestones.is_empty() {
            0
        } else {
            milestones.iter().map(|m| m.progress).sum::<i64>() / milestones.len() as i64
        };
        Ok(ProjectDetail {
            project: view(&record),
            progress,
            milestones: milestones.iter().map(milestone_view).collect(),
            activity: activity
                .iter()
                .map(|a| super::items::activity_view(a, &names))
                .collect(),
        })
    }

    /// Changes a project's fields (members and up) or status (admins).
    pub async fn update_project(
        &self,
        principal: &Principal,
        id: &str,
        patch: ProjectPatch,
    ) -> Result<ProjectView, WorkspaceError> {
        let access = principal.tenant(Role::Member)?;
        if patch.status.is_some() && !access.role.at_least(Role::Admin) {
            return Err(IdentityError::Forbidden("Only admins change the status.").into());
        }
        let org = access.org.id;
        let before = self.own_project(org, id).await?;
        let mut after = before.clone();
        if let Some(n) = &patch.name {
            after.name = required_text("name", n)?;
        }
        if let Some(d) = &patch.description {
            after.description = description(d)?;
        }
        if let Some(d) = &patch.start_date {
            after.start_date = date("start_date", d)?;
        }
        if let Some(d) = &patch.due_date {
            after.due_date = date("due_date", d)?;
        }
        dates_in_order(&after.start_date, &after.due_date)?;
        if let Some(s) = &patch.status {
            if !project::is_status(s) {
                return Err(invalid(
                    "status",
                    format!("`status` is one of {}.", statuses_of(&project::STATUSES)),
                ));
            }
            if *s != before.status && !project::can_move(&before.status, s) {
                return Err(invalid(
                    "status",
                    format!("A project cannot go from {} to {s}.", before.status),
                ));
            }
            after.status = s.clone();
        }
        let changes: Vec<(&str, Option<String>, Option<String>)> = [
            ("name", Some(before.name.clone()), Some(after.name.clone())),
            (
                "description",
                Some(before.description.clone()),
                Some(after.description.clone()),
            ),
            (
                "status",
                Some(before.status.clone()),
                Some(after.status.clone()),
            ),
            (
                "start_date",
                before.start_date.clone(),
                after.start_date.clone(),
            ),
            ("due_date", before.due_date.clone(), after.due_date.clone()),
        ]
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .collect();
        if changes.is_empty() {
            return Ok(view(&before));
        }
        let now = self.clock.now();
        after.updated_at = now;
        let entries = self.change_entries(
            &principal.actor(),
            org,
            after.id.as_uuid(),
            "project",
            &changes,
            now,
        );
        self.store
            .projects
            .update(&after, before.updated_at, &entries)
            .await?;
        self.project_audit(principal, org, &after, "changed", change_details(&changes))
            .await?;
        Ok(view(&after))
    }

    /// Deletes a project and its milestones (admins).
    pub async fn delete_project(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(), WorkspaceError> {
        let org = principal.tenant(Role::Admin)?.org.id;
        let record = self.own_project(org, id).await?;
        let mut entry = self.activity_entry(
            &principal.actor(),
            org,
            record.id.as_uuid(),
            "project",
            "deleted",
            self.clock.now(),
        );
        entry.from_value = Some(record.name.clone());
        self.store.projects.delete(org, record.id, &[entry]).await?;
        self.project_audit(
            principal,
            org,
            &record,
            "deleted",
            json!({"name": record.name}),
        )
        .await
    }

    /// Adds a milestone at the end of a project's list (members and up).
    pub async fn add_milestone(
        &self,
        principal: &Principal,
        project_id: &str,
        input: MilestoneInput,
    ) -> Result<MilestoneView, WorkspaceError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let record = self.own_project(org, project_id).await?;
        if self.store.projects.milestones(org, record.id).await?.len() >= MAX_MILESTONES {
            return Err(invalid(
                "title",
                format!("A project has at most {MAX_MILESTONES} milestones."),
            ));
        }
        let now = self.clock.now();
        let mut m = MilestoneRecord {
            id: MilestoneId::generate(self.clock.as_ref()),
            org_id: org,
            project_id: record.id,
            title: required_text("title", &input.title)?,
            status: "pending".to_owned(),
            progress: 0,
            due_date: date("due_date", input.due_date.as_deref().unwrap_or(""))?,
            position: 0,
            created_at: now,
            updated_at: now,
        };
        let mut entry = self.activity_entry(
            &principal.actor(),
            org,
            record.id.as_uuid(),
            "project",
            "milestone_added",
            now,
        );
        entry.to_value = Some(m.title.clone());
        m.position = self.store.projects.add_milestone(&m, &[entry]).await?;
        self.project_audit(
            principal,
            org,
            &record,
            "milestone_added",
            json!({"milestone": m.title}),
        )
        .await?;
        Ok(milestone_view(&m))
    }

    /// Changes a milestone: title, status (along its lines), progress, due date, position.
    pub async fn update_milestone(
        &self,
        principal: &Principal,
        project_id: &str,
        milestone_id: &str,
        patch: MilestonePatch,
    ) -> Result<MilestoneView, WorkspaceError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let record = self.own_project(org, project_id).await?;
        let list = self.store.projects.milestones(org, record.id).await?;
        let before = list
            .iter()
            .find(|m| m.id.to_string() == milestone_id)
            .cloned()
            .ok_or(IdentityError::NotFound)?;
        let mut after = before.clone();
        if let Some(t) = &patch.title {
            after.title = required_text("title", t)?;
        }
        if let Some(d) = &patch.due_date {
            after.due_date = date("due_date", d)?;
        }
        if let Some(p) = patch.progress {
            if p > 100 {
                return Err(invalid("progress", "`progress` must be 0–100."));
            }
        }
        if let Some(s) = &patch.status {
            if !milestone::is_status(s) {
                return Err(invalid(
                    "status",
                    format!("`status` is one of {}.", statuses_of(&milestone::STATUSES)),
                ));
            }
            if *s != before.status && !milestone::can_move(&before.status, s) {
                return Err(invalid(
                    "status",
                    format!("A milestone cannot go from {} to {s}.", before.status),
                ));
            }
            after.status = s.clone();
        }
        let current = u8::try_from(before.progress.clamp(0, 100)).unwrap_or(0);
        after.progress = match (patch.progress, patch.status.is_some()) {
            // A progress of 100 finishes it; any other keeps it open.
            (Some(100), false) => {
                after.status = "done".to_owned();
                100
            }
            (Some(p), false) if after.status == "done" => {
                after.status = "in_progress".to_owned();
                i64::from(p)
            }
            (Some(p), false) if after.status == "pending" && p > 0 => {
                after.status = "in_progress".to_owned();
                i64::from(p)
            }
            _ => i64::from(milestone::progress(&after.status, patch.progress, current)),
        };
        if let Some(position) = patch.position {
            if position < 1 || position > list.len() as i64 {
                return Err(invalid(
                    "position",
                    format!("`position` must be 1–{}.", list.len()),
                ));
            }
            after.position = position;
        }
        let changes: Vec<(&str, Option<String>, Option<String>)> = [
            (
                "title",
                Some(before.title.clone()),
                Some(after.title.clone()),
            ),
            (
                "status",
                Some(before.status.clone()),
                Some(after.status.clone()),
            ),
            (
                "progress",
                Some(before.progress.to_string()),
                Some(after.progress.to_string()),
            ),
            ("due_date", before.due_date.clone(), after.due_date.clone()),
            (
                "position",
                Some(before.position.to_string()),
                Some(after.position.to_string()),
            ),
        ]
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .collect();
        if changes.is_empty() {
            return Ok(milestone_view(&before));
        }
        let now = self.clock.now();
        after.updated_at = now;
        let entries: Vec<ActivityRecord> = self
            .change_entries(
                &principal.actor(),
                org,
                record.id.as_uuid(),
                "project",
                &changes,
                now,
            )
            .into_iter()
            .map(|mut e| {
                e.action = "milestone_changed".to_owned();
                e.field = e.field.map(|f| format!("{}: {f}", after.title));
                e
            })
            .collect();
        self.store
            .projects
            .update_milestone(&after, &entries)
            .await?;
        let mut details = change_details(&changes);
        details["milestone"] = json!(after.title);
        self.project_audit(principal, org, &record, "milestone_changed", details)
            .await?;
        Ok(milestone_view(&after))
    }

    /// Removes a milestone (admins).
    pub async fn delete_milestone(
        &self,
        principal: &Principal,
        project_id: &str,
        milestone_id: &str,
    ) -> Result<(), WorkspaceError> {
        let org = principal.tenant(Role::Admin)?.org.id;
        let record = self.own_project(org, project_id).await?;
        let id: MilestoneId = milestone_id.parse().map_err(|_| IdentityError::NotFound)?;
        let title = self
            .store
            .projects
            .milestones(org, record.id)
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .map(|m| m.title)
            .ok_or(IdentityError::NotFound)?;
        let mut entry = self.activity_entry(
            &principal.actor(),
            org,
            record.id.as_uuid(),
            "project",
            "milestone_removed",
            self.clock.now(),
        );
        entry.from_value = Some(title.clone());
        self.store
            .projects
            .delete_milestone(org, record.id, id, &[entry])
            .await?;
        self.project_audit(
            principal,
            org,
            &record,
            "milestone_removed",
            json!({"milestone": title}),
        )
        .await
    }

    pub(crate) async fn own_project(
        &self,
        org: OrgId,
        id: &str,
    ) -> Result<ProjectRecord, WorkspaceError> {
        let id: ProjectId = id.parse().map_err(|_| IdentityError::NotFound)?;
        self.store
            .projects
            .get(org, id)
            .await?
            .ok_or_else(|| IdentityError::NotFound.into())
    }

    async fn project_audit(
        &self,
        principal: &Principal,
        org: OrgId,
        p: &ProjectRecord,
        action: &str,
        details: Value,
    ) -> Result<(), WorkspaceError> {
        let actor: Actor = principal.actor();
        self.audit
            .record(NewEvent {
                org,
                actor,
                kind: format!("workspace.project.{action}"),
                target: Some(p.id.to_string()),
                decision: Some("ok".to_owned()),
                details,
            })
            .await
            .map(|_| ())
            .map_err(|e| WorkspaceError::Internal(e.to_string()))
    }
}
