//! A minimal OpenID provider on loopback for single sign-on tests: discovery, JWKS and a
//! token endpoint that checks client authentication, the redirect URI and PKCE, and signs
//! ES256 ID tokens. The authorization step (a person signing in at the provider) is done by
//! the test with [`FakeIdp::authorize`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const CLIENT_SECRET: &str = "fake-idp-client-secret";

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: String,
    claims: Value,
}

struct Inner {
    issuer: String,
    key: EcdsaKeyPair,
    grants: Mutex<HashMap<String, Grant>>,
    /// When set, ID tokens name this audience instead of the client (a mixed-up provider).
    audience: Mutex<Option<String>>,
}

#[derive(Clone)]
pub struct FakeIdp {
    inner: Arc<Inner>,
}

/// What the browser would carry back from the provider.
pub struct Authorized {
    pub code: String,
    pub state: String,
}

impl FakeIdp {
    pub async fn start() -> FakeIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let idp = FakeIdp {
            inner: Arc::new(Inner {
                issuer,
                key,
                grants: Mutex::new(HashMap::new()),
                audience: Mutex::new(None),
            }),
        };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(idp.clone());
        #[allow(
            clippy::disallowed_methods,
            reason = "test server, ends with the runtime"
        )]
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        idp
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Mints later ID tokens for `audience` instead of the requesting client.
    pub fn misdirect_tokens_to(&self, audience: &str) {
        *self.inner.audience.lock().unwrap() = Some(audience.to_owned());
    }

    /// A person signs in at the authorization URL the hub redirected to; returns the code
    /// and state the provider sends back.
    pub fn authorize(&self, authorize_url: &str, claims: Value) -> Authorized {
        let url = reqwest::Url::parse(authorize_url).unwrap();
        assert!(authorize_url.starts_with(&format!("{}/authorize", self.inner.issuer)));
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(q["scope"].split(' ').any(|s| s == "openid"));
        let code = format!(
            "code-{}",
            q["state"].len() + self.inner.grants.lock().unwrap().len()
        );
        self.inner.grants.lock().unwrap().insert(
            code.clone(),
            Grant {
                client_id: q["client_id"].clone(),
                redirect_uri: q["redirect_uri"].clone(),
                challenge: q["code_challenge"].clone(),
                nonce: q["nonce"].clone(),
                claims,
            },
        );
        Authorized {
            code,
            state: q["state"].clone(),
        }
    }
}

async fn discovery(State(idp): State<FakeIdp>) -> Json<Value> {
    let issuer = &idp.inner.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(idp): State<FakeIdp>) -> Json<Value> {
    let point = idp.inner.key.public_key().as_ref();
    Json(json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "fake-1", "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]}))
}

async fn token(
    State(idp): State<FakeIdp>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let refuse = |error: &str| (StatusCode::BAD_REQUEST, Json(json!({ "error": error })));
    let Some(grant) = idp.inner.grants.lock().unwrap().remove(&form["code"]) else {
        return refuse("invalid_grant");
    };
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{CLIENT_SECRET}", grant.client_id))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return refuse("invalid_grant");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return refuse("invalid_grant");
    }
    let now = switchboard_domain::Clock::now(&switchboard_domain::SystemClock).timestamp();
    let audience = idp
        .inner
        .audience
        .lock()
        .unwrap()
        .clone()
        .unwrap_or(grant.client_id);
    let mut claims = json!({
        "iss": idp.inner.issuer, "aud": audience, "iat": now, "exp": now + 300,
        "nonce": grant.nonce,
    });
    for (k, v) in grant.claims.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "fake-1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = idp
        .inner
        .key
        .sign(&SystemRandom::new(), signed.as_bytes())
        .unwrap();
    let id_token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
    (
        StatusCode::OK,
        Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token})),
    )
}
