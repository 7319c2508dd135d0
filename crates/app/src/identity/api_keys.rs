//! API keys: `sb_` + 43 random characters, shown once, stored as SHA-256, bound to one
//! organisation with a role that never exceeds its creator's.

use serde_json::json;
use switchboard_domain::{ApiKeyId, OrgStatus, Role, Timestamp};
use switchboard_store::ApiKeyRecord;

use super::principal::{Credential, OrgAccess, Principal};
use super::{clean_name, token, Identity, IdentityError};

pub const KEY_PREFIX: &str = "sb_";
/// How many leading characters of a key are kept to recognise it in lists.
const SHOWN_PREFIX: usize = 10;

/// A key just created: `key` is shown once and never again.
#[derive(Clone, Debug)]
pub struct CreatedKey {
    pub record: ApiKeyRecord,
    pub key: String,
}

impl Identity {
    pub async fn create_api_key(
        &self,
        principal: &Principal,
        name: &str,
        role: Role,
        expires_at: Option<Timestamp>,
    ) -> Result<CreatedKey, IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        let name = clean_name("name", name)?;
        if role > access.role {
            return Err(IdentityError::invalid(
                "role",
                format!("A key's role cannot be above your own ({}).", access.role),
            ));
        }
        let now = self.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(IdentityError::invalid(
                "expires_at",
                "The expiry must be in the future.",
            ));
        }
        let key = format!("{KEY_PREFIX}{}", token::random_token());
        let record = ApiKeyRecord {
            id: ApiKeyId::generate(self.clock.as_ref()),
            org_id: access.org.id,
            name,
            prefix: key.chars().take(SHOWN_PREFIX).collect(),
            key_hash: token::digest(&key),
            role,
            created_by: principal.user_id(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.store.api_keys.insert(&record).await?;
        self.record(
            access.org.id,
            principal.actor(),
            "admin.api_key_created",
            Some(record.id.to_string()),
            Some("ok"),
            json!({ "name": record.name, "role": role.as_str(), "prefix": record.prefix }),
        )
        .await?;
        Ok(CreatedKey { record, key })
    }

    pub async fn list_api_keys(
        &self,
        principal: &Principal,
    ) -> Result<Vec<ApiKeyRecord>, IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        Ok(self.store.api_keys.list_for_org(access.org.id).await?)
    }

    /// Revokes a key of the caller's organisation; another organisation's key is `NotFound`.
    pub async fn revoke_api_key(
        &self,
        principal: &Principal,
        id: ApiKeyId,
    ) -> Result<(), IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        if !self
            .store
            .api_keys
            .revoke(access.org.id, id, self.now())
            .await?
        {
            return Err(IdentityError::NotFound);
        }
        self.record(
            access.org.id,
            principal.actor(),
            "admin.api_key_revoked",
            Some(id.to_string()),
            Some("ok"),
            json!({}),
        )
        .await
    }

    /// The caller behind `Authorization: Bearer sb_...`, or `None` for an unknown, revoked
    /// or expired key, or one whose organisation is gone.
    pub async fn authenticate_api_key(
        &self,
        key: &str,
    ) -> Result<Option<Principal>, IdentityError> {
        if !key.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let Some(record) = self.store.api_keys.get_by_hash(&token::digest(key)).await? else {
            return Ok(None);
        };
        let now = self.now();
        if record.revoked_at.is_some() || record.expires_at.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        let Some(org) = self.store.orgs.get(record.org_id).await? else {
            return Ok(None);
        };
        if org.status == OrgStatus::Deleted {
            return Ok(None);
        }
        let stale = record
            .last_used_at
            .is_none_or(|at| (now - at).num_seconds() >= 60);
        if stale {
            self.store.api_keys.touch(record.id, now).await?;
        }
        Ok(Some(Principal {
            credential: Credential::ApiKey(record.id),
            user: None,
            org: Some(OrgAccess {
                org,
                role: record.role,
            }),
        }))
    }
}
