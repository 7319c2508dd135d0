//! The caller of a request, as resolved from a session cookie or an API key, and the
//! organisation the request acts in.

use switchboard_domain::{ApiKeyId, ApprovalId, OrgId, OrgStatus, Role, RunId, SessionId, UserId};
use switchboard_store::{OrgRecord, UserRecord};

use super::{Identity, IdentityError};
use crate::audit::Actor;

/// How the caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    Session(SessionId),
    ApiKey(ApiKeyId),
    /// Running an approved tool call for the person who asked for it (no session of theirs).
    Approval(ApprovalId),
    /// The assistant working for a person in a run, after the request that started it.
    Run(RunId),
}

/// The organisation a request acts in and the caller's role there.
#[derive(Clone, Debug)]
pub struct OrgAccess {
    pub org: OrgRecord,
    pub role: Role,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    pub credential: Credential,
    /// The signed-in user; `None` for API keys (which act for their organisation).
    pub user: Option<UserRecord>,
    /// The current organisation, if the caller has one.
    pub org: Option<OrgAccess>,
}

impl Principal {
    /// Platform operators manage tenants; only signed-in users can be operators.
    pub fn is_operator(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_operator)
    }

    pub fn actor(&self) -> Actor {
        match (&self.credential, &self.user) {
            (Credential::ApiKey(id), _) => Actor::ApiKey(id.to_string()),
            (Credential::Session(_), Some(user)) => Actor::User(user.id.to_string()),
            (Credential::Session(id), None) => Actor::User(id.to_string()),
            (Credential::Approval(_), Some(user)) => Actor::User(user.id.to_string()),
            (Credential::Approval(_), None) => Actor::System,
            (Credential::Run(_), Some(user)) => Actor::User(user.id.to_string()),
            (Credential::Run(_), None) => Actor::System,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.user.as_ref().map(|u| u.id)
    }

    pub fn session_id(&self) -> Option<SessionId> {
        match self.credential {
            Credential::Session(id) => Some(id),
            Credential::ApiKey(_) | Credential::Approval(_) | Credential::Run(_) => None,
        }
    }

    /// The current organisation with at least `minimum` role, for tenant endpoints.
    /// Without a membership: `Forbidden`. Suspended: `OrgSuspended`. When the organisation
    /// requires TOTP and a user with a password has none yet:
    /// `TotpEnrollmentRequired`.
    pub fn tenant(&self, minimum: Role) -> Result<&OrgAccess, IdentityError> {
        let access = self.org.as_ref().ok_or(IdentityError::Forbidden(
            "You are not a member of an organisation.",
        ))?;
        if access.org.status == OrgStatus::Suspended {
            return Err(IdentityError::OrgSuspended);
        }
        if access.org.status != OrgStatus::Active {
            return Err(IdentityError::NotFound);
        }
        if let Some(user) = &self.user {
            // People without a local password sign in only through SSO, where the provider
            // is responsible for their second factor.
            let has_password = user.password_hash.is_some();
            if access.org.require_totp && has_password && !user.totp_enabled() {
                return Err(IdentityError::TotpEnrollmentRequired);
            }
        }
        if !access.role.at_least(minimum) {
            return Err(IdentityError::Forbidden("Your role does not allow this."));
        }
        Ok(access)
    }

    pub fn org_id(&self) -> Option<OrgId> {
        self.org.as_ref().map(|a| a.org.id)
    }
}

impl Identity {
    /// The organisation a signed-in user acts in: the one named by `requested` (a slug from
    /// the `Switchboard-Organization` header), else the session's choice, else their first.
    /// Naming an organisation the user does not belong to is `NotFound`, never `Forbidden`.
    pub(crate) async fn org_for_user(
        &self,
        user: UserId,
        preferred: Option<OrgId>,
        requested: Option<&str>,
    ) -> Result<Option<OrgAccess>, IdentityError> {
        let mut candidates = self.memberships_of(user).await?;
        if let Some(slug) = requested {
            return candidates
                .into_iter()
                .find(|a| a.org.slug.as_str() == slug)
                .map(Some)
                .ok_or(IdentityError::NotFound);
        }
        let chosen = preferred
            .and_then(|id| candidates.iter().position(|a| a.org.id == id))
            .unwrap_or(0);
        Ok(if candidates.is_empty() {
            None
        } else {
            Some(candidates.swap_remove(chosen))
        })
    }

    /// Every organisation a user belongs to (not deleted), for `/me` and the switcher.
    pub async fn memberships_of(&self, user: UserId) -> Result<Vec<OrgAccess>, IdentityError> {
        let out: Vec<OrgAccess> = self
            .store
            .memberships
            .orgs_of_user(user)
            .await?
            .into_iter()
            .map(|(m, org)| OrgAccess { org, role: m.role })
            .collect();
        Ok(out)
    }
}

impl Identity {
    /// The person or key that asked for an approved tool call, as they are now: their current
    /// role, or `None` when they left the organisation, the key was revoked or the
    /// organisation is gone. The approved call runs as them.
    pub async fn requester(
        &self,
        org: OrgId,
        kind: &str,
        id: &str,
        approval: ApprovalId,
    ) -> Result<Option<Principal>, IdentityError> {
        let Some(org_record) = self.store.orgs.get(org).await? else {
            return Ok(None);
        };
        match kind {
            "user" => {
                let Ok(user_id) = id.parse::<UserId>() else {
                    return Ok(None);
                };
                self.member_as(org_record, user_id, Credential::Approval(approval))
                    .await
            }
            "api_key" => {
                let Ok(key_id) = id.parse::<ApiKeyId>() else {
                    return Ok(None);
                };
                let key = self
                    .store
                    .api_keys
                    .list_for_org(org)
                    .await?
                    .into_iter()
                    .find(|k| k.id == key_id && k.revoked_at.is_none());
                Ok(key.map(|k| Principal {
                    credential: Credential::ApiKey(k.id),
                    user: None,
                    org: Some(OrgAccess {
                        org: org_record,
                        role: k.role,
                    }),
                }))
            }
            _ => Ok(None),
        }
    }
}

impl Identity {
    /// A person as a member of `org` now (current role), acting through `credential`;
    /// `None` when they are no longer a member (or the organisation is gone).
    pub async fn member_principal(
        &self,
        org: OrgId,
        user: UserId,
        credential: Credential,
    ) -> Result<Option<Principal>, IdentityError> {
        let Some(org_record) = self.store.orgs.get(org).await? else {
            return Ok(None);
        };
        self.member_as(org_record, user, credential).await
    }

    async fn member_as(
        &self,
        org: OrgRecord,
        user_id: UserId,
        credential: Credential,
    ) -> Result<Option<Principal>, IdentityError> {
        let (Some(user), Some(membership)) = (
            self.store.users.get(user_id).await?,
            self.store.memberships.get(org.id, user_id).await?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Principal {
            credential,
            user: Some(user),
            org: Some(OrgAccess {
                org,
                role: membership.role,
            }),
        }))
    }
}
