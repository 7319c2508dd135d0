//! Saved tasks: a name for a type, payload and target that people run again from the console.
//! Saving one runs nothing; each run is an ordinary task through `fleet.run`, governed (and
//! approved when its type needs it) like any other.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_domain::{Role, TaskTemplateId};
use switchboard_store::TaskTemplateRecord;

use super::enrol::short_text;
use super::{FleetError, Target};
use crate::identity::{IdentityError, Principal};
use crate::App;

/// The most templates an organisation keeps.
const MAX_TEMPLATES: usize = 200;

/// `POST /api/v1/fleet/templates`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub payload: Value,
    pub target: Target,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub payload: Value,
    /// `{"agent_id": …}` or `{"labels": {…}}`, as a task's.
    pub target: Value,
    pub created_at: String,
}

fn view(t: &TaskTemplateRecord) -> TemplateView {
    TemplateView {
        id: t.id.to_string(),
        name: t.name.clone(),
        kind: t.kind.clone(),
        payload: serde_json::from_str(&t.payload).unwrap_or(Value::Null),
        target: serde_json::from_str(&t.target).unwrap_or(Value::Null),
        created_at: t.created_at.to_rfc3339(),
    }
}

impl App {
    /// Saves a template (members and up); its type, payload and target are checked as a
    /// task's would be. `Conflict` when the name is taken.
    pub async fn save_task_template(
        &self,
        principal: &Principal,
        input: NewTemplate,
    ) -> Result<TemplateView, FleetError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let name = short_text("name", &input.name)?;
        let (payload, agent, labels) = self
            .checked_task_spec(org, &input.kind, &input.payload, &input.target)
            .await?;
        if self.store.fleet.templates(org).await?.len() >= MAX_TEMPLATES {
            return Err(FleetError::Conflict(format!(
                "An organisation keeps at most {MAX_TEMPLATES} templates; delete one first."
            )));
        }
        let target = match agent {
            Some(id) => json!({"agent_id": id.to_string()}),
            None => json!({"labels": labels}),
        };
        let (actor_kind, actor_id) = principal.actor().parts();
        let record = TaskTemplateRecord {
            id: TaskTemplateId::generate(self.clock.as_ref()),
            org_id: org,
            name,
            kind: input.kind,
            payload,
            target: target.to_string(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            created_at: self.clock.now(),
        };
        self.store
            .fleet
            .insert_template(&record)
            .await
            .map_err(|e| match e {
                switchboard_store::StoreError::Conflict(_) => {
                    FleetError::Conflict("A template with that name exists already.".to_owned())
                }
                other => other.into(),
            })?;
        self.fleet_audit(
            org,
            principal.actor(),
            "fleet.template.saved",
            &record.id.to_string(),
            json!({"name": record.name, "type": record.kind}),
        )
        .await?;
        Ok(view(&record))
    }

    /// The organisation's templates by name (viewers and up).
    pub async fn task_templates(
        &self,
        principal: &Principal,
    ) -> Result<Vec<TemplateView>, FleetError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        Ok(self
            .store
            .fleet
            .templates(org)
            .await?
            .iter()
            .map(view)
            .collect())
    }

    /// One template (viewers and up).
    pub async fn task_template(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<TemplateView, FleetError> {
        self.task_templates(principal)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| IdentityError::NotFound.into())
    }

    /// Deletes a template (members and up).
    pub async fn delete_task_template(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(), FleetError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let parsed: TaskTemplateId = id.parse().map_err(|_| IdentityError::NotFound)?;
        self.store.fleet.delete_template(org, parsed).await?;
        self.fleet_audit(
            org,
            principal.actor(),
            "fleet.template.deleted",
            id,
            json!({}),
        )
        .await
    }
}
