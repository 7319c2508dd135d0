use chrono::Duration;
use switchboard_domain::{ActivityId, Clock, ManualClock, MilestoneId, OrgId, ProjectId};
use switchboard_store::{
    backend_tests, ActivityRecord, MilestoneRecord, ProjectRecord, StoreError,
};

use crate::clock;
use crate::memberships::add_org;

fn project(clock: &ManualClock, org: OrgId, name: &str) -> ProjectRecord {
    ProjectRecord {
        id: ProjectId::generate(clock),
        org_id: org,
        name: name.into(),
        description: format!("About {name}"),
        status: "planned".into(),
        start_date: Some("2026-12-01".into()),
        due_date: None,
        actor_kind: "user".into(),
        actor_id: Some("u-1".into()),
        created_at: clock.now(),
        updated_at: clock.now(),
    }
}

fn milestone(clock: &ManualClock, p: &ProjectRecord, title: &str) -> MilestoneRecord {
    MilestoneRecord {
        id: MilestoneId::generate(clock),
        org_id: p.org_id,
        project_id: p.id,
        title: title.into(),
        status: "pending".into(),
        progress: 0,
        due_date: None,
        position: 0,
        created_at: clock.now(),
        updated_at: clock.now(),
    }
}

fn entry(clock: &ManualClock, org: OrgId, subject: uuid::Uuid, action: &str) -> ActivityRecord {
    ActivityRecord {
        id: ActivityId::generate(clock),
        org_id: org,
        subject_kind: "project".into(),
        subject_id: subject,
        actor_kind: "user".into(),
        actor_id: None,
        action: action.into(),
        field: None,
        from_value: None,
        to_value: None,
        at: clock.now(),
    }
}

backend_tests! {
    async fn projects_keep_their_milestones_in_order_per_organisation(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let other = add_org(&store, &clock, "globex").await;
        let p = project(&clock, org, "Office move");
        store.projects.insert(&p, &[entry(&clock, org, p.id.as_uuid(), "created")]).await.unwrap();
        clock.advance(Duration::seconds(1));
        let q = project(&clock, org, "Backup 100% offsite");
        store.projects.insert(&q, &[]).await.unwrap();
        let (all, n) = store.projects.list(org, None, None, 10, 0).await.unwrap();
        assert_eq!((n, all[0].id), (2, q.id), "newest first");
        assert_eq!(store.projects.list(org, None, Some("100%"), 10, 0).await.unwrap().1, 1);
        assert_eq!(store.projects.list(org, Some("active"), None, 10, 0).await.unwrap().1, 0);
        assert_eq!(store.projects.get(other, p.id).await.unwrap(), None);
        assert_eq!(store.projects.list(other, None, None, 10, 0).await.unwrap().1, 0);

        clock.advance(Duration::seconds(1));
        let a = milestone(&clock, &p, "Pack");
        let b = milestone(&clock, &p, "Move");
        assert_eq!(store.projects.add_milestone(&a, &[]).await.unwrap(), 1);
        assert_eq!(store.projects.add_milestone(&b, &[]).await.unwrap(), 2);
        assert_eq!(store.projects.get(org, p.id).await.unwrap().unwrap().updated_at, clock.now(), "the project changed");
        let mut moved = store.projects.milestones(org, p.id).await.unwrap()[1].clone();
        moved.position = 0;
        moved.status = "done".into();
        moved.progress = 100;
        store.projects.update_milestone(&moved, &[entry(&clock, org, p.id.as_uuid(), "changed")]).await.unwrap();
        let titles: Vec<String> = store.projects.milestones(org, p.id).await.unwrap().into_iter().map(|m| m.title).collect();
        assert_eq!(titles, ["Move", "Pack"]);
        let mut foreign = moved.clone();
        foreign.org_id = other;
        assert!(matches!(store.projects.update_milestone(&foreign, &[]).await, Err(StoreError::NotFound)));
        assert!(matches!(store.projects.delete_milestone(other, p.id, a.id, &[]).await, Err(StoreError::NotFound)));

        // Compare-and-set on the last change.
        let stale = p.clone();
        let refused = store.projects.update(&stale, p.updated_at, &[]).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        let mut current = store.projects.get(org, p.id).await.unwrap().unwrap();
        let read = current.updated_at;
        clock.advance(Duration::seconds(1));
        current.status = "active".into();
        current.updated_at = clock.now();
        store.projects.update(&current, read, &[]).await.unwrap();
        assert_eq!(store.projects.get(org, p.id).await.unwrap().unwrap().status, "active");

        store.projects.delete_milestone(org, p.id, a.id, &[]).await.unwrap();
        assert_eq!(store.projects.milestones(org, p.id).await.unwrap().len(), 1);
        store.projects.delete(org, p.id, &[entry(&clock, org, p.id.as_uuid(), "deleted")]).await.unwrap();
        assert!(store.projects.milestones(org, p.id).await.unwrap().is_empty());
        assert_eq!(store.items.activity(org, p.id.as_uuid()).await.unwrap().len(), 3);
        assert!(matches!(store.projects.delete(org, p.id, &[]).await, Err(StoreError::NotFound)));
    }
}
