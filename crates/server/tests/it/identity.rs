//! Identity over HTTP: setup, sign-in, throttling, TOTP, sessions, CSRF, API keys,
//! suspension, the last-owner rule and tenant isolation.

use reqwest::Method;
use serde_json::json;
use switchboard_app::identity::totp;

use crate::harness::{Caller, TestServer, PASSWORD, SETUP_CODE};
use crate::server_tests;

fn code_now(secret_base32: &str, offset_steps: i64) -> String {
    let secret = totp::from_base32(secret_base32).unwrap();
    let now = switchboard_domain::Clock::now(&switchboard_domain::SystemClock).timestamp();
    totp::code_for_step(&secret, totp::step_at(now) + offset_steps)
}

async fn audit_kinds(server: &TestServer, admin: &Caller, kind: &str) -> Vec<serde_json::Value> {
    let (status, body) = server
        .send(
            admin,
            Method::GET,
            &format!("/api/v1/audit?kind={kind}&limit=1000"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

server_tests! {
    async fn setup_works_once_and_wrong_codes_are_throttled(server: TestServer) {
        server.app.identity.prepare_setup(Some(SETUP_CODE)).await.unwrap();
        let body = |code: &str| json!({
            "setup_code": code,
            "organization": {"name": "Acme", "slug": "acme"},
            "owner": {"email": "ada@acme.test", "name": "Ada", "password": PASSWORD}
        });
        let anon = Caller::anonymous();
        for _ in 0..5 {
            let (status, err) = server.send(&anon, Method::POST, "/api/v1/setup", Some(body("WRONG"))).await;
            assert_eq!((status, err["error"]["code"].as_str()), (403, Some("invalid_setup_code")));
        }
        // The sixth attempt is refused before the code is looked at, even the right one.
        let (status, err) = server.send(&anon, Method::POST, "/api/v1/setup", Some(body(SETUP_CODE))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (429, Some("rate_limited")));
        assert_eq!(server.app.store.orgs.count().await.unwrap(), 0);
    }

    async fn setup_validates_then_creates_the_owner_who_is_operator(server: TestServer) {
        server.app.identity.prepare_setup(Some(SETUP_CODE)).await.unwrap();
        let anon = Caller::anonymous();
        let (status, err) = server.send(&anon, Method::POST, "/api/v1/setup", Some(json!({
            "setup_code": SETUP_CODE,
            "organization": {"name": "Acme", "slug": "Not A Slug"},
            "owner": {"email": "ada@acme.test", "name": "Ada", "password": PASSWORD}
        }))).await;
        assert_eq!(status, 400);
        assert_eq!(err["error"]["details"]["field"], "organization.slug");
        // The code was not spent on invalid input.
        let operator = server.setup().await;
        let (_, me) = server.send(&operator, Method::GET, "/api/v1/me", None).await;
        assert_eq!(me["user"]["is_operator"], true);
        assert_eq!(me["current_organization"]["slug"], "ops");
        assert_eq!(me["current_organization"]["role"], "owner");
        // Used: the same code is refused now.
        let (status, err) = server.send(&anon, Method::POST, "/api/v1/setup", Some(json!({
            "setup_code": SETUP_CODE,
            "organization": {"name": "Again", "slug": "again"},
            "owner": {"email": "eve@again.test", "name": "Eve", "password": PASSWORD}
        }))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (403, Some("invalid_setup_code")));
    }

    async fn the_sixth_bad_password_is_refused_without_checking_and_audited(server: TestServer) {
        let operator = server.setup().await;
        let anon = Caller::anonymous();
        let login = |password: &str| json!({"email": "operator@ops.test", "password": password});
        for _ in 0..5 {
            let (status, err) = server.send(&anon, Method::POST, "/api/v1/auth/login", Some(login("wrong password!!"))).await;
            assert_eq!((status, err["error"]["code"].as_str()), (401, Some("invalid_credentials")));
        }
        let (status, err) = server.send(&anon, Method::POST, "/api/v1/auth/login", Some(login(PASSWORD))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (429, Some("rate_limited")));
        let events = audit_kinds(&server, &operator, "auth.login").await;
        let denied = events.iter().filter(|e| e["decision"] == "denied").count();
        let throttled = events.iter().filter(|e| e["decision"] == "throttled").count();
        assert_eq!((denied, throttled), (5, 0), "{events:?}");
    }

    async fn unknown_accounts_fail_like_wrong_passwords(server: TestServer) {
        server.setup().await;
        let anon = Caller::anonymous();
        let (s1, e1) = server.send(&anon, Method::POST, "/api/v1/auth/login",
            Some(json!({"email": "nobody@ops.test", "password": "wrong password!!"}))).await;
        let (s2, e2) = server.send(&anon, Method::POST, "/api/v1/auth/login",
            Some(json!({"email": "operator@ops.test", "password": "wrong password!!"}))).await;
        assert_eq!((s1, &e1), (s2, &e2));
        assert_eq!(e1["error"]["code"], "invalid_credentials");
    }

    async fn totp_enrolment_login_replay_and_backup_codes(server: TestServer) {
        let operator = server.setup().await;
        let (status, enrolment) = server.send(&operator, Method::POST, "/api/v1/me/totp", None).await;
        assert_eq!(status, 200, "{enrolment}");
        assert!(enrolment["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Switchboard:operator%40ops.test?") ||
                enrolment["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Switchboard:operator@ops.test?"));
        assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
        let secret = enrolment["secret"].as_str().unwrap().to_owned();
        let (status, err) = server.send(&operator, Method::POST, "/api/v1/me/totp/confirm", Some(json!({"code": "000000"}))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (401, Some("invalid_totp_code")));
        let (status, codes) = server.send(&operator, Method::POST, "/api/v1/me/totp/confirm",
            Some(json!({"code": code_now(&secret, 0)}))).await;
        assert_eq!(status, 200, "{codes}");
        let backup: Vec<String> = codes["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        assert_eq!(backup.len(), 10);

        let anon = Caller::anonymous();
        let (status, err) = server.send(&anon, Method::POST, "/api/v1/auth/login",
            Some(json!({"email": "operator@ops.test", "password": PASSWORD}))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (401, Some("totp_required")));
        // The confirming code's step is used: the next step's code signs in, once.
        let next = code_now(&secret, 1);
        let with = |code: &str| json!({"email": "operator@ops.test", "password": PASSWORD, "totp_code": code});
        let (status, body) = server.send(&anon, Method::POST, "/api/v1/auth/login", Some(with(&next))).await;
        assert_eq!(status, 200, "{body}");
        let (status, err) = server.send(&anon, Method::POST, "/api/v1/auth/login", Some(with(&next))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (401, Some("invalid_totp_code")), "replay");
        let (status, _) = server.send(&anon, Method::POST, "/api/v1/auth/login", Some(with(&backup[0].to_lowercase()))).await;
        assert_eq!(status, 200, "backup code");
        let (status, _) = server.send(&anon, Method::POST, "/api/v1/auth/login", Some(with(&backup[0]))).await;
        assert_eq!(status, 401, "backup codes work once");
        let kinds = audit_kinds(&server, &operator, "auth.totp").await;
        assert_eq!(kinds.len(), 1);
    }

    async fn logout_and_password_change_revoke_sessions(server: TestServer) {
        let operator = server.setup().await;
        let second = server.login("operator@ops.test", PASSWORD).await;
        let (status, body) = server.send(&operator, Method::POST, "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "an even better passphrase"}))).await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = server.send(&second, Method::GET, "/api/v1/me", None).await;
        assert_eq!(status, 401, "other sessions end on password change");
        let (status, _) = server.send(&operator, Method::GET, "/api/v1/me", None).await;
        assert_eq!(status, 401, "so does the old cookie of this browser");
        let fresh = server.login("operator@ops.test", "an even better passphrase").await;
        let (status, _) = server.send(&fresh, Method::POST, "/api/v1/auth/logout", None).await;
        assert_eq!(status, 204);
        let (status, _) = server.send(&fresh, Method::GET, "/api/v1/me", None).await;
        assert_eq!(status, 401);
    }

    async fn state_changes_with_a_session_need_the_csrf_token(server: TestServer) {
        let operator = server.setup().await;
        let without = Caller { csrf: None, ..operator.clone() };
        let (status, err) = server.send(&without, Method::POST, "/api/v1/api-keys", Some(json!({"name": "x", "role": "viewer"}))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (403, Some("csrf_failed")));
        let forged = Caller { csrf: Some("forged".into()), ..operator.clone() };
        let (status, _) = server.send(&forged, Method::POST, "/api/v1/api-keys", Some(json!({"name": "x", "role": "viewer"}))).await;
        assert_eq!(status, 403);
        let (status, _) = server.send(&without, Method::GET, "/api/v1/api-keys", None).await;
        assert_eq!(status, 200, "reads need no token");
    }

    async fn api_keys_act_in_their_organisation_with_their_role(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let admin = server.member(&owner, "admin@acme.test", "admin").await;
        let (status, err) = server.send(&admin, Method::POST, "/api/v1/api-keys", Some(json!({"name": "x", "role": "owner"}))).await;
        assert_eq!((status, err["error"]["details"]["field"].as_str()), (400, Some("role")), "ceiling");
        let (status, err) = server.send(&admin, Method::POST, "/api/v1/api-keys",
            Some(json!({"name": "x", "role": "viewer", "expires_at": "2001-01-01T00:00:00Z"}))).await;
        assert_eq!((status, err["error"]["details"]["field"].as_str()), (400, Some("expires_at")));
        let (status, created) = server.send(&admin, Method::POST, "/api/v1/api-keys", Some(json!({"name": "ci", "role": "member"}))).await;
        assert_eq!(status, 201);
        let key = created["key"].as_str().unwrap();
        assert!(key.starts_with("sb_") && key.len() > 40);
        let as_key = Caller::key(key);
        let (status, me) = server.send(&as_key, Method::GET, "/api/v1/me", None).await;
        assert_eq!(status, 200);
        assert_eq!(me["current_organization"]["slug"], "acme");
        assert_eq!(me["current_organization"]["role"], "member");
        let (status, _) = server.send(&as_key, Method::GET, "/api/v1/api-keys", None).await;
        assert_eq!(status, 403, "a member key cannot manage keys");
        let (_, list) = server.send(&admin, Method::GET, "/api/v1/api-keys", None).await;
        let listed = &list.as_array().unwrap()[0];
        assert!(listed["last_used_at"].is_string(), "{listed}");
        assert!(!list.to_string().contains(key), "lists never show the key");
        let id = created["id"].as_str().unwrap();
        let (status, _) = server.send(&admin, Method::DELETE, &format!("/api/v1/api-keys/{id}"), None).await;
        assert_eq!(status, 204);
        let (status, err) = server.send(&as_key, Method::GET, "/api/v1/me", None).await;
        assert_eq!((status, err["error"]["code"].as_str()), (401, Some("unauthorized")));
    }

    async fn other_organisations_resources_are_not_found(server: TestServer) {
        let operator = server.setup().await;
        let acme = server.org_with_owner(&operator, "acme").await;
        let globex = server.org_with_owner(&operator, "globex").await;
        let (_, key) = server.send(&acme, Method::POST, "/api/v1/api-keys", Some(json!({"name": "acme", "role": "viewer"}))).await;
        let id = key["id"].as_str().unwrap();
        let (status, err) = server.send(&globex, Method::DELETE, &format!("/api/v1/api-keys/{id}"), None).await;
        assert_eq!((status, err["error"]["code"].as_str()), (404, Some("not_found")));
        let (_, list) = server.send(&globex, Method::GET, "/api/v1/api-keys", None).await;
        assert_eq!(list, json!([]));
        let (_, members) = server.send(&globex, Method::GET, "/api/v1/members", None).await;
        assert!(!members.to_string().contains("owner@acme.test"));
        // Naming an organisation one does not belong to is not found, not forbidden.
        let response = server.client.get(server.url("/api/v1/members"))
            .header("cookie", format!("sb_session={}", globex.session.clone().unwrap()))
            .header("switchboard-organization", "acme")
            .send().await.unwrap();
        assert_eq!(response.status(), 404);
    }

    async fn suspension_stops_users_and_keys_until_resumed(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let (_, key) = server.send(&owner, Method::POST, "/api/v1/api-keys", Some(json!({"name": "k", "role": "viewer"}))).await;
        let as_key = Caller::key(key["key"].as_str().unwrap());
        let (status, _) = server.send(&operator, Method::POST, "/api/v1/organizations/acme/suspend", None).await;
        assert_eq!(status, 200);
        for caller in [&owner, &as_key] {
            let (status, err) = server.send(caller, Method::GET, "/api/v1/members", None).await;
            assert_eq!((status, err["error"]["code"].as_str()), (403, Some("organization_suspended")));
        }
        let (_, orgs) = server.send(&operator, Method::GET, "/api/v1/organizations", None).await;
        let acme = orgs.as_array().unwrap().iter().find(|o| o["slug"] == "acme").unwrap();
        assert_eq!((acme["status"].as_str(), acme["members"].as_u64()), (Some("suspended"), Some(1)));
        let (status, _) = server.send(&operator, Method::POST, "/api/v1/organizations/acme/suspend", None).await;
        assert_eq!(status, 409, "already suspended");
        let (status, _) = server.send(&operator, Method::POST, "/api/v1/organizations/acme/resume", None).await;
        assert_eq!(status, 200);
        let (status, _) = server.send(&as_key, Method::GET, "/api/v1/members", None).await;
        assert_eq!(status, 200);
        let (status, _) = server.send(&operator, Method::DELETE, "/api/v1/organizations/acme", None).await;
        assert_eq!(status, 200);
        let (status, _) = server.send(&as_key, Method::GET, "/api/v1/members", None).await;
        assert_eq!(status, 401, "keys of deleted organisations stop working");
        let events = audit_kinds(&server, &operator, "admin.org").await;
        assert!(events.is_empty(), "acme's events are in acme's chain, not the operator's");
    }

    async fn the_last_owner_stays_and_roles_never_exceed_ones_own(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let admin = server.member(&owner, "admin@acme.test", "admin").await;
        let (_, members) = server.send(&owner, Method::GET, "/api/v1/members", None).await;
        let id_of = |email: &str| members.as_array().unwrap().iter().find(|m| m["email"] == email).unwrap()["user_id"].as_str().unwrap().to_owned();
        let owner_id = id_of("owner@acme.test");
        let admin_id = id_of("admin@acme.test");
        let (status, err) = server.send(&owner, Method::PATCH, &format!("/api/v1/members/{owner_id}"), Some(json!({"role": "admin"}))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (409, Some("last_owner")));
        let (status, err) = server.send(&owner, Method::DELETE, &format!("/api/v1/members/{owner_id}"), None).await;
        assert_eq!((status, err["error"]["code"].as_str()), (409, Some("last_owner")));
        let (status, _) = server.send(&admin, Method::PATCH, &format!("/api/v1/members/{owner_id}"), Some(json!({"role": "viewer"}))).await;
        assert_eq!(status, 403, "an admin cannot demote an owner");
        let (status, _) = server.send(&admin, Method::PATCH, &format!("/api/v1/members/{admin_id}"), Some(json!({"role": "owner"}))).await;
        assert_eq!(status, 403, "nor promote anyone to owner");
        let (status, _) = server.send(&owner, Method::PATCH, &format!("/api/v1/members/{admin_id}"), Some(json!({"role": "owner"}))).await;
        assert_eq!(status, 204);
        let (status, _) = server.send(&owner, Method::PATCH, &format!("/api/v1/members/{owner_id}"), Some(json!({"role": "member"}))).await;
        assert_eq!(status, 204, "with a second owner the first may step down");
        let events = audit_kinds(&server, &admin, "admin.role_changed").await;
        assert_eq!(events.len(), 2);
    }

    async fn an_organisation_can_require_totp(server: TestServer) {
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let member = server.member(&owner, "member@acme.test", "member").await;
        let (status, body) = server.send(&owner, Method::PUT, "/api/v1/organization/settings",
            Some(json!({"require_totp": true, "allow_sso_signup": false}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["require_totp"], true);
        let (status, err) = server.send(&member, Method::GET, "/api/v1/members", None).await;
        assert_eq!((status, err["error"]["code"].as_str()), (403, Some("totp_enrollment_required")));
        // The account endpoints stay open so the member can enrol.
        let (_, enrolment) = server.send(&member, Method::POST, "/api/v1/me/totp", None).await;
        let code = code_now(enrolment["secret"].as_str().unwrap(), 0);
        let (status, _) = server.send(&member, Method::POST, "/api/v1/me/totp/confirm", Some(json!({"code": code}))).await;
        assert_eq!(status, 200);
        let (status, _) = server.send(&member, Method::GET, "/api/v1/members", None).await;
        assert_eq!(status, 200);
        let (status, _) = server.send(&member, Method::DELETE, "/api/v1/me/totp", Some(json!({"current_password": PASSWORD}))).await;
        assert_eq!(status, 403, "cannot turn TOTP off while required");
    }

    async fn the_audit_log_verifies_and_exports_json_lines(server: TestServer) {
        let operator = server.setup().await;
        let (status, report) = server.send(&operator, Method::GET, "/api/v1/audit/verify", None).await;
        assert_eq!(status, 200);
        assert_eq!(report["ok"], true);
        assert!(report["checked"].as_u64().unwrap() >= 2, "{report}");
        let response = server.request(&operator, Method::GET, "/api/v1/audit?format=jsonl", None).await;
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
        let text = response.text().await.unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["kind"], "admin.setup");
        assert_eq!(lines[0]["seq"], 1);
        assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
        assert!(!text.contains(PASSWORD));
    }

    async fn deleted_organisations_are_purged_after_their_retention(server: TestServer) {
        use switchboard_store::AuditFilter;
        let store = &server.app.store;
        let operator = server.setup().await;
        let owner = server.org_with_owner(&operator, "acme").await;
        let globex = server.org_with_owner(&operator, "globex").await;
        let (status, _) = server.send(&owner, Method::POST, "/api/v1/api-keys", Some(json!({"name": "k", "role": "viewer"}))).await;
        assert_eq!(status, 201);
        let (status, _) = server.send(&owner, Method::POST, "/api/v1/invites", Some(json!({"email": "x@acme.test", "role": "member"}))).await;
        assert_eq!(status, 201);
        let acme = store.orgs.get_by_slug("acme").await.unwrap().unwrap().id;
        let all = AuditFilter { limit: 1000, ..AuditFilter::default() };
        let purge = |days| server.app.identity.purge_deleted_orgs(days);
        assert_eq!(purge(0).await.unwrap(), 0, "active organisations are never purged");

        let (status, _) = server.send(&operator, Method::DELETE, "/api/v1/organizations/acme", None).await;
        assert_eq!(status, 200);
        assert_eq!(purge(30).await.unwrap(), 0, "kept during the retention period");
        assert!(!store.audit.search(acme, &all).await.unwrap().is_empty());

        assert_eq!(purge(0).await.unwrap(), 1);
        assert!(store.orgs.get(acme).await.unwrap().is_none());
        assert!(store.audit.search(acme, &all).await.unwrap().is_empty());
        assert!(store.memberships.list_for_org(acme).await.unwrap().is_empty());
        assert!(store.api_keys.list_for_org(acme).await.unwrap().is_empty());
        let filter = AuditFilter { kind_prefix: Some("admin.org_purged".into()), ..all.clone() };
        let purged = store.audit.search(switchboard_domain::OrgId::PLATFORM, &filter).await.unwrap();
        assert_eq!(purged.len(), 1);
        assert_eq!(purged[0].target.as_deref(), Some("acme"));

        // Everyone else is untouched, the log still verifies, and the slug is free again.
        let (status, _) = server.send(&globex, Method::GET, "/api/v1/members", None).await;
        assert_eq!(status, 200);
        let (_, report) = server.send(&operator, Method::GET, "/api/v1/audit/verify", None).await;
        assert_eq!(report["ok"], true, "{report}");
        let (status, body) = server.send(&operator, Method::POST, "/api/v1/organizations",
            Some(json!({"name": "Acme again", "slug": "acme", "owner_email": "new@acme.test"}))).await;
        assert_eq!(status, 201, "{body}");
    }
}
