//! Single sign-on through the browser routes against a fake OpenID provider, on both
//! databases: sign-up where allowed with the mapped role, linking only when configured, the
//! browser binding and single use of a sign-in, and ID tokens for another audience refused.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_app::identity::sso::SsoProvider;
use switchboard_domain::Role;

use crate::fake_idp::{FakeIdp, CLIENT_SECRET};
use crate::harness::{Caller, TestServer};

fn provider(idp: &FakeIdp, id: &str, link: bool) -> SsoProvider {
    SsoProvider {
        id: id.to_owned(),
        name: format!("{id} login"),
        issuer: idp.issuer().to_owned(),
        client_id: format!("client-{id}"),
        scopes: vec!["email".into(), "profile".into()],
        organization: "ops".into(),
        role_claim: Some("groups".into()),
        role_map: BTreeMap::from([("staff".into(), Role::Member), ("it".into(), Role::Admin)]),
        default_role: None,
        link_existing_accounts: link,
    }
}

/// What one browser carries through a sign-in.
struct Browser {
    sso_cookie: Option<String>,
}

fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

impl Browser {
    /// Clicks "Sign in with …": returns the provider's authorization URL.
    async fn begin(server: &TestServer, provider: &str) -> (Browser, String) {
        let response = server.get(&format!("/auth/sso/{provider}")).await;
        assert_eq!(response.status().as_u16(), 303);
        let browser = Browser {
            sso_cookie: cookie_value(&response, "sb_sso"),
        };
        assert!(
            browser.sso_cookie.is_some(),
            "the sign-in is bound to the browser"
        );
        (browser, location(&response))
    }

