//! Talking to OpenID providers: discovery (`/.well-known/openid-configuration`), the JWKS
//! and the token endpoint. Discovery documents and key sets are cached for an hour; a token
//! signed by a key the cache does not know triggers one refresh, at most every 30 seconds, so
//! key rotation works without letting junk tokens hammer the provider.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use switchboard_domain::Timestamp;
use tokio::sync::Mutex;

use super::id_token::Jwks;
use super::provider::SsoProvider;

/// How long discovery documents and key sets are trusted.
const CACHE_FOR: chrono::Duration = chrono::Duration::hours(1);
/// Least time between two key-set refreshes caused by an unknown key.
const REFRESH_AT_MOST_EVERY: chrono::Duration = chrono::Duration::seconds(30);
/// Largest response read from a provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The parts of a discovery document the flow uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// Why talking to a provider failed. Shown to operators in logs; users see a generic message.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("cannot reach the provider: {0}")]
    Unreachable(String),
    #[error("the provider answered {status} at {what}")]
    Status { what: &'static str, status: u16 },
    #[error("the provider's {0} is not valid JSON of the expected shape")]
    Shape(&'static str),
    #[error("the discovery document names issuer {found}, not the configured {configured}")]
    IssuerMismatch { configured: String, found: String },
    #[error("the provider does not support PKCE with S256")]
    NoPkce,
    #[error("the token endpoint refused the code: {0}")]
    TokenRefused(String),
}

#[derive(Clone, Debug)]
struct Cached {
    metadata: Metadata,
    metadata_at: Timestamp,
    jwks: Option<(Jwks, Timestamp)>,
}

/// HTTP client and caches, shared by every sign-in.
#[derive(Debug)]
pub struct OidcClient {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

/// What the token endpoint returns that the flow needs.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl Default for OidcClient {
    fn default() -> Self {
        OidcClient::new()
    }
}

impl OidcClient {
    pub fn new() -> OidcClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::limited(3))
            // Sign-ins are rare: a pooled connection is usually stale by the next one, and a
            // provider that closed it (Node's 5 s keep-alive, proxies) would fail the sign-in
            // with "connection closed before message completed". Connect afresh each time.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        OidcClient {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The provider's discovery document, from the cache when fresh.
    pub async fn metadata(
        &self,
        provider: &SsoProvider,
        now: Timestamp,
    ) -> Result<Metadata, OidcError> {
        if let Some(cached) = self.cache.lock().await.get(&provider.id) {
            if now - cached.metadata_at < CACHE_FOR {
                return Ok(cached.metadata.clone());
            }
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            provider.issuer.trim_end_matches('/')
        );
        let metadata: Metadata = self.get_json(&url, "discovery document").await?;
        if metadata.issuer != provider.issuer {
            return Err(OidcError::IssuerMismatch {
                configured: provider.issuer.clone(),
                found: metadata.issuer,
            });
        }
        if let Some(methods) = &metadata.code_challenge_methods_supported {
            if !methods.iter().any(|m| m == "S256") {
                return Err(OidcError::NoPkce);
            }
        }
        self.cache.lock().await.insert(
            provider.id.clone(),
            Cached {
                metadata: metadata.clone(),
                metadata_at: now,
                jwks: None,
            },
        );
        Ok(metadata)
    }

    /// The provider's key set. `refresh` asks for a fresh copy (a token named an unknown
    /// key); it is honoured at most every [`REFRESH_AT_MOST_EVERY`].
    pub async fn jwks(
        &self,
        provider: &SsoProvider,
        metadata: &Metadata,
        now: Timestamp,
        refresh: bool,
    ) -> Result<Jwks, OidcError> {
        if let Some((jwks, at)) = self
            .cache
            .lock()
            .await
            .get(&provider.id)
            .and_then(|c| c.jwks.clone())
        {
            let age = now - at;
            let fresh = age < CACHE_FOR && !(refresh && age >= REFRESH_AT_MOST_EVERY);
            if fresh {
                return Ok(jwks);
            }
        }
        let jwks: Jwks = self.get_json(&metadata.jwks_uri, "key set").await?;
        if let Some(cached) = self.cache.lock().await.get_mut(&provider.id) {
            cached.jwks = Some((jwks.clone(), now));
        }
        Ok(jwks)
    }

    /// Exchanges an authorization code (with its PKCE verifier) for an ID token.
    pub async fn exchange_code(
        &self,
        provider: &SsoProvider,
        metadata: &Metadata,
        client_secret: Option<&str>,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let mut request = self.http.post(&metadata.token_endpoint);
        let methods = metadata.token_endpoint_auth_methods_supported.as_deref();
        let supports = |m: &str| methods.is_none_or(|all| all.iter().any(|x| x == m));
        match client_secret {
            // RFC 6749 2.3.1: both parts are form-encoded before the Basic encoding.
            Some(secret) if supports("client_secret_basic") => {
                request =
                    request.basic_auth(form_encode(&provider.client_id), Some(form_encode(secret)));
            }
            Some(secret) => {
                form.push(("client_id", &provider.client_id));
                form.push(("client_secret", secret));
            }
            None => form.push(("client_id", &provider.client_id)),
        }
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(without_url(&e)))?;
        let status = response.status();
        let body = read_limited(response).await?;
        if !status.is_success() {
            let reason = serde_json::from_slice::<TokenErrorResponse>(&body)
                .map(|e| match e.error_description {
                    Some(d) => format!("{} ({d})", e.error),
                    None => e.error,
                })
                .unwrap_or_else(|_| format!("HTTP {}", status.as_u16()));
            return Err(OidcError::TokenRefused(reason));
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| OidcError::Shape("token response"))?;
        parsed.id_token.ok_or(OidcError::Shape("token response"))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &'static str,
    ) -> Result<T, OidcError> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(without_url(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(OidcError::Status {
                what,
                status: status.as_u16(),
            });
        }
        let body = read_limited(response).await?;
        serde_json::from_slice(&body).map_err(|_| OidcError::Shape(what))
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, OidcError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| OidcError::Unreachable(without_url(&e)))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(OidcError::Shape("response (too large)"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest errors name the URL, which for the token endpoint is harmless, but keep messages
/// short and free of query strings anyway.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "");
    }
    text.trim().to_owned()
}

fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::form_encode;

    #[test]
    fn client_credentials_are_form_encoded() {
        assert_eq!(form_encode("a b+c:d/é"), "a+b%2Bc%3Ad%2F%C3%A9");
        assert_eq!(form_encode("plain-id_1.x"), "plain-id_1.x");
    }
}
