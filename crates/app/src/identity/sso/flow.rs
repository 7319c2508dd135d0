//! The sign-in itself: [`Identity::sso_begin`] sends the browser to the provider,
//! [`Identity::sso_finish`] takes it back, checks everything and opens a session.
//!
//! Which account a verified sign-in lands in, in order:
//! 1. the user already linked to this issuer and subject;
//! 2. an existing user with the same email, only when the provider allows linking and the
//!    email claim is verified (audited as `auth.sso_link`);
//! 3. a new user in the provider's organisation, only when that organisation allows SSO
//!    sign-up and the email is verified (audited as `auth.sso_signup`);
//! 4. otherwise nobody: the person is told to ask for an invitation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};
use switchboard_domain::{OrgId, OrgStatus};
use switchboard_store::UserStatus;
use switchboard_store::{MembershipRecord, OrgRecord, SsoLoginRecord, SsoSignup, UserRecord};

use super::id_token::{self, Claims, TokenError};
use super::oidc::OidcError;
use super::provider::SsoProvider;
use super::ProviderButton;
use crate::audit::Actor;
use crate::identity::login::NewSession;
use crate::identity::{clean_name, normalise_email, throttle, token, Identity, IdentityError};

/// The cookie that binds a sign-in to the browser that started it: `state.verifier`.
pub const SSO_COOKIE: &str = "sb_sso";
/// How long a started sign-in may take at the provider.
pub const SIGN_IN_VALID: chrono::Duration = chrono::Duration::minutes(10);

/// Where to send the browser, and what to put in [`SSO_COOKIE`].
#[derive(Clone, Debug)]
pub struct SsoStart {
    pub authorize_url: String,
    pub cookie_value: String,
}

/// The query of the redirect back from the provider.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct SsoCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

const GENERIC: &str = "Single sign-on failed; try again or sign in with your password.";

impl Identity {
    /// The configured providers, for the sign-in page.
    pub fn sso_buttons(&self) -> Vec<ProviderButton> {
        self.sso
            .iter()
            .map(|p| ProviderButton {
                id: p.id.clone(),
                name: p.name.clone(),
            })
            .collect()
    }

    fn sso_provider(&self, id: &str) -> Result<&SsoProvider, IdentityError> {
        self.sso
            .iter()
            .find(|p| p.id == id)
            .ok_or(IdentityError::NotFound)
    }

