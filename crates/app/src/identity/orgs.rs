//! Operator work on organisations: list, create, suspend, resume, delete; and each
//! organisation's own security settings.

use serde_json::json;
use switchboard_domain::{OrgStatus, Role, Slug};
use switchboard_store::OrgRecord;

use super::principal::Principal;
use super::{clean_name, Identity, IdentityError};

/// An organisation as operators see it.
#[derive(Clone, Debug)]
pub struct OrgSummary {
    pub org: OrgRecord,
    pub members: u64,
}

/// How long a deleted organisation's data is kept before it may be purged.
pub const DELETED_RETENTION_DAYS: i64 = 30;

impl Identity {
    fn operator<'a>(&self, principal: &'a Principal) -> Result<&'a Principal, IdentityError> {
        if principal.is_operator() {
            Ok(principal)
        } else {
            Err(IdentityError::Forbidden(
                "Only platform operators may do this.",
            ))
        }
    }

    pub async fn list_orgs(&self, principal: &Principal) -> Result<Vec<OrgSummary>, IdentityError> {
        self.operator(principal)?;
        let counts = self.store.orgs.member_counts().await?;
        Ok(self
            .store
            .orgs
            .list()
            .await?
            .into_iter()
            .map(|org| OrgSummary {
                members: counts
                    .iter()
                    .find(|(id, _)| *id == org.id)
                    .map_or(0, |(_, n)| *n),
                org,
            })
            .collect())
    }

    pub async fn create_org(
        &self,
        principal: &Principal,
        name: &str,
        slug: &str,
        owner_email: Option<&str>,
    ) -> Result<(OrgRecord, Option<super::members::CreatedInvite>), IdentityError> {
        self.operator(principal)?;
        let owner_email = owner_email
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(super::normalise_email)
            .transpose()
            .map_err(|_| IdentityError::invalid("owner_email", "Enter a valid email address."))?;
        let name = clean_name("name", name)?;
        let slug =
            Slug::parse(slug.trim()).map_err(|e| IdentityError::invalid("slug", e.to_string()))?;
        let org = self.new_org(name, slug);
        self.store.orgs.insert(&org).await.map_err(|e| match e {
            switchboard_store::StoreError::Conflict(_) => {
                IdentityError::Conflict("An organisation with this slug exists.".into())
            }
            other => other.into(),
        })?;
        self.record(
            org.id,
            principal.actor(),
            "admin.org_created",
            Some(org.slug.as_str().to_owned()),
            Some("ok"),
            json!({ "name": org.name }),
        )
        .await?;
        let invite = match owner_email {
            Some(email) => Some(
                self.invite_into(principal, org.id, &email, Role::Owner)
                    .await?,
            ),
            None => None,
        };
        Ok((org, invite))
    }

    /// Moves an organisation to `to` (suspend, resume, delete) if the lifecycle allows it.
    pub async fn set_org_status(
        &self,
        principal: &Principal,
        slug: &str,
        to: OrgStatus,
    ) -> Result<OrgRecord, IdentityError> {
        self.operator(principal)?;
        let org = self
            .store
            .orgs
            .get_by_slug(slug)
            .await?
            .filter(|o| o.status != OrgStatus::Deleted)
            .ok_or(IdentityError::NotFound)?;
        org.status
            .transition_to(to)
            .map_err(|e| IdentityError::Conflict(e.to_string()))?;
        self.store.orgs.set_status(org.id, to, self.now()).await?;
        self.org_status_changes
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let kind = match to {
            OrgStatus::Suspended => "admin.org_suspended",
            OrgStatus::Active => "admin.org_resumed",
            OrgStatus::Deleted => "admin.org_deleted",
            OrgStatus::Pending => "admin.org_status",
        };
        self.record(
            org.id,
            principal.actor(),
            kind,
            Some(org.slug.as_str().to_owned()),
            Some("ok"),
            json!({ "from": org.status.as_str(), "to": to.as_str() }),
        )
        .await?;
        self.org(org.id).await
    }

    /// Purges organisations deleted more than `retention_days` ago: their members, keys, invites,
    /// sealed secrets and audit chain go, in one transaction each. Each purge is recorded in
    /// the platform chain (`admin.org_purged`). Run periodically with
    /// [`DELETED_RETENTION_DAYS`]. Returns how many organisations were purged.
    pub async fn purge_deleted_orgs(&self, retention_days: i64) -> Result<usize, IdentityError> {
        let due = self
            .store
            .orgs
            .deleted_before(self.now() - chrono::Duration::days(retention_days))
            .await?;
        for org in &due {
            let rows = self.store.orgs.purge(org.id).await?;
            tracing::info!(org = %org.slug, rows, "purged a deleted organisation");
            self.record(
                switchboard_domain::OrgId::PLATFORM,
                crate::audit::Actor::System,
                "admin.org_purged",
                Some(org.slug.as_str().to_owned()),
                Some("ok"),
                json!({ "org_id": org.id.to_string(), "deleted_at": org.deleted_at,
                        "rows": rows }),
            )
            .await?;
        }
        Ok(due.len())
    }

    /// Sets the caller's organisation's security settings (admins).
    pub async fn update_org_settings(
        &self,
        principal: &Principal,
        require_totp: bool,
        allow_sso_signup: bool,
    ) -> Result<OrgRecord, IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        let org = &access.org;
        self.store
            .orgs
            .update_settings(org.id, require_totp, allow_sso_signup, self.now())
            .await?;
        self.record(
            org.id,
            principal.actor(),
            "admin.settings_changed",
            Some(org.slug.as_str().to_owned()),
            Some("ok"),
            json!({ "require_totp": require_totp, "allow_sso_signup": allow_sso_signup }),
        )
        .await?;
        self.org(org.id).await
    }
}
