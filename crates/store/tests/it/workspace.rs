use chrono::Duration;
use switchboard_domain::{ActivityId, Clock, CommentId, ItemId, ManualClock, OrgId};
use switchboard_store::{
    backend_tests, ActivityRecord, CommentRecord, ItemFilter, ItemRecord, StoreError,
};

use crate::clock;
use crate::memberships::add_org;

fn item(clock: &ManualClock, org: OrgId, kind: &str, title: &str) -> ItemRecord {
    ItemRecord {
        id: ItemId::generate(clock),
        org_id: org,
        kind: kind.into(),
        number: 0,
        title: title.into(),
        description: format!("About {title}"),
        category: None,
        priority: "medium".into(),
        status: if kind == "ticket" {
            "open"
        } else {
            "submitted"
        }
        .into(),
        actor_kind: "user".into(),
        actor_id: Some("u-1".into()),
        created_at: clock.now(),
        updated_at: clock.now(),
        resolved_at: None,
    }
}

fn entry(clock: &ManualClock, i: &ItemRecord, action: &str) -> ActivityRecord {
    ActivityRecord {
        id: ActivityId::generate(clock),
        org_id: i.org_id,
        subject_kind: i.kind.clone(),
        subject_id: i.id.as_uuid(),
        actor_kind: "user".into(),
        actor_id: Some("u-1".into()),
        action: action.into(),
        field: None,
        from_value: None,
        to_value: None,
        at: clock.now(),
    }
}

fn filter(kind: &str) -> ItemFilter {
    ItemFilter {
        kind: kind.into(),
        limit: 50,
        ..ItemFilter::default()
    }
}

backend_tests! {
    async fn items_are_numbered_per_kind_filtered_and_kept_per_organisation(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let other = add_org(&store, &clock, "globex").await;
        let mut numbers = Vec::new();
        for (kind, title) in [("ticket", "Printer on fire"), ("ticket", "VPN 50% down"), ("request", "New laptop")] {
            clock.advance(Duration::seconds(1));
            let i = item(&clock, org, kind, title);
            numbers.push(store.items.insert(&i, &[entry(&clock, &i, "created")]).await.unwrap());
        }
        assert_eq!(numbers, [1, 2, 1], "numbered per kind");
        let theirs = item(&clock, other, "ticket", "Elsewhere");
        assert_eq!(store.items.insert(&theirs, &[]).await.unwrap(), 1, "and per organisation");

        let (tickets, total) = store.items.list(org, &filter("ticket")).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(tickets.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["VPN 50% down", "Printer on fire"], "newest first");
        let by_text = ItemFilter { text: Some("50%".into()), ..filter("ticket") };
        let (found, n) = store.items.list(org, &by_text).await.unwrap();
        assert_eq!((n, found[0].number), (1, 2), "`%` is a character, not a wildcard");
        let by_text = ItemFilter { text: Some("PRINTER".into()), ..filter("ticket") };
        assert_eq!(store.items.list(org, &by_text).await.unwrap().1, 1, "case-insensitive");
        let paged = ItemFilter { limit: 1, offset: 1, ..filter("ticket") };
        let (page, n) = store.items.list(org, &paged).await.unwrap();
        assert_eq!((page.len(), n, page[0].number), (1, 2, 1));
        assert_eq!(store.items.get(other, tickets[0].id).await.unwrap(), None, "other tenant");
        assert_eq!(store.items.counts(org, "ticket").await.unwrap(), [("open".to_owned(), 2)]);
    }

    async fn updates_are_compare_and_set_and_logged_with_comments(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let mut t = item(&clock, org, "ticket", "Printer");
        t.number = store.items.insert(&t, &[entry(&clock, &t, "created")]).await.unwrap();
        let read = t.updated_at;
        clock.advance(Duration::seconds(5));
        let mut changed = t.clone();
        changed.status = "resolved".into();
        changed.updated_at = clock.now();
        changed.resolved_at = Some(clock.now());
        let mut log = entry(&clock, &t, "changed");
        log.field = Some("status".into());
        log.from_value = Some("open".into());
        log.to_value = Some("resolved".into());
        store.items.update(&changed, read, &[log]).await.unwrap();
        assert_eq!(store.items.get(org, t.id).await.unwrap(), Some(changed.clone()));
        // A change made from a stale read is refused and changes nothing.
        let mut stale = t.clone();
        stale.title = "Stale".into();
        let refused = store.items.update(&stale, read, &[entry(&clock, &t, "changed")]).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        assert_eq!(store.items.get(org, t.id).await.unwrap().unwrap().title, "Printer");

        clock.advance(Duration::seconds(1));
        let c = CommentRecord {
            id: CommentId::generate(&clock), org_id: org, item_id: t.id, actor_kind: "user".into(),
            actor_id: Some("u-1".into()), author: "Ada".into(), body: "Turned it off and on".into(),
            internal: true, created_at: clock.now(),
        };
        store.items.add_comment(&c, &[entry(&clock, &t, "commented")]).await.unwrap();
        assert_eq!(store.items.comments(org, t.id).await.unwrap(), std::slice::from_ref(&c));
        assert_eq!(store.items.get(org, t.id).await.unwrap().unwrap().updated_at, clock.now());
        let other = add_org(&store, &clock, "globex").await;
        let mut foreign = c.clone();
        foreign.id = CommentId::generate(&clock);
        foreign.org_id = other;
        assert!(matches!(store.items.add_comment(&foreign, &[]).await, Err(StoreError::NotFound)), "no commenting across tenants");

        let actions: Vec<String> = store.items.activity(org, t.id.as_uuid()).await.unwrap().into_iter().map(|a| a.action).collect();
        assert_eq!(actions, ["created", "changed", "commented"]);
        let change = &store.items.activity(org, t.id.as_uuid()).await.unwrap()[1];
        assert_eq!((change.from_value.as_deref(), change.to_value.as_deref()), (Some("open"), Some("resolved")));

        store.items.delete(org, t.id, &[entry(&clock, &t, "deleted")]).await.unwrap();
        assert_eq!(store.items.get(org, t.id).await.unwrap(), None);
        assert!(store.items.comments(org, t.id).await.unwrap().is_empty());
        assert_eq!(store.items.activity(org, t.id.as_uuid()).await.unwrap().len(), 4, "the log outlives its subject");
        assert!(matches!(store.items.delete(org, t.id, &[]).await, Err(StoreError::NotFound)));
    }
}
