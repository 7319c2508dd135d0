//! Members of an organisation and invitations to join it.

use chrono::Duration;
use serde_json::json;
use switchboard_domain::{InviteId, OrgStatus, Role, UserId};
use switchboard_store::{InviteRecord, MembershipRecord, OwnerGuarded};

use super::login::NewSession;
use super::principal::Principal;
use super::{clean_name, normalise_email, password, token, Identity, IdentityError};
use crate::audit::Actor;

/// How long an invite link works.
pub const INVITE_VALID_DAYS: i64 = 7;

#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub totp_enabled: bool,
}

/// A new invite: `token` goes into the link (`/invite/{token}`) and is never stored.
#[derive(Clone, Debug)]
pub struct CreatedInvite {
    pub record: InviteRecord,
    pub token: String,
    pub delivery: Delivery,
}

/// Whether an invite went out by email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// No SMTP configured: the admin passes the link on.
    LinkOnly,
    Emailed,
    /// Sending failed (the invite still exists; the admin passes the link on).
    Failed(String),
}

impl Delivery {
    pub fn as_str(&self) -> &'static str {
        match self {
            Delivery::LinkOnly => "link",
            Delivery::Emailed => "emailed",
            Delivery::Failed(_) => "failed",
        }
    }
}

/// An invite as its link shows it, before it is accepted.
#[derive(Clone, Debug)]
pub struct InvitePreview {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    /// An account with this email exists (it must sign in to accept).
    pub account_exists: bool,
}

impl Identity {
    pub async fn list_members(&self, principal: &Principal) -> Result<Vec<Member>, IdentityError> {
        let access = principal.tenant(Role::Viewer)?;
        Ok(self
            .store
            .memberships
            .users_of_org(access.org.id)
            .await?
            .into_iter()
            .map(|(m, user)| Member {
                user_id: user.id,
                totp_enabled: user.totp_enabled(),
                email: user.email,
                name: user.name,
                role: m.role,
            })
            .collect())
    }