    /// Comes back from the provider; returns the session (if any) and where it was sent.
    async fn finish(
        &self,
        server: &TestServer,
        provider: &str,
        code: &str,
        state: &str,
    ) -> (Option<String>, String) {
        let mut request = server.client.get(server.url(&format!(
            "/auth/sso/{provider}/callback?code={code}&state={state}"
        )));
        if let Some(cookie) = &self.sso_cookie {
            request = request.header("cookie", format!("sb_sso={cookie}"));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(
            cookie_value(&response, "sb_sso").as_deref(),
            Some(""),
            "the binding is cleared"
        );
        (
            cookie_value(&response, "sb_session").filter(|s| !s.is_empty()),
            location(&response),
        )
    }
}

async fn sign_in(
    server: &TestServer,
    idp: &FakeIdp,
    provider: &str,
    claims: Value,
) -> (Option<String>, String) {
    let (browser, url) = Browser::begin(server, provider).await;
    let back = idp.authorize(&url, claims);
    browser
        .finish(server, provider, &back.code, &back.state)
        .await
}

async fn me(server: &TestServer, session: &str) -> Value {
    let caller = Caller {
        session: Some(session.to_owned()),
        ..Caller::default()
    };
    let (status, body) = server.send(&caller, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn person(sub: &str, email: &str, groups: &[&str]) -> Value {
    json!({ "sub": sub, "email": email, "email_verified": true, "name": "Pat", "groups": groups })
}

/// Opens SSO sign-up, optionally requiring TOTP.
async fn settings(server: &TestServer, owner: &Caller, require_totp: bool) {
    let (status, body) = server
        .send(
            owner,
            Method::PUT,
            "/api/v1/organization/settings",
            Some(json!({"require_totp": require_totp, "allow_sso_signup": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn sso_events(server: &TestServer, owner: &Caller) -> Vec<Value> {
    let (status, body) = server
        .send(owner, Method::GET, "/api/v1/audit?kind=auth.", None)
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().to_vec()
}

async fn signup_and_linking(server: TestServer, idp: FakeIdp) {
    let owner = server.setup().await;
    let page = server.get("/login").await.text().await.unwrap();
    assert!(page.contains("Sign in with plain login") && page.contains("/auth/sso/linking"));

    // Sign-up is closed by default: nobody is created.
    let (session, to) = sign_in(
        &server,
        &idp,
        "plain",
        person("s-1", "pat@ops.test", &["it"]),
    )
    .await;
    assert_eq!((session, to.as_str()), (None, "/login"));

    // Open it: the person joins with the highest mapped role, and without a password the
    // organisation's TOTP requirement does not lock them out.
    settings(&server, &owner, false).await;
    let (session, to) = sign_in(
        &server,
        &idp,
        "plain",
        person("s-1", "pat@ops.test", &["staff", "it"]),
    )
    .await;
    assert_eq!(to, "/");
    let body = me(&server, session.as_deref().unwrap()).await;
    assert_eq!(body["user"]["email"], "pat@ops.test");
    assert_eq!(body["current_organization"]["role"], "admin");
    let pat = Caller {
        session: session.clone(),
        ..Caller::default()
    };
    // Now require TOTP: the owner (who has a password) must enrol; Pat, who signs in only
    // through the provider, is not locked out.
    settings(&server, &owner, true).await;
    let (status, _) = server
        .send(&pat, Method::GET, "/api/v1/members", None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .send(&owner, Method::GET, "/api/v1/members", None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("totp_enrollment_required"))
    );
    // A local TOTP that sign-in would never ask for is refused.
    let csrf = me(&server, session.as_deref().unwrap()).await["csrf_token"]
        .as_str()
        .map(str::to_owned);
    let pat_signed = Caller {
        csrf,
        ..pat.clone()
    };
    let (status, _) = server
        .send(&pat_signed, Method::POST, "/api/v1/me/totp", None)
        .await;
    assert_eq!(status, 403);

    // The same subject signs in again as the same user, even with another email claim.
    let (session, _) = sign_in(
        &server,
        &idp,
        "plain",
        person("s-1", "renamed@ops.test", &[]),
    )
    .await;
    assert_eq!(
        me(&server, &session.unwrap()).await["user"]["email"],
        "pat@ops.test"
    );

    // No mapped group and no default role: no account.
    let (session, _) = sign_in(
        &server,
        &idp,
        "plain",
        person("s-2", "sam@ops.test", &["guests"]),
    )
    .await;
    assert_eq!(session, None);

    // The operator's local account: not taken over without linking ...
    let (session, _) = sign_in(
        &server,
        &idp,
        "plain",
        person("s-3", "operator@ops.test", &["it"]),
    )
    .await;
    assert_eq!(session, None);
    // ... nor with linking when the email is not verified ...
    let mut unverified = person("s-3", "operator@ops.test", &["it"]);
    unverified["email_verified"] = json!(false);
    let (session, _) = sign_in(&server, &idp, "linking", unverified).await;
    assert_eq!(session, None);
    // ... but linked with linking on and a verified email; the role is not changed.
    let (session, _) = sign_in(
        &server,
        &idp,
        "linking",
        person("s-3", "operator@ops.test", &["staff"]),
    )
    .await;
    let body = me(&server, &session.unwrap()).await;
    assert_eq!(body["user"]["email"], "operator@ops.test");
    assert_eq!(body["current_organization"]["role"], "owner");

    let events = sso_events(&server, &pat).await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["decision"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(kinds.contains(&("auth.sso_signup", "ok")), "{kinds:?}");
    assert!(kinds.contains(&("auth.sso_link", "ok")), "{kinds:?}");
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["decision"] == "denied")
        .filter_map(|e| e["details"]["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"no account and sign-up is closed"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"an account with this email exists and linking is off"));
    assert!(reasons.contains(&"no verified email claim"));
}

async fn binding_single_use_and_audience(server: TestServer, idp: FakeIdp) {
    let owner = server.setup().await;
    settings(&server, &owner, false).await;
    let claims = person("s-9", "kim@ops.test", &["staff"]);

    // The callback in a browser that did not start the sign-in is refused.
    let (_, url) = Browser::begin(&server, "plain").await;
    let back = idp.authorize(&url, claims.clone());
    let stranger = Browser { sso_cookie: None };
    let (session, _) = stranger
        .finish(&server, "plain", &back.code, &back.state)
        .await;
    assert_eq!(session, None);
    // Nor with another sign-in's cookie.
    let (other, _) = Browser::begin(&server, "plain").await;
    let (session, _) = other
        .finish(&server, "plain", &back.code, &back.state)
        .await;
    assert_eq!(session, None);

    // A sign-in completes once; replaying its callback does not sign in again.
    let (browser, url) = Browser::begin(&server, "plain").await;
    let back = idp.authorize(&url, claims.clone());
    let (session, _) = browser
        .finish(&server, "plain", &back.code, &back.state)
        .await;
    assert!(session.is_some());
    let (again, _) = browser
        .finish(&server, "plain", &back.code, &back.state)
        .await;
    assert_eq!(again, None);

    // An ID token minted for another client is refused.
    idp.misdirect_tokens_to("someone-else");
    let (session, to) = sign_in(&server, &idp, "plain", claims).await;
    assert_eq!((session, to.as_str()), (None, "/login"));
    let events = sso_events(&server, &owner).await;
    assert!(events.iter().any(|e| e["details"]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("audience"))));

    // Unfinished starts are throttled per client: one is counted since the last success.
    for _ in 1..60 {
        let (_, url) = Browser::begin(&server, "plain").await;
        assert!(url.starts_with(idp.issuer()), "{url}");
    }
    let response = server.get("/auth/sso/plain").await;
    assert_eq!(
        location(&response),
        "/login",
        "the 61st start goes back with a message"
    );

    // Unknown providers are not found.
    assert_eq!(server.get("/auth/sso/nope").await.status().as_u16(), 404);
}

macro_rules! sso_tests {
    ($($name:ident),*) => {
        $(
            mod $name {
                use super::*;

                async fn start(db: switchboard_store::testing::TestDb) -> (TestServer, FakeIdp) {
                    let idp = FakeIdp::start().await;
                    let providers = vec![provider(&idp, "plain", false), provider(&idp, "linking", true)];
                    let server = TestServer::start_app(db, Default::default(), |app| {
                        app.with_sso(providers).unwrap()
                    })
                    .await;
                    for id in ["plain", "linking"] {
                        server.app.identity.set_sso_client_secret(id, CLIENT_SECRET).await.unwrap();
                    }
                    (server, idp)
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (server, idp) = start(switchboard_store::testing::TestDb::sqlite().await).await;
                    super::$name(server, idp).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match switchboard_store::testing::TestDb::postgres().await {
                        Some(db) => {
                            let (server, idp) = start(db).await;
                            super::$name(server, idp).await;
                        }
                        None => eprintln!("skipped: TEST_DATABASE_URL is not set"),
                    }
                }
            }
        )*
    };
}

sso_tests!(signup_and_linking, binding_single_use_and_audience);
