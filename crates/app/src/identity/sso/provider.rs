//! One configured OpenID provider and the checks its configuration must pass at startup.

use std::collections::BTreeMap;

use switchboard_domain::{Role, Slug};

/// An OpenID provider people may sign in with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoProvider {
    /// Short name used in URLs (`/auth/sso/{id}`) and for its sealed client secret.
    pub id: String,
    /// Shown on the sign-in button: "Sign in with {name}".
    pub name: String,
    /// Exactly as the provider's discovery document states it.
    pub issuer: String,
    pub client_id: String,
    /// Requested scopes; `openid` is always included.
    pub scopes: Vec<String>,
    /// The organisation new users join (when it allows SSO sign-up).
    pub organization: String,
    /// Claim whose values map to roles (a string or an array, e.g. `groups`).
    pub role_claim: Option<String>,
    /// Claim value → role. The highest matching role wins.
    pub role_map: BTreeMap<String, Role>,
    /// Role when no value maps; `None` refuses sign-up to people without a mapped value.
    pub default_role: Option<Role>,
    /// Link a sign-in to an existing local account with the same, verified, email.
    pub link_existing_accounts: bool,
}

/// A configuration mistake, naming the provider and the field.
#[derive(Debug, thiserror::Error)]
#[error("SSO provider `{provider}`: {field}: {message}")]
pub struct ProviderError {
    pub provider: String,
    pub field: &'static str,
    pub message: String,
}

impl SsoProvider {
    /// Checks the configuration. Issuers must use https, except on loopback (tests, local
    /// providers); no mapping may grant `owner`, which is only ever given by a person.
    pub fn validate(&self) -> Result<(), ProviderError> {
        let fail = |field: &'static str, message: &str| ProviderError {
            provider: self.id.clone(),
            field,
            message: message.to_owned(),
        };
        if let Err(e) = Slug::parse(&self.id) {
            return Err(fail("id", &format!("{e} (it appears in URLs)")));
        }
        if self.name.trim().is_empty() {
            return Err(fail("name", "must not be empty"));
        }
        if !issuer_allowed(&self.issuer) {
            return Err(fail(
                "issuer",
                "must be an https:// URL (http:// only on loopback)",
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(fail("client_id", "must not be empty"));
        }
        if Slug::parse(&self.organization).is_err() {
            return Err(fail("organization", "must be an organisation slug"));
        }
        let grants_owner = self.default_role == Some(Role::Owner)
            || self.role_map.values().any(|r| *r == Role::Owner);
        if grants_owner {
            return Err(fail(
                "role_map",
                "single sign-on never grants owner; promote owners in the console",
            ));
        }
        if !self.role_map.is_empty() && self.role_claim.is_none() {
            return Err(fail("role_claim", "role_map needs the claim to read"));
        }
        Ok(())
    }

    /// The scopes sent to the provider, `openid` first.
    pub fn scope(&self) -> String {
        let mut scopes = vec!["openid"];
        scopes.extend(
            self.scopes
                .iter()
                .map(String::as_str)
                .filter(|s| *s != "openid"),
        );
        scopes.join(" ")
    }

    /// The role a new member gets from the token's claims: the highest mapped value, else the
    /// default.
    pub fn role_for(&self, claims: &super::id_token::Claims) -> Option<Role> {
        let mapped = self.role_claim.as_deref().and_then(|claim| {
            claims
                .strings(claim)
                .into_iter()
                .filter_map(|value| self.role_map.get(value).copied())
                .max()
        });
        mapped.or(self.default_role)
    }

    /// The vault purpose its client secret is sealed under.
    pub fn secret_purpose(&self) -> String {
        format!("sso-client-secret:{}", self.id)
    }
}

fn issuer_allowed(issuer: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(issuer) else {
        return false;
    };
    match url.scheme() {
        "https" => true,
        "http" => matches!(
            url.host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::identity::sso::id_token::Claims;

    fn provider() -> SsoProvider {
        SsoProvider {
            id: "authentik".into(),
            name: "Authentik".into(),
            issuer: "https://id.example.com/application/o/switchboard/".into(),
            client_id: "switchboard".into(),
            scopes: vec!["email".into(), "profile".into(), "openid".into()],
            organization: "acme".into(),
            role_claim: Some("groups".into()),
            role_map: BTreeMap::from([
                ("it-admins".into(), Role::Admin),
                ("staff".into(), Role::Member),
            ]),
            default_role: Some(Role::Viewer),
            link_existing_accounts: false,
        }
    }

    fn claims(groups: serde_json::Value) -> Claims {
        Claims {
            subject: "s".into(),
            email: None,
            email_verified: false,
            name: None,
            all: json!({ "groups": groups }).as_object().unwrap().clone(),
        }
    }

    #[test]
    fn configuration_mistakes_are_named() {
        assert!(provider().validate().is_ok());
        type Change = fn(&mut SsoProvider);
        let cases: [(Change, &str); 6] = [
            (|p| p.id = "Auth Entik".into(), "id"),
            (|p| p.issuer = "http://id.example.com".into(), "issuer"),
            (|p| p.client_id = " ".into(), "client_id"),
            (|p| p.default_role = Some(Role::Owner), "role_map"),
            (
                |p| {
                    p.role_map.insert("boss".into(), Role::Owner);
                },
                "role_map",
            ),
            (|p| p.role_claim = None, "role_claim"),
        ];
        for (change, field) in cases {
            let mut p = provider();
            change(&mut p);
            assert_eq!(p.validate().unwrap_err().field, field);
        }
        let mut local = provider();
        local.issuer = "http://127.0.0.1:9000".into();
        assert!(local.validate().is_ok());
    }

    #[test]
    fn the_highest_mapped_role_wins_and_the_default_covers_the_rest() {
        let p = provider();
        assert_eq!(
            p.role_for(&claims(json!(["staff", "it-admins"]))),
            Some(Role::Admin)
        );
        assert_eq!(p.role_for(&claims(json!("staff"))), Some(Role::Member));
        assert_eq!(p.role_for(&claims(json!(["visitors"]))), Some(Role::Viewer));
        let strict = SsoProvider {
            default_role: None,
            ..provider()
        };
        assert_eq!(strict.role_for(&claims(json!([]))), None);
        assert_eq!(p.scope(), "openid email profile");
    }
}
