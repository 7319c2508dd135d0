//! Conversations, messages, runs and their events: sequence numbers assigned on append,
//! compare-and-set saves, claiming a run whose approval was settled exactly once, stale
//! runs failed, and a deleted conversation taking its runs and events with it.

use chrono::Duration;
use switchboard_domain::{
    ApprovalId, Clock, ConversationId, MessageId, OrgId, RunId, Timestamp, UserId,
};
use switchboard_store::approvals::{ApprovalDecision, ApprovalRecord};
use switchboard_store::{
    backend_tests, ConversationRecord, MessageRecord, RunEventRecord, RunRecord,
};

use crate::clock;
use crate::memberships::add_org;

fn conversation(
    clock: &switchboard_domain::ManualClock,
    org: OrgId,
    user: UserId,
) -> ConversationRecord {
    ConversationRecord {
        id: ConversationId::generate(clock),
        org_id: org,
        user_id: user,
        title: "Invoices".into(),
        agent: "operator".into(),
        created_at: clock.now(),
        updated_at: clock.now(),
    }
}

fn new_run(
    clock: &switchboard_domain::ManualClock,
    c: &ConversationRecord,
    waiting: Option<ApprovalId>,
) -> RunRecord {
    RunRecord {
        id: RunId::generate(clock),
        org_id: c.org_id,
        conversation_id: c.id,
        user_id: c.user_id,
        agent: "operator".into(),
        status: if waiting.is_some() {
            "waiting_approval"
        } else {
            "running"
        }
        .into(),
        state: "{}".into(),
        waiting_on: waiting,
        error: None,
        steps: 0,
        cancel_requested: false,
        created_at: clock.now(),
        updated_at: clock.now(),
        claimed_at: Some(clock.now()),
    }
}

fn approval(clock: &switchboard_domain::ManualClock, org: OrgId, now: Timestamp) -> ApprovalRecord {
    ApprovalRecord {
        id: ApprovalId::generate(clock),
        org_id: org,
        tool: "test.send".into(),
        arguments: "{}".into(),
        shown_arguments: "{}".into(),
        tier: "T3".into(),
        approver_role: "admin".into(),
        four_eyes: false,
        reason: "T3".into(),
        requester_kind: "user".into(),
        requester_id: "u".into(),
        status: "pending".into(),
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        result: None,
        created_at: now,
        expires_at: now + Duration::hours(1),
        claimed_at: None,
        finished_at: None,
    }
}

fn event(r: &RunRecord, seq: i64, kind: &str, at: Timestamp) -> RunEventRecord {
    RunEventRecord {
        run_id: r.id,
        org_id: r.org_id,
        seq,
        kind: kind.into(),
        data: "{}".into(),
        created_at: at,
    }
}

