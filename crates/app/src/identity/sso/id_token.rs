//! ID-token validation (OpenID Connect Core 3.1.3.7): a JWS signed with a key from the
//! provider's JWKS, issued by the configured issuer, for this client, not expired, carrying
//! the nonce of this sign-in.
//!
//! Accepted signatures: RS256, PS256 and ES256. `none` and the HMAC algorithms are refused:
//! an ID token from the token endpoint must still be verifiable by its public key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Clock skew tolerated between the provider and the hub.
pub const LEEWAY_SECONDS: i64 = 60;

/// One public key of a JWKS.
#[derive(Clone, Debug, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub usage: Option<String>,
    // RSA
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    // EC
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

/// A JSON Web Key Set.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// What the token must say.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Seconds since the epoch.
    pub now: i64,
}

/// Why a token was refused. The message names the check, never the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the ID token is malformed ({0})")]
    Malformed(&'static str),
    #[error("the ID token uses the algorithm {0}, which is not accepted")]
    Algorithm(String),
    /// No key of the JWKS matches the token's `kid`: the caller may refresh the JWKS once.
    #[error("no key of the provider matches the ID token")]
    UnknownKey,
    #[error("the ID token's signature is invalid")]
    Signature,
    #[error("the ID token was issued by another issuer")]
    Issuer,
    #[error("the ID token was issued for another client (audience)")]
    Audience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is dated in the future")]
    NotYetValid,
    #[error("the ID token's nonce does not match this sign-in")]
    Nonce,
}

/// The verified claims of an ID token.
#[derive(Clone, Debug)]
pub struct Claims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Every claim, for the claim-to-role mapping.
    pub all: Map<String, Value>,
}

impl Claims {
    /// The string values of a claim: a string, or the strings of an array (e.g. `groups`).
    pub fn strings(&self, claim: &str) -> Vec<&str> {
        match self.all.get(claim) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// Verifies `token` against the keys and expectations and returns its claims.
pub fn verify(token: &str, jwks: &Jwks, expected: &Expected<'_>) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not a signed JWT"));
    };
    let header: Header = decode_json(header_b64, "header")?;
    let algorithm = Algorithm::parse(&header.alg)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| TokenError::Malformed("signature encoding"))?;
    let key = select_key(jwks, header.kid.as_deref(), algorithm)?;
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    algorithm.verify(key, signed.as_bytes(), &signature)?;

    let claims: Map<String, Value> = decode_json(payload_b64, "payload")?;
    check_claims(&claims, expected)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let subject = text("sub")
        .filter(|s| !s.is_empty())
        .ok_or(TokenError::Malformed("no subject"))?;
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        // Some providers send the string form.
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(Claims {
        subject,
        email: text("email"),
        email_verified,
        name: text("name"),
        all: claims,
    })
}

fn check_claims(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<(), TokenError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(TokenError::Issuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(TokenError::Audience);
    }
    // With several audiences, the authorised party must be us (OIDC Core 3.1.3.7, 4-5).
    if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
        if azp != expected.client_id {
            return Err(TokenError::Audience);
        }
    } else if audiences.len() > 1 {
        return Err(TokenError::Audience);
    }
    let seconds = |name: &str| claims.get(name).and_then(Value::as_f64).map(|v| v as i64);
    let exp = seconds("exp").ok_or(TokenError::Malformed("no expiry"))?;
    if exp + LEEWAY_SECONDS <= expected.now {
        return Err(TokenError::Expired);
    }
    if let Some(iat) = seconds("iat") {
        if iat - LEEWAY_SECONDS > expected.now {
            return Err(TokenError::NotYetValid);
        }
    }
    let nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    if !crate::identity::token::same(nonce, expected.nonce) {
        return Err(TokenError::Nonce);
    }
    Ok(())
}

fn decode_json<T: serde::de::DeserializeOwned>(
    part: &str,
    what: &'static str,
) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(what))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algorithm {
    Rs256,
    Ps256,
    Es256,
}