    /// Starts a sign-in: remembers its state and nonce, and returns the provider's
    /// authorization URL (code flow, PKCE S256) and the cookie value binding it to the browser.
    /// Unfinished starts are throttled per client address.
    pub async fn sso_begin(
        &self,
        provider_id: &str,
        redirect_uri: &str,
        return_to: Option<&str>,
        client: &str,
    ) -> Result<SsoStart, IdentityError> {
        let provider = self.sso_provider(provider_id)?;
        self.check_limit(throttle::SSO_START_CLIENT, client).await?;
        let metadata = self
            .oidc
            .metadata(provider, self.now())
            .await
            .map_err(|e| unreachable_provider(provider, &e))?;
        let (state, verifier, nonce) = (
            token::random_token(),
            token::random_token(),
            token::random_token(),
        );
        self.store
            .auth
            .put_sso_login(&SsoLoginRecord {
                state_hash: token::digest(&state),
                provider: provider.id.clone(),
                nonce: nonce.clone(),
                return_to: local_path(return_to),
                created_at: self.now(),
            })
            .await?;
        self.note_failure(throttle::SSO_START_CLIENT, client)
            .await?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let url = reqwest::Url::parse_with_params(
            &metadata.authorization_endpoint,
            [
                ("response_type", "code"),
                ("client_id", provider.client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("scope", provider.scope().as_str()),
                ("state", state.as_str()),
                ("nonce", nonce.as_str()),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
        .map_err(|_| {
            IdentityError::Internal("the provider's authorization endpoint is not a URL".into())
        })?;
        Ok(SsoStart {
            authorize_url: url.into(),
            cookie_value: format!("{state}.{verifier}"),
        })
    }

    /// Finishes a sign-in: checks the browser's cookie against the state, exchanges the code,
    /// validates the ID token and opens a session for the account it resolves to. Returns the
    /// session and the local path to continue at. Every refusal is audited with its reason.
    pub async fn sso_finish(
        &self,
        provider_id: &str,
        redirect_uri: &str,
        cookie: Option<&str>,
        callback: SsoCallback,
        client: &str,
    ) -> Result<(NewSession, String), IdentityError> {
        let provider = self.sso_provider(provider_id)?;
        match self
            .sso_verify(provider, redirect_uri, cookie, &callback)
            .await
        {
            Ok((claims, return_to)) => {
                let user = match self.sso_account(provider, &claims, client).await {
                    Ok(user) => user,
                    Err(refusal) => {
                        self.sso_refused(provider, client, refusal.reason).await?;
                        return Err(IdentityError::Sso(refusal.message));
                    }
                };
                let session = self.start_session(&user).await?;
                self.store
                    .auth
                    .clear_failures(throttle::SSO_START_CLIENT.scope, client)
                    .await?;
                self.record_for_user(
                    user.id,
                    Actor::User(user.id.to_string()),
                    "auth.login",
                    Some("ok"),
                    json!({ "method": "sso", "provider": provider.id, "email": user.email,
                            "client": client }),
                )
                .await?;
                Ok((session, return_to))
            }
            Err(refusal) => {
                self.sso_refused(provider, client, refusal.reason).await?;
                Err(IdentityError::Sso(refusal.message))
            }
        }
    }

    /// The checks up to verified claims: state and cookie, code exchange, ID token.
    async fn sso_verify(
        &self,
        provider: &SsoProvider,
        redirect_uri: &str,
        cookie: Option<&str>,
        callback: &SsoCallback,
    ) -> Result<(Claims, String), Refusal> {
        if let Some(error) = &callback.error {
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            return Err(Refusal::new(
                format!("provider error: {error}"),
                format!("{} did not sign you in ({error}).", provider.name),
            ));
        }
        let stale = || {
            Refusal::new(
                "state does not match this browser's sign-in".into(),
                "This sign-in has expired or was started in another browser; start again.".into(),
            )
        };
        let (Some(state), Some(code)) = (callback.state.as_deref(), callback.code.as_deref())
        else {
            return Err(stale());
        };
        let (cookie_state, verifier) = cookie.and_then(|c| c.split_once('.')).ok_or_else(stale)?;
        if !token::same(cookie_state, state) {
            return Err(stale());
        }
        let login = self
            .store
            .auth
            .take_sso_login(&token::digest(state))
            .await
            .map_err(|e| Refusal::internal(e.to_string()))?
            .ok_or_else(stale)?;
        if login.provider != provider.id || self.now() - login.created_at > SIGN_IN_VALID {
            return Err(stale());
        }

        let now = self.now();
        let metadata = self
            .oidc
            .metadata(provider, now)
            .await
            .map_err(|e| Refusal::provider(provider, &e))?;
        let secret = self
            .sso_client_secret(provider)
            .await
            .map_err(|e| Refusal::internal(e.to_string()))?;
        let id_token = self
            .oidc
            .exchange_code(
                provider,
                &metadata,
                secret.as_deref().map(|s| s.as_str()),
                code,
                redirect_uri,
                verifier,
            )
            .await
            .map_err(|e| Refusal::provider(provider, &e))?;
        let expected = id_token::Expected {
            issuer: &provider.issuer,
            client_id: &provider.client_id,
            nonce: &login.nonce,
            now: now.timestamp(),
        };
        let mut refreshed = false;
        loop {
            let jwks = self
                .oidc
                .jwks(provider, &metadata, now, refreshed)
                .await
                .map_err(|e| Refusal::provider(provider, &e))?;
            match id_token::verify(&id_token, &jwks, &expected) {
                Ok(claims) => return Ok((claims, login.return_to)),
                Err(TokenError::UnknownKey) if !refreshed => refreshed = true,
                Err(e) => return Err(Refusal::new(e.to_string(), format!("{GENERIC} ({e})"))),
            }
        }
    }

    /// The account a verified sign-in belongs to (see the module documentation).
    async fn sso_account(
        &self,
        provider: &SsoProvider,
        claims: &Claims,
        client: &str,
    ) -> Result<UserRecord, Refusal> {
        let store_failed = |e: switchboard_store::StoreError| Refusal::internal(e.to_string());
        let org = self
            .store
            .orgs
            .get_by_slug(&provider.organization)
            .await
            .map_err(store_failed)?
            .filter(|o| o.status == OrgStatus::Active);
        let signup_open = org.as_ref().filter(|o| o.allow_sso_signup);

        if let Some(id) = self
            .store
            .auth
            .oidc_user(&provider.issuer, &claims.subject)
            .await
            .map_err(store_failed)?
        {
            let user = self
                .store
                .users
                .get(id)
                .await
                .map_err(store_failed)?
                .filter(|u| u.status == UserStatus::Active)
                .ok_or_else(|| Refusal::new("user disabled".into(), GENERIC.into()))?;
            // Someone removed from the organisation comes back only if sign-up is open.
            if let Some(org) = signup_open {
                self.sso_join(provider, org, &user, claims).await?;
            }
            return Ok(user);
        }

        let verified_email = claims
            .email
            .as_deref()
            .filter(|_| claims.email_verified)
            .and_then(|e| normalise_email(e).ok());
        let Some(email) = verified_email else {
            return Err(Refusal::new(
                "no verified email claim".into(),
                format!(
                    "{} did not confirm a verified email address, so no account can be chosen.",
                    provider.name
                ),
            ));
        };

        if let Some(user) = self
            .store
            .users
            .get_by_email(&email)
            .await
            .map_err(store_failed)?
        {
            if !provider.link_existing_accounts || user.status != UserStatus::Active {
                return Err(Refusal::new(
                    "an account with this email exists and linking is off".into(),
                    "An account with this email already exists here; sign in with your \
                     password instead."
                        .into(),
                ));
            }
            self.store
                .auth
                .link_oidc(&provider.issuer, &claims.subject, user.id, self.now())
                .await
                .map_err(store_failed)?;
            self.sso_audit_user(&user, "auth.sso_link", provider, client)
                .await?;
            if let Some(org) = signup_open {
                self.sso_join(provider, org, &user, claims).await?;
            }
            return Ok(user);
        }

        let no_account = || {
            Refusal::new(
                "no account and sign-up is closed".into(),
                "There is no account here for you yet; ask an administrator for an invitation."
                    .into(),
            )
        };
        let org = signup_open.ok_or_else(no_account)?;
        let role = provider.role_for(claims).ok_or_else(no_account)?;
        let name = claims
            .name
            .as_deref()
            .and_then(|n| clean_name("name", n).ok())
            .unwrap_or_else(|| email.clone());
        let user = self.new_user(email, name, None, false);
        self.store
            .auth
            .sso_signup(&SsoSignup {
                user: &user,
                issuer: &provider.issuer,
                subject: &claims.subject,
                org: org.id,
                role,
                at: self.now(),
            })
            .await
            .map_err(store_failed)?;
        self.sso_audit_user(&user, "auth.sso_signup", provider, client)
            .await?;
        Ok(user)
    }

    /// Adds a linked user to the provider's organisation when they are not a member yet.
    /// Existing memberships keep the role an admin gave them.
    async fn sso_join(
        &self,
        provider: &SsoProvider,
        org: &OrgRecord,
        user: &UserRecord,
        claims: &Claims,
    ) -> Result<(), Refusal> {
        let store_failed = |e: switchboard_store::StoreError| Refusal::internal(e.to_string());
        let member = self
            .store
            .memberships
            .get(org.id, user.id)
            .await
            .map_err(store_failed)?;
        let Some(role) = provider.role_for(claims).filter(|_| member.is_none()) else {
            return Ok(());
        };
        self.store
            .memberships
            .upsert(&MembershipRecord {
                org_id: org.id,
                user_id: user.id,
                role,
                created_at: self.now(),
            })
            .await
            .map_err(store_failed)?;
        self.record(
            org.id,
            Actor::User(user.id.to_string()),
            "member.join",
            Some(user.id.to_string()),
            Some("ok"),
            json!({ "method": "sso", "provider": provider.id, "role": role.as_str() }),
        )
        .await
        .map_err(|e| Refusal::internal(e.to_string()))
    }

    async fn sso_audit_user(
        &self,
        user: &UserRecord,
        kind: &str,
        provider: &SsoProvider,
        client: &str,
    ) -> Result<(), Refusal> {
        self.record_for_user(
            user.id,
            Actor::User(user.id.to_string()),
            kind,
            Some("ok"),
            json!({ "provider": provider.id, "issuer": provider.issuer, "email": user.email,
                    "client": client }),
        )
        .await
        .map_err(|e| Refusal::internal(e.to_string()))
    }

    /// Audits a refused sign-in in the provider's organisation (the platform chain when it
    /// does not exist).
    async fn sso_refused(
        &self,
        provider: &SsoProvider,
        client: &str,
        reason: String,
    ) -> Result<(), IdentityError> {
        tracing::info!(provider = %provider.id, %reason, "single sign-on refused");
        let org = self
            .store
            .orgs
            .get_by_slug(&provider.organization)
            .await?
            .map_or(OrgId::PLATFORM, |o| o.id);
        self.record(
            org,
            Actor::System,
            "auth.login",
            None,
            Some("denied"),
            json!({ "method": "sso", "provider": provider.id, "reason": reason,
                    "client": client }),
        )
        .await
    }

    async fn sso_client_secret(
        &self,
        provider: &SsoProvider,
    ) -> Result<Option<zeroize::Zeroizing<String>>, IdentityError> {
        let Some(id) = self.store.auth.sso_client_secret(&provider.id).await? else {
            return Ok(None);
        };
        let bytes = self
            .secrets
            .open(id, None, &provider.secret_purpose())
            .await?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| IdentityError::Internal("SSO client secret is not text".into()))?;
        Ok(Some(zeroize::Zeroizing::new(text)))
    }

    /// Seals a provider's client secret in the vault (replacing an earlier one).
    pub async fn set_sso_client_secret(
        &self,
        provider_id: &str,
        secret: &str,
    ) -> Result<(), IdentityError> {
        let provider = self.sso_provider(provider_id)?;
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(IdentityError::invalid(
                "client_secret",
                "The secret is empty.",
            ));
        }
        let purpose = provider.secret_purpose();
        match self.store.auth.sso_client_secret(&provider.id).await? {
            Some(id) => {
                self.secrets
                    .replace(id, None, &purpose, secret.as_bytes())
                    .await?
            }
            None => {
                let id = self.secrets.seal(None, &purpose, secret.as_bytes()).await?;
                self.store
                    .auth
                    .put_sso_client_secret(&provider.id, id, self.now())
                    .await?;
            }
        }
        self.record(
            OrgId::PLATFORM,
            Actor::System,
            "sso.client_secret",
            Some(provider.id.clone()),
            Some("ok"),
            json!({ "provider": provider.id }),
        )
        .await
    }

    /// Whether a provider's client secret is sealed in the vault.
    pub async fn sso_secret_is_set(&self, provider_id: &str) -> Result<bool, IdentityError> {
        let provider = self.sso_provider(provider_id)?;
        Ok(self
            .store
            .auth
            .sso_client_secret(&provider.id)
            .await?
            .is_some())
    }

    /// Deletes sign-ins abandoned at the provider (run periodically).
    pub async fn purge_sso_logins(&self) -> Result<u64, IdentityError> {
        Ok(self
            .store
            .auth
            .purge_sso_logins(self.now() - SIGN_IN_VALID)
            .await?)
    }
}

/// A refused sign-in: the reason for the audit log and the message for the person.
struct Refusal {
    reason: String,
    message: String,
}

impl Refusal {
    fn new(reason: String, message: String) -> Refusal {
        Refusal { reason, message }
    }

    fn internal(detail: String) -> Refusal {
        tracing::error!(%detail, "single sign-on failed inside the hub");
        Refusal::new("internal error".into(), GENERIC.into())
    }

    fn provider(provider: &SsoProvider, e: &OidcError) -> Refusal {
        tracing::warn!(provider = %provider.id, error = %e, "single sign-on provider failed");
        Refusal::new(
            e.to_string(),
            format!("{GENERIC} ({} answered unexpectedly.)", provider.name),
        )
    }
}

fn unreachable_provider(provider: &SsoProvider, e: &OidcError) -> IdentityError {
    tracing::warn!(provider = %provider.id, error = %e, "single sign-on provider failed");
    IdentityError::Sso(format!(
        "{} cannot be reached right now; try again later or sign in with your password.",
        provider.name
    ))
}

/// A local path to continue at after signing in; anything else (other hosts, `//host`)
/// becomes `/`.
fn local_path(requested: Option<&str>) -> String {
    match requested {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path(Some("/members?x=1")), "/members?x=1");
        for bad in [
            "//evil.example.com",
            "https://evil.example.com",
            "/\\evil",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }
}