    /// Admins change roles; nobody grants or touches a role above their own, and the last
    /// owner stays an owner.
    pub async fn change_role(
        &self,
        principal: &Principal,
        user: UserId,
        role: Role,
    ) -> Result<(), IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        let current = self
            .store
            .memberships
            .get(access.org.id, user)
            .await?
            .ok_or(IdentityError::NotFound)?;
        if role > access.role || current.role > access.role {
            return Err(IdentityError::Forbidden(
                "You cannot manage a role above your own.",
            ));
        }
        match self
            .store
            .memberships
            .change_role(access.org.id, user, role)
            .await?
        {
            OwnerGuarded::Done => {}
            OwnerGuarded::LastOwner => return Err(IdentityError::LastOwner),
            OwnerGuarded::NotFound => return Err(IdentityError::NotFound),
        }
        self.record(
            access.org.id,
            principal.actor(),
            "admin.role_changed",
            Some(user.to_string()),
            Some("ok"),
            json!({ "from": current.role.as_str(), "to": role.as_str() }),
        )
        .await
    }

    pub async fn remove_member(
        &self,
        principal: &Principal,
        user: UserId,
    ) -> Result<(), IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        let current = self
            .store
            .memberships
            .get(access.org.id, user)
            .await?
            .ok_or(IdentityError::NotFound)?;
        if current.role > access.role {
            return Err(IdentityError::Forbidden(
                "You cannot manage a role above your own.",
            ));
        }
        match self.store.memberships.remove(access.org.id, user).await? {
            OwnerGuarded::Done => {}
            OwnerGuarded::LastOwner => return Err(IdentityError::LastOwner),
            OwnerGuarded::NotFound => return Err(IdentityError::NotFound),
        }
        self.record(
            access.org.id,
            principal.actor(),
            "admin.member_removed",
            Some(user.to_string()),
            Some("ok"),
            json!({ "role": current.role.as_str() }),
        )
        .await
    }

    pub async fn create_invite(
        &self,
        principal: &Principal,
        email: &str,
        role: Role,
    ) -> Result<CreatedInvite, IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        if role > access.role {
            return Err(IdentityError::invalid(
                "role",
                "You cannot invite above your own role.",
            ));
        }
        self.invite_into(principal, access.org.id, email, role)
            .await
    }

    /// Creates an invite into `org` (the caller's right to do so is checked by the callers:
    /// organisation admins, or an operator inviting a new organisation's first owner).
    pub(crate) async fn invite_into(
        &self,
        principal: &Principal,
        org: switchboard_domain::OrgId,
        email: &str,
        role: Role,
    ) -> Result<CreatedInvite, IdentityError> {
        let email = normalise_email(email)?;
        if let Some(user) = self.store.users.get_by_email(&email).await? {
            if self.store.memberships.get(org, user.id).await?.is_some() {
                return Err(IdentityError::Conflict(
                    "This person is already a member.".into(),
                ));
            }
        }
        let now = self.now();
        let token = token::random_token();
        let record = InviteRecord {
            id: InviteId::generate(self.clock.as_ref()),
            org_id: org,
            email,
            role,
            token_hash: token::digest(&token),
            created_by: principal.user_id(),
            created_at: now,
            expires_at: now + Duration::days(INVITE_VALID_DAYS),
            used_at: None,
            revoked_at: None,
        };
        self.store.invites.insert(&record).await?;
        let delivery = self.email_invite(principal, &record, &token).await?;
        self.record(
            org,
            principal.actor(),
            "admin.invite_created",
            Some(record.id.to_string()),
            Some("ok"),
            json!({ "email": record.email, "role": role.as_str(),
                    "delivery": delivery.as_str() }),
        )
        .await?;
        Ok(CreatedInvite {
            record,
            token,
            delivery,
        })
    }

    /// Sends the invite link by email when SMTP is configured.
    async fn email_invite(
        &self,
        principal: &Principal,
        invite: &InviteRecord,
        token: &str,
    ) -> Result<Delivery, IdentityError> {
        let Some(mail) = &self.mail else {
            return Ok(Delivery::LinkOnly);
        };
        let org = self.org(invite.org_id).await?;
        let inviter = principal
            .user
            .as_ref()
            .map_or("An administrator".to_owned(), |u| u.name.clone());
        let body = format!(
            "{inviter} invited you to join {org} on Switchboard as {role}.\n\n\
             Accept the invitation (the link works once, for {days} days):\n{base}/invite/{token}\n\n\
             If you did not expect this email, ignore it.\n",
            org = org.name,
            role = invite.role.as_str(),
            days = INVITE_VALID_DAYS,
            base = mail.public_url.trim_end_matches('/'),
        );
        let subject = format!("You are invited to {} on Switchboard", org.name);
        let message = crate::mail::Message {
            to: &invite.email,
            subject: &subject,
            body: &body,
        };
        match mail.mailer.send(&message, &self.now().to_rfc2822()).await {
            Ok(()) => Ok(Delivery::Emailed),
            Err(e) => {
                tracing::warn!(error = %e, "could not email an invite");
                Ok(Delivery::Failed(e.to_string()))
            }
        }
    }

    pub async fn list_invites(
        &self,
        principal: &Principal,
    ) -> Result<Vec<InviteRecord>, IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        let now = self.now();
        Ok(self
            .store
            .invites
            .list_open(access.org.id)
            .await?
            .into_iter()
            .filter(|i| i.expires_at > now)
            .collect())
    }

    pub async fn revoke_invite(
        &self,
        principal: &Principal,
        id: InviteId,
    ) -> Result<(), IdentityError> {
        let access = principal.tenant(Role::Admin)?;
        if !self
            .store
            .invites
            .revoke(access.org.id, id, self.now())
            .await?
        {
            return Err(IdentityError::NotFound);
        }
        self.record(
            access.org.id,
            principal.actor(),
            "admin.invite_revoked",
            Some(id.to_string()),
            Some("ok"),
            json!({}),
        )
        .await
    }

    async fn open_invite(&self, invite_token: &str) -> Result<InviteRecord, IdentityError> {
        let invite = self
            .store
            .invites
            .get_by_token_hash(&token::digest(invite_token))
            .await?
            .filter(|i| i.used_at.is_none() && i.revoked_at.is_none() && i.expires_at > self.now())
            .ok_or(IdentityError::NotFound)?;
        let org = self.org(invite.org_id).await?;
        if org.status != OrgStatus::Active {
            return Err(IdentityError::NotFound);
        }
        Ok(invite)
    }

    pub async fn preview_invite(&self, invite_token: &str) -> Result<InvitePreview, IdentityError> {
        let invite = self.open_invite(invite_token).await?;
        let org = self.org(invite.org_id).await?;
        Ok(InvitePreview {
            org_name: org.name,
            account_exists: self
                .store
                .users
                .get_by_email(&invite.email)
                .await?
                .is_some(),
            email: invite.email,
            role: invite.role,
        })
    }

    /// Accepts an invite. A new person sets a name and password and is signed in; an
    /// existing account must be signed in as the invited email (`principal`).
    pub async fn accept_invite(
        &self,
        invite_token: &str,
        principal: Option<&Principal>,
        name: Option<&str>,
        new_password: Option<&str>,
    ) -> Result<Option<NewSession>, IdentityError> {
        let invite = self.open_invite(invite_token).await?;
        let now = self.now();
        let existing = self.store.users.get_by_email(&invite.email).await?;
        let (user, is_new) = match existing {
            Some(user) => {
                if principal.and_then(|p| p.user.as_ref()).map(|u| u.id) != Some(user.id) {
                    return Err(IdentityError::Forbidden(
                        "Sign in as the invited account to accept this invite.",
                    ));
                }
                (user, false)
            }
            None => {
                let name = clean_name("name", name.unwrap_or_default())?;
                let new_password = new_password.unwrap_or_default();
                password::check(new_password, &invite.email)
                    .map_err(|e| IdentityError::invalid("password", e.to_string()))?;
                let hash = password::hash(new_password)
                    .map_err(|e| IdentityError::Internal(e.to_string()))?;
                let user = self.new_user(invite.email.clone(), name, Some(hash), false);
                (user, true)
            }
        };
        if !self.store.invites.mark_used(invite.id, now).await? {
            return Err(IdentityError::NotFound);
        }
        if is_new {
            self.store.users.insert(&user).await?;
        }
        self.store
            .memberships
            .upsert(&MembershipRecord {
                org_id: invite.org_id,
                user_id: user.id,
                role: invite.role,
                created_at: now,
            })
            .await?;
        self.record(
            invite.org_id,
            Actor::User(user.id.to_string()),
            "admin.invite_accepted",
            Some(invite.id.to_string()),
            Some("ok"),
            json!({ "role": invite.role.as_str(), "new_account": is_new }),
        )
        .await?;
        if is_new {
            Ok(Some(self.start_session(&user).await?))
        } else {
            Ok(None)
        }
    }
}