impl Algorithm {
    fn parse(name: &str) -> Result<Algorithm, TokenError> {
        match name {
            "RS256" => Ok(Algorithm::Rs256),
            "PS256" => Ok(Algorithm::Ps256),
            "ES256" => Ok(Algorithm::Es256),
            other => Err(TokenError::Algorithm(other.chars().take(16).collect())),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Ps256 => "PS256",
            Algorithm::Es256 => "ES256",
        }
    }

    fn key_type(self) -> &'static str {
        match self {
            Algorithm::Rs256 | Algorithm::Ps256 => "RSA",
            Algorithm::Es256 => "EC",
        }
    }

    fn verify(self, key: &Jwk, message: &[u8], sig: &[u8]) -> Result<(), TokenError> {
        let field = |value: &Option<String>| {
            value
                .as_deref()
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
                .ok_or(TokenError::UnknownKey)
        };
        match self {
            Algorithm::Rs256 | Algorithm::Ps256 => {
                let (n, e) = (field(&key.n)?, field(&key.e)?);
                let params = if self == Algorithm::Rs256 {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &signature::RSA_PSS_2048_8192_SHA256
                };
                signature::RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(params, message, sig)
                    .map_err(|_| TokenError::Signature)
            }
            Algorithm::Es256 => {
                if key.crv.as_deref() != Some("P-256") {
                    return Err(TokenError::UnknownKey);
                }
                let (x, y) = (field(&key.x)?, field(&key.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(TokenError::UnknownKey);
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .map_err(|_| TokenError::Signature)
            }
        }
    }
}

/// The key a token names: by `kid`, or the only signing key of the right type when the token
/// names none.
fn select_key<'a>(
    jwks: &'a Jwks,
    kid: Option<&str>,
    algorithm: Algorithm,
) -> Result<&'a Jwk, TokenError> {
    let usable = |k: &&Jwk| {
        k.kty == algorithm.key_type()
            && k.usage.as_deref().is_none_or(|u| u == "sig")
            && k.alg.as_deref().is_none_or(|a| a == algorithm.name())
    };
    let mut candidates = jwks.keys.iter().filter(usable);
    match kid {
        Some(kid) => candidates
            .find(|k| k.kid.as_deref() == Some(kid))
            .ok_or(TokenError::UnknownKey),
        None => match (candidates.next(), candidates.next()) {
            (Some(only), None) => Ok(only),
            _ => Err(TokenError::UnknownKey),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    struct Signer {
        pair: EcdsaKeyPair,
        kid: &'static str,
    }

    impl Signer {
        fn new(kid: &'static str) -> Signer {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            Signer { pair, kid }
        }

        fn jwk(&self) -> Jwk {
            let point = self.pair.public_key().as_ref();
            Jwk {
                kty: "EC".into(),
                kid: Some(self.kid.into()),
                alg: Some("ES256".into()),
                usage: Some("sig".into()),
                n: None,
                e: None,
                crv: Some("P-256".into()),
                x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
                y: Some(URL_SAFE_NO_PAD.encode(&point[33..65])),
            }
        }

        fn sign(&self, header: Value, claims: Value) -> String {
            let signed = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let sig = self
                .pair
                .sign(&SystemRandom::new(), signed.as_bytes())
                .unwrap();
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }

        fn token(&self, claims: Value) -> String {
            self.sign(json!({"alg": "ES256", "kid": self.kid}), claims)
        }
    }

    fn claims() -> Value {
        json!({
            "iss": "https://id.example.com", "aud": "switchboard", "sub": "user-1",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-123",
            "email": "ada@example.com", "email_verified": true, "groups": ["staff", "it-admins"],
        })
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://id.example.com",
            client_id: "switchboard",
            nonce: "n-123",
            now: NOW,
        }
    }

    fn with(changes: Value) -> Value {
        let mut base = claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base
    }

    #[test]
    fn a_good_token_yields_its_claims() {
        let signer = Signer::new("k1");
        let jwks = Jwks {
            keys: vec![signer.jwk()],
        };
        let claims = verify(&signer.token(claims()), &jwks, &expected()).unwrap();
        assert_eq!(claims.subject, "user-1");
        assert_eq!(claims.email.as_deref(), Some("ada@example.com"));
        assert!(claims.email_verified);
        assert_eq!(claims.strings("groups"), ["staff", "it-admins"]);
    }

    #[test]
    fn each_claim_check_refuses_its_own_failure() {
        let signer = Signer::new("k1");
        let jwks = Jwks {
            keys: vec![signer.jwk()],
        };
        let cases = [
            (
                json!({"iss": "https://evil.example.com"}),
                TokenError::Issuer,
            ),
            (json!({"aud": "someone-else"}), TokenError::Audience),
            (
                json!({"aud": ["someone-else", "switchboard"]}),
                TokenError::Audience,
            ),
            (
                json!({"aud": ["switchboard", "x"], "azp": "x"}),
                TokenError::Audience,
            ),
            (
                json!({"exp": NOW - LEEWAY_SECONDS - 1}),
                TokenError::Expired,
            ),
            (
                json!({"iat": NOW + LEEWAY_SECONDS + 10}),
                TokenError::NotYetValid,
            ),
            (json!({"nonce": "n-999"}), TokenError::Nonce),
            (json!({"nonce": null}), TokenError::Nonce),
            (json!({"exp": null}), TokenError::Malformed("no expiry")),
            (json!({"sub": ""}), TokenError::Malformed("no subject")),
        ];
        for (change, error) in cases {
            let token = signer.token(with(change.clone()));
            assert_eq!(
                verify(&token, &jwks, &expected()).unwrap_err(),
                error,
                "{change}"
            );
        }
        // Several audiences are fine when we are the authorised party.
        let token = signer.token(with(
            json!({"aud": ["switchboard", "x"], "azp": "switchboard"}),
        ));
        assert!(verify(&token, &jwks, &expected()).is_ok());
        // Within the leeway, an expired token still passes.
        let token = signer.token(with(json!({"exp": NOW - 10})));
        assert!(verify(&token, &jwks, &expected()).is_ok());
    }

    #[test]
    fn signatures_keys_and_algorithms_are_checked() {
        let signer = Signer::new("k1");
        let other = Signer::new("k1");
        let jwks = Jwks {
            keys: vec![signer.jwk()],
        };
        // Signed by another key under the same kid.
        let forged = other.token(claims());
        assert_eq!(
            verify(&forged, &jwks, &expected()).unwrap_err(),
            TokenError::Signature
        );
        // Payload swapped after signing.
        let good = signer.token(claims());
        let evil = signer.token(with(json!({"sub": "admin"})));
        let parts: Vec<&str> = good.split('.').collect();
        let evil_payload = evil.split('.').nth(1).unwrap();
        let spliced = format!("{}.{}.{}", parts[0], evil_payload, parts[2]);
        assert_eq!(
            verify(&spliced, &jwks, &expected()).unwrap_err(),
            TokenError::Signature
        );
        // Unknown kid: the caller refreshes the JWKS.
        let stranger = Signer::new("k2").token(claims());
        assert_eq!(
            verify(&stranger, &jwks, &expected()).unwrap_err(),
            TokenError::UnknownKey
        );
        // `none` and HMAC are refused before any key is looked at.
        for alg in ["none", "HS256"] {
            let token = signer.sign(json!({"alg": alg, "kid": "k1"}), claims());
            assert_eq!(
                verify(&token, &jwks, &expected()).unwrap_err(),
                TokenError::Algorithm(alg.into())
            );
        }
        assert_eq!(
            verify("a.b", &jwks, &expected()).unwrap_err(),
            TokenError::Malformed("not a signed JWT")
        );
        // Without a kid, the only EC key is used.
        let no_kid = signer.sign(json!({"alg": "ES256"}), claims());
        assert!(verify(&no_kid, &jwks, &expected()).is_ok());
    }
}
