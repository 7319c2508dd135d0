use switchboard_domain::{OrgId, OrgStatus, Slug};
use switchboard_store::{backend_tests, OrgRecord, StoreError};

use crate::clock;

fn org(clock: &switchboard_domain::ManualClock, slug: &str) -> OrgRecord {
    use switchboard_domain::Clock;
    OrgRecord {
        id: OrgId::generate(clock),
        slug: Slug::parse(slug).unwrap(),
        name: format!("{slug} Ltd"),
        domain: Some(format!("{slug}.example")),
        status: OrgStatus::Active,
        created_at: clock.now(),
        updated_at: clock.now(),
        deleted_at: None,
        require_totp: false,
        allow_sso_signup: false,
    }
}

backend_tests! {
    async fn insert_then_read_back(store: Store) {
        let clock = clock();
        let acme = org(&clock, "acme");
        store.orgs.insert(&acme).await.unwrap();
        assert_eq!(store.orgs.get(acme.id).await.unwrap(), Some(acme.clone()));
        assert_eq!(store.orgs.get_by_slug("acme").await.unwrap(), Some(acme));
        assert_eq!(store.orgs.get_by_slug("nope").await.unwrap(), None);
        assert_eq!(store.orgs.count().await.unwrap(), 1);
    }

    async fn duplicate_slug_is_a_conflict(store: Store) {
        let clock = clock();
        store.orgs.insert(&org(&clock, "acme")).await.unwrap();
        let err = store.orgs.insert(&org(&clock, "acme")).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert_eq!(store.orgs.count().await.unwrap(), 1);
    }

    async fn list_is_oldest_first(store: Store) {
        let clock = clock();
        let first = org(&clock, "first");
        clock.advance(chrono::Duration::seconds(1));
        let second = org(&clock, "second");
        store.orgs.insert(&second).await.unwrap();
        store.orgs.insert(&first).await.unwrap();
        let slugs: Vec<String> =
            store.orgs.list().await.unwrap().into_iter().map(|o| o.slug.to_string()).collect();
        assert_eq!(slugs, ["first", "second"]);
    }

    async fn status_changes_are_saved(store: Store) {
        use switchboard_domain::Clock;
        let clock = clock();
        let acme = org(&clock, "acme");
        store.orgs.insert(&acme).await.unwrap();
        clock.advance(chrono::Duration::minutes(5));
        store.orgs.set_status(acme.id, OrgStatus::Deleted, clock.now()).await.unwrap();
        let saved = store.orgs.get(acme.id).await.unwrap().unwrap();
        assert_eq!(saved.status, OrgStatus::Deleted);
        assert_eq!(saved.deleted_at, Some(clock.now()));
        assert_eq!(saved.updated_at, clock.now());
        let missing = OrgId::generate(&clock);
        let err = store.orgs.set_status(missing, OrgStatus::Active, clock.now()).await;
        assert!(matches!(err, Err(StoreError::NotFound)));
    }
}
