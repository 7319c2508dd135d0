//! Repositories behind sign-in: the last-owner rule, TOTP replay, backup codes, sessions,
//! API keys, invites, throttling records and the single-use setup code.

use chrono::Duration;
use switchboard_domain::{ApiKeyId, Clock, InviteId, Role, SessionId};
use switchboard_store::{
    backend_tests, ApiKeyRecord, InviteRecord, MembershipRecord, OwnerGuarded, SessionRecord,
    SsoLoginRecord, SsoSignup,
};

use crate::clock;
use crate::memberships::add_org;
use crate::secrets::sealed;
use crate::users::user;

backend_tests! {
    async fn the_last_owner_can_be_neither_demoted_nor_removed(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let (ada, bob) = (user(&clock, "ada@example.com"), user(&clock, "bob@example.com"));
        store.users.insert(&ada).await.unwrap();
        store.users.insert(&bob).await.unwrap();
        for (u, role) in [(&ada, Role::Owner), (&bob, Role::Member)] {
            store.memberships.upsert(&MembershipRecord {
                org_id: org, user_id: u.id, role, created_at: clock.now(),
            }).await.unwrap();
        }
        assert_eq!(store.memberships.change_role(org, ada.id, Role::Admin).await.unwrap(), OwnerGuarded::LastOwner);
        assert_eq!(store.memberships.remove(org, ada.id).await.unwrap(), OwnerGuarded::LastOwner);
        assert_eq!(store.memberships.get(org, ada.id).await.unwrap().unwrap().role, Role::Owner);
        // With a second owner, the first may step down.
        assert_eq!(store.memberships.change_role(org, bob.id, Role::Owner).await.unwrap(), OwnerGuarded::Done);
        assert_eq!(store.memberships.change_role(org, ada.id, Role::Viewer).await.unwrap(), OwnerGuarded::Done);
        assert_eq!(store.memberships.remove(org, ada.id).await.unwrap(), OwnerGuarded::Done);
        assert_eq!(store.memberships.remove(org, ada.id).await.unwrap(), OwnerGuarded::NotFound);
        assert_eq!(store.memberships.remove(org, bob.id).await.unwrap(), OwnerGuarded::LastOwner);
    }

    async fn totp_steps_are_accepted_once_and_backup_codes_work_once(store: Store) {
        let clock = clock();
        let ada = user(&clock, "ada@example.com");
        store.users.insert(&ada).await.unwrap();
        assert!(store.users.accept_totp_step(ada.id, 100).await.unwrap());
        assert!(!store.users.accept_totp_step(ada.id, 100).await.unwrap(), "replay");
        assert!(!store.users.accept_totp_step(ada.id, 99).await.unwrap(), "older step");
        assert!(store.users.accept_totp_step(ada.id, 101).await.unwrap());
        store.users.replace_backup_codes(ada.id, &[vec![1; 32], vec![2; 32]]).await.unwrap();
        assert_eq!(store.users.unused_backup_codes(ada.id).await.unwrap(), 2);
        assert!(store.users.use_backup_code(ada.id, &[1; 32], clock.now()).await.unwrap());
        assert!(!store.users.use_backup_code(ada.id, &[1; 32], clock.now()).await.unwrap());
        assert!(!store.users.use_backup_code(ada.id, &[9; 32], clock.now()).await.unwrap());
        assert_eq!(store.users.unused_backup_codes(ada.id).await.unwrap(), 1);
    }

    async fn sessions_are_found_by_token_hash_and_revoked(store: Store) {
        let clock = clock();
        let ada = user(&clock, "ada@example.com");
        store.users.insert(&ada).await.unwrap();
        let session = SessionRecord {
            id: SessionId::generate(&clock), token_hash: vec![7; 32], user_id: ada.id, org_id: None,
            created_at: clock.now(), last_seen_at: clock.now(),
            expires_at: clock.now() + Duration::hours(1), revoked_at: None,
        };
        store.sessions.insert(&session).await.unwrap();
        assert_eq!(store.sessions.caller(&[7; 32]).await.unwrap().map(|c| c.session), Some(session.clone()));
        let stored_ada = store.users.get(ada.id).await.unwrap().unwrap();
        let caller = store.sessions.caller(&[7; 32]).await.unwrap().unwrap();
        assert_eq!((caller.session, caller.user, caller.org), (session.clone(), stored_ada.clone(), None));
        assert_eq!(store.sessions.caller(&[8; 32]).await.unwrap(), None);
        // In an organisation: with the role while a member, without once they are not.
        let acme = add_org(&store, &clock, "acme").await;
        store.sessions.set_org(session.id, Some(acme)).await.unwrap();
        assert_eq!(store.sessions.caller(&[7; 32]).await.unwrap().unwrap().org, None, "not a member");
        store.memberships.upsert(&MembershipRecord {
            org_id: acme, user_id: ada.id, role: Role::Admin, created_at: clock.now(),
        }).await.unwrap();
        let caller = store.sessions.caller(&[7; 32]).await.unwrap().unwrap();
        let (org, role) = caller.org.unwrap();
        assert_eq!((org, role), (store.orgs.get(acme).await.unwrap().unwrap(), Role::Admin));
        assert_eq!(caller.session.org_id, Some(acme));
        store.orgs.set_status(acme, switchboard_domain::OrgStatus::Deleted, clock.now()).await.unwrap();
        assert_eq!(store.sessions.caller(&[7; 32]).await.unwrap().unwrap().org, None, "deleted");
        store.sessions.set_org(session.id, None).await.unwrap();
        assert_eq!(store.sessions.revoke_all_for_user(ada.id, clock.now()).await.unwrap(), 1);
        let revoked = store.sessions.caller(&[7; 32]).await.unwrap().unwrap().session;
        assert!(revoked.revoked_at.is_some());
        assert_eq!(store.sessions.purge_ended(clock.now() + Duration::hours(2)).await.unwrap(), 1);
        assert_eq!(store.sessions.caller(&[7; 32]).await.unwrap(), None);
    }

    async fn api_keys_are_scoped_to_their_organisation(store: Store) {
        let clock = clock();
        let acme = add_org(&store, &clock, "acme").await;
        let globex = add_org(&store, &clock, "globex").await;
        let key = ApiKeyRecord {
            id: ApiKeyId::generate(&clock), org_id: acme, name: "ci".into(), prefix: "sb_abcd".into(),
            key_hash: vec![3; 32], role: Role::Member, created_by: None, created_at: clock.now(),
            expires_at: None, last_used_at: None, revoked_at: None,
        };
        store.api_keys.insert(&key).await.unwrap();
        assert_eq!(store.api_keys.list_for_org(acme).await.unwrap().len(), 1);
        assert!(store.api_keys.list_for_org(globex).await.unwrap().is_empty());
        assert!(!store.api_keys.revoke(globex, key.id, clock.now()).await.unwrap(), "other org");
        assert!(store.api_keys.revoke(acme, key.id, clock.now()).await.unwrap());
        assert!(!store.api_keys.revoke(acme, key.id, clock.now()).await.unwrap());
        assert!(store.api_keys.list_for_org(acme).await.unwrap().is_empty());
    }

    async fn invites_work_once(store: Store) {
        let clock = clock();
        let acme = add_org(&store, &clock, "acme").await;
        let invite = InviteRecord {
            id: InviteId::generate(&clock), org_id: acme, email: "eve@example.com".into(),
            role: Role::Viewer, token_hash: vec![5; 32], created_by: None, created_at: clock.now(),
            expires_at: clock.now() + Duration::days(7), used_at: None, revoked_at: None,
        };
        store.invites.insert(&invite).await.unwrap();
        assert_eq!(store.invites.list_open(acme).await.unwrap().len(), 1);
        assert!(store.invites.mark_used(invite.id, clock.now()).await.unwrap());
        assert!(!store.invites.mark_used(invite.id, clock.now()).await.unwrap());
        assert!(store.invites.list_open(acme).await.unwrap().is_empty());
    }

    async fn failures_are_counted_in_a_window_and_setup_codes_are_used_once(store: Store) {
        let clock = clock();
        for _ in 0..3 {
            store.auth.record_failure("account", "ada@example.com", clock.now()).await.unwrap();
            clock.advance(Duration::minutes(10));
        }
        let since = clock.now() - Duration::minutes(15);
        assert_eq!(store.auth.failures_since("account", "ada@example.com", since).await.unwrap(), 1);
        assert_eq!(store.auth.failures_since("client", "ada@example.com", since).await.unwrap(), 0);
        assert_eq!(store.auth.purge_failures(since).await.unwrap(), 2);
        store.auth.clear_failures("account", "ada@example.com").await.unwrap();
        assert_eq!(store.auth.failures_since("account", "ada@example.com", since).await.unwrap(), 0);

        assert_eq!(store.auth.setup_code().await.unwrap(), None);
        store.auth.put_setup_code(&[1; 32], clock.now()).await.unwrap();
        store.auth.put_setup_code(&[2; 32], clock.now()).await.unwrap();
        assert_eq!(store.auth.setup_code().await.unwrap().unwrap().code_hash, vec![2; 32]);
        assert!(store.auth.consume_setup_code(clock.now()).await.unwrap());
        assert!(!store.auth.consume_setup_code(clock.now()).await.unwrap());
        // A used code is never replaced: setup happens once.
        store.auth.put_setup_code(&[3; 32], clock.now()).await.unwrap();
        let code = store.auth.setup_code().await.unwrap().unwrap();
        assert_eq!(code.code_hash, vec![2; 32]);
        assert!(code.used_at.is_some());
    }

    async fn sso_sign_ins_are_taken_once_and_abandoned_ones_purged(store: Store) {
        let clock = clock();
        let login = SsoLoginRecord {
            state_hash: vec![3; 32], provider: "authentik".into(), nonce: "n-1".into(),
            return_to: "/".into(), created_at: clock.now(),
        };
        store.auth.put_sso_login(&login).await.unwrap();
        assert_eq!(store.auth.take_sso_login(&[3; 32]).await.unwrap(), Some(login.clone()));
        assert_eq!(store.auth.take_sso_login(&[3; 32]).await.unwrap(), None, "single use");
        store.auth.put_sso_login(&login).await.unwrap();
        assert_eq!(store.auth.purge_sso_logins(clock.now()).await.unwrap(), 0);
        assert_eq!(store.auth.purge_sso_logins(clock.now() + Duration::seconds(1)).await.unwrap(), 1);
        assert_eq!(store.auth.take_sso_login(&[3; 32]).await.unwrap(), None);
    }

    async fn sso_signup_creates_user_identity_and_membership_together(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let ada = user(&clock, "ada@example.com");
        let signup = SsoSignup {
            user: &ada, issuer: "https://id.example.com", subject: "sub-1", org,
            role: Role::Member, at: clock.now(),
        };
        store.auth.sso_signup(&signup).await.unwrap();
        assert_eq!(store.auth.oidc_user("https://id.example.com", "sub-1").await.unwrap(), Some(ada.id));
        assert_eq!(store.memberships.get(org, ada.id).await.unwrap().unwrap().role, Role::Member);
        // A second sign-up for the same identity fails as a whole: no second user appears.
        let other = user(&clock, "other@example.com");
        let again = SsoSignup { user: &other, ..signup };
        assert!(store.auth.sso_signup(&again).await.is_err());
        assert!(store.users.get(other.id).await.unwrap().is_none());
    }

    async fn sso_client_secrets_are_replaced_per_provider(store: Store) {
        let clock = clock();
        let (first, second) = (sealed(&clock, "k"), sealed(&clock, "k"));
        store.secrets.insert(&first).await.unwrap();
        store.secrets.insert(&second).await.unwrap();
        assert_eq!(store.auth.sso_client_secret("authentik").await.unwrap(), None);
        store.auth.put_sso_client_secret("authentik", first.id, clock.now()).await.unwrap();
        store.auth.put_sso_client_secret("authentik", second.id, clock.now()).await.unwrap();
        assert_eq!(store.auth.sso_client_secret("authentik").await.unwrap(), Some(second.id));
        assert_eq!(store.auth.sso_client_secret("keycloak").await.unwrap(), None);
    }
}
