use switchboard_domain::{Clock, OrgId, OrgStatus, Role, Slug};
use switchboard_store::{backend_tests, MembershipRecord, OrgRecord, Store};

use crate::clock;
use crate::users::user;

pub async fn add_org(store: &Store, clock: &switchboard_domain::ManualClock, slug: &str) -> OrgId {
    let org = OrgRecord {
        id: OrgId::generate(clock),
        slug: Slug::parse(slug).unwrap(),
        name: slug.to_owned(),
        domain: None,
        status: OrgStatus::Active,
        created_at: clock.now(),
        updated_at: clock.now(),
        deleted_at: None,
        require_totp: false,
        allow_sso_signup: false,
    };
    store.orgs.insert(&org).await.unwrap();
    org.id
}

backend_tests! {
    async fn a_user_can_belong_to_several_organisations(store: Store) {
        let clock = clock();
        let acme = add_org(&store, &clock, "acme").await;
        let globex = add_org(&store, &clock, "globex").await;
        let ada = user(&clock, "ada@example.com");
        store.users.insert(&ada).await.unwrap();
        for (org, role) in [(acme, Role::Owner), (globex, Role::Viewer)] {
            clock.advance(chrono::Duration::seconds(1));
            let m = MembershipRecord { org_id: org, user_id: ada.id, role, created_at: clock.now() };
            store.memberships.upsert(&m).await.unwrap();
        }
        let mine = store.memberships.list_for_user(ada.id).await.unwrap();
        assert_eq!(mine.len(), 2);
        let roles: Vec<(OrgId, Role)> = mine.iter().map(|m| (m.org_id, m.role)).collect();
        assert!(roles.contains(&(acme, Role::Owner)));
        assert!(roles.contains(&(globex, Role::Viewer)));
        assert_eq!(store.memberships.list_for_org(acme).await.unwrap().len(), 1);
        let people = store.memberships.users_of_org(acme).await.unwrap();
        assert_eq!(people.len(), 1);
        assert_eq!((people[0].0.role, people[0].1.email.as_str(), people[0].0.user_id), (Role::Owner, "ada@example.com", ada.id));
        assert!(store.memberships.users_of_org(OrgId::generate(&clock)).await.unwrap().is_empty());
        // With their organisations in one read, oldest membership first; deleted ones left out.
        let with_orgs = store.memberships.orgs_of_user(ada.id).await.unwrap();
        let seen: Vec<(&str, Role)> = with_orgs.iter().map(|(m, o)| (o.slug.as_str(), m.role)).collect();
        assert_eq!(seen, [("acme", Role::Owner), ("globex", Role::Viewer)]);
        assert!(with_orgs.iter().all(|(m, o)| m.user_id == ada.id && m.org_id == o.id));
        store.orgs.set_status(globex, OrgStatus::Deleted, clock.now()).await.unwrap();
        let left: Vec<OrgId> = store.memberships.orgs_of_user(ada.id).await.unwrap().iter().map(|(_, o)| o.id).collect();
        assert_eq!(left, [acme]);
    }

    async fn upsert_changes_the_role(store: Store) {
        let clock = clock();
        let acme = add_org(&store, &clock, "acme").await;
        let ada = user(&clock, "ada@example.com");
        store.users.insert(&ada).await.unwrap();
        let mut m = MembershipRecord { org_id: acme, user_id: ada.id, role: Role::Member, created_at: clock.now() };
        store.memberships.upsert(&m).await.unwrap();
        m.role = Role::Admin;
        store.memberships.upsert(&m).await.unwrap();
        assert_eq!(store.memberships.get(acme, ada.id).await.unwrap(), Some(m));
        assert_eq!(store.memberships.list_for_org(acme).await.unwrap().len(), 1);
    }
}