backend_tests! {
    async fn messages_and_events_are_numbered_and_conversations_cascade(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let user = UserId::generate(&clock);
        let c = conversation(&clock, org, user);
        store.conversations.insert(&c).await.unwrap();
        assert_eq!(store.conversations.get(org, c.id).await.unwrap(), Some(c.clone()));
        let other = add_org(&store, &clock, "globex").await;
        assert_eq!(store.conversations.get(other, c.id).await.unwrap(), None);
        for (i, role) in ["user", "assistant", "tool"].iter().enumerate() {
            let seq = store.conversations.append_message(&MessageRecord {
                id: MessageId::generate(&clock), conversation_id: c.id, org_id: org, seq: 0,
                role: (*role).into(), body: "{}".into(), run_id: None, created_at: clock.now(),
            }).await.unwrap();
            assert_eq!(seq, i as i64 + 1);
        }
        let roles: Vec<String> = store.conversations.messages(org, c.id).await.unwrap()
            .into_iter().map(|m| m.role).collect();
        assert_eq!(roles, ["user", "assistant", "tool"]);
        let r = new_run(&clock, &c, None);
        store.runs.insert(&r).await.unwrap();
        assert_eq!(store.runs.last_event_seq(org, r.id).await.unwrap(), 0);
        store.runs.append_events(&[event(&r, 1, "text", clock.now())]).await.unwrap();
        store.runs.append_events(&[event(&r, 2, "done", clock.now())]).await.unwrap();
        assert_eq!(store.runs.last_event_seq(org, r.id).await.unwrap(), 2);
        assert_eq!(store.runs.last_event_seq(other, r.id).await.unwrap(), 0);
        // A seq already stored is refused, and nothing of that batch is kept.
        let again = store.runs.append_events(&[event(&r, 3, "text", clock.now()), event(&r, 2, "text", clock.now())]).await;
        assert!(matches!(again, Err(switchboard_store::StoreError::Conflict(_))), "{again:?}");
        assert_eq!(store.runs.last_event_seq(org, r.id).await.unwrap(), 2);
        let after: Vec<i64> = store.runs.events_after(org, r.id, 1, 10).await.unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(after, [2]);
        assert!(store.runs.events_after(other, r.id, 0, 10).await.unwrap().is_empty());
        // Many at once (more than one statement's page), in order.
        let many: Vec<RunEventRecord> = (3..=252).map(|seq| event(&r, seq, "text", clock.now())).collect();
        store.runs.append_events(&many).await.unwrap();
        assert_eq!(store.runs.events_after(org, r.id, 250, 10).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), [251, 252]);
        store.conversations.rename(org, c.id, "Renamed", clock.now()).await.unwrap();
        assert_eq!(store.conversations.list(org, user, 10).await.unwrap()[0].title, "Renamed");
        store.conversations.delete(org, c.id).await.unwrap();
        assert_eq!(store.runs.get(org, r.id).await.unwrap(), None);
        assert!(store.runs.events_after(org, r.id, 0, 10).await.unwrap().is_empty());
        assert!(store.conversations.messages(org, c.id).await.unwrap().is_empty());
        assert!(matches!(store.conversations.delete(org, c.id).await, Err(switchboard_store::StoreError::NotFound)));
    }

    async fn a_settled_run_is_claimed_once_and_saves_are_compare_and_set(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let c = conversation(&clock, org, UserId::generate(&clock));
        store.conversations.insert(&c).await.unwrap();
        let a = approval(&clock, org, clock.now());
        store.approvals.insert(&a).await.unwrap();
        let waiting = new_run(&clock, &c, Some(a.id));
        store.runs.insert(&waiting).await.unwrap();
        // Still pending: nothing to resume.
        assert!(store.runs.claim_resumable(clock.now(), 10).await.unwrap().is_empty());
        let decision = ApprovalDecision { status: "denied", by: "admin", reason: None, at: clock.now() };
        assert!(store.approvals.decide(org, a.id, &decision).await.unwrap());
        let claimed = store.runs.claim_resumable(clock.now(), 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].id, claimed[0].status.as_str()), (waiting.id, "running"));
        assert!(store.runs.claim_resumable(clock.now(), 10).await.unwrap().is_empty(), "claimed once");
        // Saves expect the status they read.
        let mut done = claimed[0].clone();
        done.status = "completed".into();
        assert_eq!(store.runs.save(&done, "waiting_approval").await.unwrap(), None);
        assert_eq!(store.runs.save(&done, "running").await.unwrap(), Some(false));
        assert_eq!(store.runs.get(org, waiting.id).await.unwrap().unwrap().status, "completed");
        // Cancellation is a flag the run sees.
        assert!(store.runs.request_cancel(org, waiting.id).await.unwrap().unwrap().cancel_requested);
    }

    async fn runs_whose_process_stopped_are_failed(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let c = conversation(&clock, org, UserId::generate(&clock));
        store.conversations.insert(&c).await.unwrap();
        let old = new_run(&clock, &c, None);
        store.runs.insert(&old).await.unwrap();
        clock.advance(Duration::minutes(20));
        let fresh = new_run(&clock, &c, None);
        store.runs.insert(&fresh).await.unwrap();
        let failed = store.runs.fail_stale(clock.now() - Duration::minutes(10), "interrupted", clock.now()).await.unwrap();
        assert_eq!(failed.iter().map(|r| r.id).collect::<Vec<_>>(), [old.id]);
        assert_eq!(failed[0].status, "failed");
        assert_eq!(store.runs.get(org, fresh.id).await.unwrap().unwrap().status, "running");
        let listed: Vec<RunId> = store.runs.for_conversation(org, c.id).await.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(listed, [old.id, fresh.id]);
    }
}

backend_tests! {
    async fn agents_are_kept_per_organisation_by_slug(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let other = add_org(&store, &clock, "globex").await;
        let mut agent = switchboard_store::AgentRecord {
            id: switchboard_domain::AgentId::generate(&clock),
            org_id: org,
            slug: "helpdesk".into(),
            name: "Helpdesk".into(),
            description: String::new(),
            instructions: "Help.".into(),
            model: None,
            max_steps: 8,
            tools: r#"["workspace.*"]"#.into(),
            min_role: "member".into(),
            skills: "[]".into(),
            template: Some("helpdesk".into()),
            created_at: clock.now(),
            updated_at: clock.now(),
        };
        store.agents.insert(&agent).await.unwrap();
        assert!(matches!(store.agents.insert(&agent).await, Err(switchboard_store::StoreError::Conflict(_))));
        assert_eq!(store.agents.get(org, "helpdesk").await.unwrap(), Some(agent.clone()));
        assert_eq!(store.agents.get(other, "helpdesk").await.unwrap(), None);
        agent.max_steps = 3;
        agent.model = Some("local/gpt".into());
        store.agents.update(&agent).await.unwrap();
        assert_eq!(store.agents.list(org).await.unwrap(), vec![agent.clone()]);
        assert!(store.agents.list(other).await.unwrap().is_empty());
        store.agents.delete(org, "helpdesk").await.unwrap();
        assert!(matches!(store.agents.delete(org, "helpdesk").await, Err(switchboard_store::StoreError::NotFound)));
    }
}
