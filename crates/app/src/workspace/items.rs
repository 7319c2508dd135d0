//! Requests and tickets: create, list (filters, text, pages), read with comments and
//! activity, change (fields by members, status by admins, along the kind's lines), comment
//! (internal comments hidden from viewers), delete (admins). Every change writes activity
//! entries (who, what, from → to) with it, and one audit event.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_domain::{CommentId, ItemId, ItemKind, OrgId, Priority, Role, Timestamp};
use switchboard_store::{ActivityRecord, CommentRecord, ItemFilter, ItemRecord};

use super::{change_details, description, invalid, required_text, WorkspaceError};
use crate::audit::NewEvent;
use crate::identity::{IdentityError, Principal};
use crate::App;

const MAX_CATEGORY: usize = 60;
const MAX_COMMENT: usize = 20_000;
const MAX_PAGE: u32 = 100;

/// A new request or ticket.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// `low`, `medium` (the default), `high`, `critical`.
    pub priority: Option<String>,
    pub category: Option<String>,
}

/// A change: fields not given stay. `status` needs an admin.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
    pub status: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub body: String,
    /// Only for the organisation's staff (members and up); default `false`.
    #[serde(default)]
    pub internal: bool,
}

/// Which items to list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ItemQuery {
    pub status: Option<String>,
    pub priority: Option<String>,
    /// Words in the title or description.
    pub q: Option<String>,
    /// From 1.
    pub page: Option<u32>,
    /// 1–100, default 25.
    pub per_page: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemView {
    pub id: String,
    pub kind: String,
    /// From 1 per organisation and kind (shown as `T-12`, `R-3`).
    pub number: i64,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub category: Option<String>,
    pub priority: String,
    pub status: String,
    pub created_by: Value,
    pub created_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ItemPage {
    pub items: Vec<ItemView>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommentView {
    pub id: String,
    pub author: String,
    pub body: String,
    pub internal: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivityView {
    pub actor: Value,
    /// Who, as people read it: a member's name, `API key`, `Assistant`, `Switchboard`.
    pub actor_name: String,
    pub action: String,
    pub field: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub item: ItemView,
    pub comments: Vec<CommentView>,
    pub activity: Vec<ActivityView>,
}

fn prefix(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Request => "R",
        ItemKind::Ticket => "T",
    }
}

fn view(r: &ItemRecord) -> ItemView {
    let kind = ItemKind::parse(&r.kind).unwrap_or(ItemKind::Ticket);
    ItemView {
        id: r.id.to_string(),
        kind: r.kind.clone(),
        number: r.number,
        reference: format!("{}-{}", prefix(kind), r.number),
        title: r.title.clone(),
        description: r.description.clone(),
        category: r.category.clone(),
        priority: r.priority.clone(),
        status: r.status.clone(),
        created_by: json!({"kind": r.actor_kind, "id": r.actor_id}),
        created_at: r.created_at.to_rfc3339(),
        updated_at: r.updated_at.to_rfc3339(),
        resolved_at: r.resolved_at.map(|t| t.to_rfc3339()),
    }
}

fn comment_view(c: &CommentRecord) -> CommentView {
    CommentView {
        id: c.id.to_string(),
        author: c.author.clone(),
        body: c.body.clone(),
        internal: c.internal,
        created_at: c.created_at.to_rfc3339(),
    }
}

pub(super) fn activity_view(
    a: &ActivityRecord,
    names: &std::collections::HashMap<String, String>,
) -> ActivityView {
    let actor_name = match a.actor_kind.as_str() {
        "user" => a
            .actor_id
            .as_ref()
            .and_then(|id| names.get(id))
            .cloned()
            .unwrap_or_else(|| "A former member".to_owned()),
        "api_key" => "API key".to_owned(),
        "agent" => "Assistant".to_owned(),
        _ => "Switchboard".to_owned(),
    };
    ActivityView {
        actor: json!({"kind": a.actor_kind, "id": a.actor_id}),
        actor_name,
        action: a.action.clone(),
        field: a.field.clone(),
        from: a.from_value.clone(),
        to: a.to_value.clone(),
        at: a.at.to_rfc3339(),
    }
}

fn priority(value: &str) -> Result<String, WorkspaceError> {
    Priority::parse(value)
        .map(|p| p.as_str().to_owned())
        .ok_or_else(|| {
            invalid(
                "priority",
                "`priority` must be one of low, medium, high, critical.",
            )
        })
}

fn category(value: &str) -> Result<Option<String>, WorkspaceError> {
    let c = value.trim();
    if c.chars().count() > MAX_CATEGORY {
        return Err(invalid(
            "category",
            format!("`category` may be at most {MAX_CATEGORY} characters."),
        ));
    }
    Ok((!c.is_empty()).then(|| c.to_owned()))
}

impl App {
    /// Files a request or ticket (members and up).
    pub async fn create_item(
        &self,
        principal: &Principal,
        kind: ItemKind,
        input: ItemInput,
    ) -> Result<ItemView, WorkspaceError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let now = self.clock.now();
        let (actor_kind, actor_id) = principal.actor().parts();
        let mut record = ItemRecord {
            id: ItemId::generate(self.clock.as_ref()),
            org_id: org,
            kind: kind.as_str().to_owned(),
            number: 0,
            title: required_text("title", &input.title)?,
            description: description(&input.description)?,
            category: match &input.category {
                Some(c) => category(c)?,
                None => None,
            },
            priority: priority(input.priority.as_deref().unwrap_or("medium"))?,
            status: kind.initial_status().to_owned(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            created_at: now,
            updated_at: now,
            resolved_at: None,
        };
        let entry = self.activity(principal, &record, "created", now);
        record.number = self.store.items.insert(&record, &[entry]).await?;
        self.item_audit(
            principal,
            &record,
            "created",
            json!({"title": record.title}),
        )
        .await?;
        self.start_triage(&record, principal.user_id());
        Ok(view(&record))
    }

    /// A page of requests or tickets, most recently changed first (viewers and up).
    pub async fn list_items(
        &self,
        principal: &Principal,
        kind: ItemKind,
        query: &ItemQuery,
    ) -> Result<ItemPage, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        if let Some(status) = &query.status {
            if !kind.is_status(status) {
                return Err(invalid(
                    "status",
                    format!(
                        "`status` of a {} is one of {}.",
                        kind.as_str(),
                        kind.statuses().join(", ")
                    ),
                ));
            }
        }
        if let Some(p) = &query.priority {
            priority(p)?;
        }
        let per_page = query.per_page.unwrap_or(25);
        if !(1..=MAX_PAGE).contains(&per_page) {
            return Err(invalid(
                "per_page",
                format!("`per_page` must be 1–{MAX_PAGE}."),
            ));
        }
        let page = query.page.unwrap_or(1).max(1);
        let filter = ItemFilter {
            kind: kind.as_str().to_owned(),
            status: query.status.clone(),
            priority: query.priority.clone(),
            text: query
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(|q| q.chars().take(200).collect()),
            limit: per_page,
            offset: (page - 1).saturating_mul(per_page),
        };
        let (items, total) = self.store.items.list(org, &filter).await?;
        Ok(ItemPage {
            items: items.iter().map(view).collect(),
            total,
            page,
            per_page,
        })
    }

    /// One request or ticket with its comments (internal ones for members and up) and its
    /// activity.
    pub async fn item(
        &self,
        principal: &Principal,
        kind: ItemKind,
        id: &str,
    ) -> Result<ItemDetail, WorkspaceError> {
        let access = principal.tenant(Role::Viewer)?;
        let staff = access.role.at_least(Role::Member);
        let record = self.own_item(access.org.id, kind, id).await?;
        let comments = self.store.items.comments(record.org_id, record.id).await?;
        let activity = self
            .store
            .items
            .activity(record.org_id, record.id.as_uuid())
            .await?;
        let names = self.member_names(principal).await?;
        Ok(ItemDetail {
            item: view(&record),
            comments: comments
                .iter()
                .filter(|c| staff || !c.internal)
                .map(comment_view)
                .collect(),
            activity: activity.iter().map(|a| activity_view(a, &names)).collect(),
        })
    }

    /// Changes a request or ticket: its fields (members and up) and its status (admins,
    /// along the kind's lines). Each changed field is one activity entry.
    pub async fn update_item(
        &self,
        principal: &Principal,
        kind: ItemKind,
        id: &str,
        patch: ItemPatch,
    ) -> Result<ItemView, WorkspaceError> {
        let access = principal.tenant(Role::Member)?;
        if patch.status.is_some() && !access.role.at_least(Role::Admin) {
            return Err(IdentityError::Forbidden("Only admins change the status.").into());
        }
        let before = self.own_item(access.org.id, kind, id).await?;
        let mut after = before.clone();
        if let Some(t) = &patch.title {
            after.title = required_text("title", t)?;
        }
        if let Some(d) = &patch.description {
            after.description = description(d)?;
        }
        if let Some(p) = &patch.priority {
            after.priority = priority(p)?;
        }
        if let Some(c) = &patch.category {
            after.category = category(c)?;
        }
        let now = self.clock.now();
        if let Some(status) = &patch.status {
            if !kind.is_status(status) {
                return Err(invalid(
                    "status",
                    format!(
                        "`status` of a {} is one of {}.",
                        kind.as_str(),
                        kind.statuses().join(", ")
                    ),
                ));
            }
            if status != &before.status {
                if !kind.can_move(&before.status, status) {
                    return Err(invalid(
                        "status",
                        format!(
                            "A {} cannot go from {} to {}.",
                            kind.as_str(),
                            before.status,
                            status
                        ),
                    ));
                }
                after.status = status.clone();
                after.resolved_at = if kind.is_done(status) {
                    Some(now)
                } else {
                    None
                };
            }
        }
        let changes: Vec<(&str, Option<String>, Option<String>)> = [
            ("title", Some(&before.title), Some(&after.title)),
            (
                "description",
                Some(&before.description),
                Some(&after.description),
            ),
            ("priority", Some(&before.priority), Some(&after.priority)),
            (
                "category",
                before.category.as_ref(),
                after.category.as_ref(),
            ),
            ("status", Some(&before.status), Some(&after.status)),
        ]
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .map(|(field, from, to)| (field, from.cloned(), to.cloned()))
        .collect();
        if changes.is_empty() {
            return Ok(view(&before));
        }
        after.updated_at = now;
        let entries = self.change_entries(
            &principal.actor(),
            after.org_id,
            after.id.as_uuid(),
            &after.kind,
            &changes,
            now,
        );
        self.store
            .items
            .update(&after, before.updated_at, &entries)
            .await?;
        let details = change_details(&changes);
        self.item_audit(principal, &after, "changed", details)
            .await?;
        Ok(view(&after))
    }

    /// Comments on a request or ticket (members and up).
    pub async fn comment_item(
        &self,
        principal: &Principal,
        kind: ItemKind,
        id: &str,
        input: CommentInput,
    ) -> Result<CommentView, WorkspaceError> {
        let org = principal.tenant(Role::Member)?.org.id;
        let body = input.body.trim();
        if body.is_empty() || body.len() > MAX_COMMENT {
            return Err(invalid(
                "body",
                format!("`body` must be 1–{MAX_COMMENT} bytes of text."),
            ));
        }
        let item = self.own_item(org, kind, id).await?;
        let author = match &principal.user {
            Some(u) => u.name.clone(),
            None => "API key".to_owned(),
        };
        self.add_comment(principal.actor(), author, &item, body, input.internal)
            .await
    }

    /// Stores a comment by `actor`, shown as `author`, with its activity and audit event.
    pub(crate) async fn add_comment(
        &self,
        actor: crate::audit::Actor,
        author: String,
        item: &ItemRecord,
        body: &str,
        internal: bool,
    ) -> Result<CommentView, WorkspaceError> {
        let now = self.clock.now();
        let (actor_kind, actor_id) = actor.parts();
        let comment = CommentRecord {
            id: CommentId::generate(self.clock.as_ref()),
            org_id: item.org_id,
            item_id: item.id,
            actor_kind: actor_kind.to_owned(),
            actor_id: actor_id.clone(),
            author,
            body: body.to_owned(),
            internal,
            created_at: now,
        };
        let mut entry = self.activity_entry(
            &actor,
            item.org_id,
            item.id.as_uuid(),
            &item.kind,
            "commented",
            now,
        );
        entry.to_value = Some(if internal { "internal" } else { "public" }.to_owned());
        self.store.items.add_comment(&comment, &[entry]).await?;
        self.audit
            .record(NewEvent {
                org: item.org_id,
                actor,
                kind: format!("workspace.{}.commented", item.kind),
                target: Some(item.id.to_string()),
                decision: Some("ok".to_owned()),
                details: json!({"internal": internal}),
            })
            .await
            .map_err(|e| WorkspaceError::Internal(e.to_string()))?;
        Ok(comment_view(&comment))
    }

    /// Deletes a request or ticket with its comments (admins); the activity log keeps it.
    pub async fn delete_item(
        &self,
        principal: &Principal,
        kind: ItemKind,
        id: &str,
    ) -> Result<(), WorkspaceError> {
        let org = principal.tenant(Role::Admin)?.org.id;
        let item = self.own_item(org, kind, id).await?;
        let now = self.clock.now();
        let mut entry = self.activity(principal, &item, "deleted", now);
        entry.from_value = Some(item.title.clone());
        self.store.items.delete(org, item.id, &[entry]).await?;
        self.item_audit(principal, &item, "deleted", json!({"title": item.title}))
            .await
    }

    /// How many requests and tickets are in each status (viewers and up).
    pub async fn item_counts(&self, principal: &Principal) -> Result<Value, WorkspaceError> {
        let org = principal.tenant(Role::Viewer)?.org.id;
        let mut out = serde_json::Map::new();
        for kind in ItemKind::ALL {
            let stored = self.store.items.counts(org, kind.as_str()).await?;
            let counts: serde_json::Map<String, Value> = kind
                .statuses()
                .iter()
                .map(|s| {
                    let n = stored
                        .iter()
                        .find(|(status, _)| status == s)
                        .map_or(0, |(_, n)| *n);
                    ((*s).to_owned(), json!(n))
                })
                .collect();
            out.insert(format!("{}s", kind.as_str()), Value::Object(counts));
        }
        Ok(Value::Object(out))
    }

    /// Member names by user id, for the activity log.
    pub(super) async fn member_names(
        &self,
        principal: &Principal,
    ) -> Result<std::collections::HashMap<String, String>, WorkspaceError> {
        Ok(self
            .identity
            .list_members(principal)
            .await?
            .into_iter()
            .map(|m| (m.user_id.to_string(), m.name))
            .collect())
    }

    /// The item of this organisation and kind; `NotFound` for anything else (another
    /// organisation's, the other kind's, a malformed id).
    pub(crate) async fn own_item(
        &self,
        org: OrgId,
        kind: ItemKind,
        id: &str,
    ) -> Result<ItemRecord, WorkspaceError> {
        let id: ItemId = id.parse().map_err(|_| IdentityError::NotFound)?;
        match self.store.items.get(org, id).await? {
            Some(item) if item.kind == kind.as_str() => Ok(item),
            _ => Err(IdentityError::NotFound.into()),
        }
    }

    fn activity(
        &self,
        principal: &Principal,
        item: &ItemRecord,
        action: &str,
        at: Timestamp,
    ) -> ActivityRecord {
        self.activity_entry(
            &principal.actor(),
            item.org_id,
            item.id.as_uuid(),
            &item.kind,
            action,
            at,
        )
    }

    async fn item_audit(
        &self,
        principal: &Principal,
        item: &ItemRecord,
        action: &str,
        details: Value,
    ) -> Result<(), WorkspaceError> {
        self.audit
            .record(NewEvent {
                org: item.org_id,
                actor: principal.actor(),
                kind: format!("workspace.{}.{action}", item.kind),
                target: Some(item.id.to_string()),
                decision: Some("ok".to_owned()),
                details,
            })
            .await
            .map(|_| ())
            .map_err(|e| WorkspaceError::Internal(e.to_string()))
    }
}
