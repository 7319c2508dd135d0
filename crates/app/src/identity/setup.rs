//! First-boot setup: while no organisation exists, a one-time setup code (printed by
//! `switchboard serve`, stored hashed) unlocks creating the first organisation and its owner,
//! who is also platform operator.

use serde_json::json;
use switchboard_domain::{OrgId, Slug, UserId};
use switchboard_store::OrgRecord;

use super::{clean_name, normalise_email, password, throttle, token, Identity, IdentityError};
use crate::audit::Actor;

/// Where setup stands after startup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupState {
    /// An organisation exists: setup is over for good.
    Done,
    /// Setup is open. `code` is the generated code to print, or `None` when the operator
    /// supplied it through `SWITCHBOARD_SETUP_CODE`.
    Open { code: Option<String> },
}

/// What the setup wizard (or `POST /api/v1/setup`) submits.
#[derive(Clone, Debug)]
pub struct SetupRequest {
    pub setup_code: String,
    pub org_name: String,
    pub org_slug: String,
    pub owner_email: String,
    pub owner_name: String,
    pub owner_password: String,
}

/// What setup created.
#[derive(Clone, Debug)]
pub struct SetupDone {
    pub org: OrgRecord,
    pub owner: UserId,
}

impl Identity {
    /// Called at startup: when no organisation exists, stores the hash of a new setup code
    /// (or of `given`) and returns it for printing.
    pub async fn prepare_setup(&self, given: Option<&str>) -> Result<SetupState, IdentityError> {
        if self.setup_finished().await? {
            return Ok(SetupState::Done);
        }
        let (code, print) = match given {
            Some(code) if !code.trim().is_empty() => (code.to_owned(), None),
            _ => {
                let code = token::human_code(3);
                (code.clone(), Some(code))
            }
        };
        self.store
            .auth
            .put_setup_code(&token::digest(&token::normalise_code(&code)), self.now())
            .await?;
        Ok(SetupState::Open { code: print })
    }

    /// True once the first organisation exists (the wizard is gone for good).
    pub async fn setup_finished(&self) -> Result<bool, IdentityError> {
        if self.store.orgs.count().await? > 0 {
            return Ok(true);
        }
        Ok(self
            .store
            .auth
            .setup_code()
            .await?
            .is_some_and(|c| c.used_at.is_some()))
    }

    /// Creates the first organisation and its owner. The code is checked first (throttled
    /// per client); the input is validated before the code is spent.
    pub async fn complete_setup(
        &self,
        request: SetupRequest,
        client: &str,
    ) -> Result<SetupDone, IdentityError> {
        self.check_limit(throttle::SETUP_CLIENT, client).await?;
        let stored = self.store.auth.setup_code().await?;
        let offered = token::digest(&token::normalise_code(&request.setup_code));
        let matches = stored.as_ref().is_some_and(|s| {
            use subtle::ConstantTimeEq as _;
            s.used_at.is_none() && bool::from(s.code_hash.ct_eq(&offered))
        });
        if !matches || self.store.orgs.count().await? > 0 {
            self.note_failure(throttle::SETUP_CLIENT, client).await?;
            self.record(
                OrgId::PLATFORM,
                Actor::System,
                "auth.setup",
                None,
                Some("denied"),
                json!({ "client": client, "reason": "invalid setup code" }),
            )
            .await?;
            return Err(IdentityError::InvalidSetupCode);
        }

        let org_name = clean_name("organization.name", &request.org_name)?;
        let slug = Slug::parse(request.org_slug.trim())
            .map_err(|e| IdentityError::invalid("organization.slug", e.to_string()))?;
        let email = normalise_email(&request.owner_email)
            .map_err(|_| IdentityError::invalid("owner.email", "Enter a valid email address."))?;
        let name = clean_name("owner.name", &request.owner_name)?;
        password::check(&request.owner_password, &email)
            .map_err(|e| IdentityError::invalid("owner.password", e.to_string()))?;
        let hash = password::hash(&request.owner_password)
            .map_err(|e| IdentityError::Internal(e.to_string()))?;

        let now = self.now();
        let org = self.new_org(org_name, slug);
        let owner = self.new_user(email, name, Some(hash), true);
        if !self.store.auth.complete_setup(&org, &owner, now).await? {
            return Err(IdentityError::InvalidSetupCode);
        }
        self.record(
            org.id,
            Actor::User(owner.id.to_string()),
            "admin.setup",
            Some(org.slug.as_str().to_owned()),
            Some("ok"),
            json!({ "organization": org.name, "owner": owner.id.to_string(), "client": client }),
        )
        .await?;
        tracing::info!(organization = %org.slug.as_str(), "first-boot setup completed");
        Ok(SetupDone {
            org,
            owner: owner.id,
        })
    }
}
