//! OpenID Connect single sign-on (DESIGN 4.1): providers named in the configuration, the
//! authorization-code flow with PKCE, nonce and state, ID tokens checked against the
//! provider's JWKS, and the rules that decide which account a sign-in lands in.
//!
//! Rooms: `provider` (configuration and its checks), `oidc` (discovery, JWKS and the token
//! endpoint, with caching), `id_token` (JWS and claim validation), `flow` (begin and finish
//! on [`super::Identity`]).

pub mod flow;
pub mod id_token;
pub mod oidc;
pub mod provider;

pub use flow::{SsoCallback, SsoStart, SSO_COOKIE};
pub use provider::{ProviderError, SsoProvider};

/// A provider as the sign-in page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderButton {
    pub id: String,
    pub name: String,
}
