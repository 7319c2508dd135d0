//! Gateway data: virtual keys, usage batches written with their audit events (never doubled
//! on a retried batch), summaries, spend, and per-organisation settings and providers.

use chrono::Duration;
use switchboard_domain::{AuditEventId, Clock, GatewayKeyId, ManualClock, OrgId, UsageId};
use switchboard_store::{
    backend_tests, AuditRecord, GatewayKeyRecord, OrgLlmSettings, OrgProviderRecord, UsageGroup,
    UsageQuery, UsageRecord,
};

use crate::clock;
use crate::memberships::add_org;

fn key(clock: &ManualClock, org: OrgId, hash: u8) -> GatewayKeyRecord {
    GatewayKeyRecord {
        id: GatewayKeyId::generate(clock),
        org_id: org,
        user_id: None,
        name: format!("key {hash}"),
        prefix: "sbk_abcdefg".into(),
        key_hash: vec![hash; 32],
        models: vec!["local/gpt-test".into()],
        rpm: Some(60),
        tpm: Some(100_000),
        monthly_budget_usd: Some(12.5),
        cache_ttl_secs: None,
        created_by: None,
        created_at: clock.now(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    }
}

fn call(
    clock: &ManualClock,
    org: OrgId,
    key: Option<GatewayKeyId>,
    model: &str,
    status: &str,
) -> (UsageRecord, AuditRecord) {
    let usage = UsageRecord {
        id: UsageId::generate(clock),
        org_id: org,
        key_id: key,
        user_id: None,
        at: clock.now(),
        endpoint: "chat".into(),
        model: model.into(),
        provider: Some(model.into()),
        input_tokens: 10,
        output_tokens: 5,
        cost_usd: 0.25,
        latency_ms: 12.0,
        overhead_ms: 0.3,
        status: status.into(),
        cached: false,
    };
    let event = AuditRecord {
        id: AuditEventId::generate(clock),
        org_id: org,
        seq: 0,
        at: clock.now(),
        actor_kind: "api_key".into(),
        actor_id: key.map(|k| k.to_string()),
        kind: "ai.call".into(),
        target: Some(model.into()),
        decision: Some(status.into()),
        details: "{}".into(),
        prev_hash: Vec::new(),
        hash: Vec::new(),
    };
    (usage, event)
}

fn hasher(prev: &[u8], record: &AuditRecord) -> Vec<u8> {
    let mut h = prev.to_vec();
    h.extend_from_slice(record.id.as_uuid().as_bytes());
    h.truncate(32);
    h
}

backend_tests! {
    async fn gateway_keys_round_trip_and_revoke(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let other = add_org(&store, &clock, "other").await;
        let k = key(&clock, org, 1);
        store.gateway_keys.insert(&k).await.unwrap();
        assert_eq!(store.gateway_keys.get_by_hash(&[1; 32]).await.unwrap(), Some(k.clone()));
        assert_eq!(store.gateway_keys.list_for_org(org).await.unwrap(), vec![k.clone()]);
        assert!(store.gateway_keys.list_for_org(other).await.unwrap().is_empty());
        assert!(!store.gateway_keys.revoke(other, k.id, clock.now()).await.unwrap(), "other tenant");
        assert!(store.gateway_keys.revoke(org, k.id, clock.now()).await.unwrap());
        assert!(!store.gateway_keys.revoke(org, k.id, clock.now()).await.unwrap());
        assert!(store.gateway_keys.list_for_org(org).await.unwrap().is_empty());
    }

    async fn usage_batches_are_written_once_with_their_audit_events(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let k = key(&clock, org, 2);
        store.gateway_keys.insert(&k).await.unwrap();
        let batch: Vec<_> = (0..5).map(|i| {
            clock.advance(Duration::seconds(1));
            call(&clock, org, Some(k.id), if i % 2 == 0 { "local/a" } else { "local/b" }, if i == 4 { "upstream_error" } else { "ok" })
        }).collect();
        assert_eq!(store.usage.record_calls(batch.clone(), &[0; 32], &hasher).await.unwrap(), 5);
        // The same batch again (a retry after an unclear commit) adds nothing.
        assert_eq!(store.usage.record_calls(batch, &[0; 32], &hasher).await.unwrap(), 0);
        assert_eq!(store.usage.count(org).await.unwrap(), 5);
        let head = store.audit.head(org).await.unwrap().unwrap();
        assert_eq!(head.seq, 5, "one audit event per call, none doubled");
        let chain = store.audit.chain(org, 0, 10).await.unwrap();
        for pair in chain.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash, "links follow each other");
        }

        let from = clock.now() - Duration::days(1);
        let to = clock.now() + Duration::days(1);
        let by_model = store.usage.summary(&UsageQuery { org: Some(org), from, to, group: UsageGroup::Model }).await.unwrap();
        assert_eq!(by_model.len(), 2);
        assert_eq!(by_model[0].group.as_deref(), Some("local/a"));
        assert_eq!((by_model[0].requests, by_model[0].errors, by_model[0].input_tokens), (3, 1, 30));
        assert!((by_model[0].cost_usd - 0.75).abs() < 1e-9);
        let by_day = store.usage.summary(&UsageQuery { org: Some(org), from, to, group: UsageGroup::Day }).await.unwrap();
        assert_eq!(by_day.len(), 1);
        assert_eq!(by_day[0].group.as_deref(), Some("2026-03-14"));
        assert_eq!(by_day[0].output_tokens, 25);
        let by_key = store.usage.summary(&UsageQuery { org: Some(org), from, to, group: UsageGroup::Key }).await.unwrap();
        assert_eq!(by_key[0].group, Some(k.id.to_string()));
        let by_org = store.usage.summary(&UsageQuery { org: None, from, to, group: UsageGroup::Org }).await.unwrap();
        assert_eq!(by_org[0].group, Some(org.to_string()));
        let empty = store.usage.summary(&UsageQuery { org: Some(org), from: to, to: to + Duration::days(1), group: UsageGroup::Day }).await.unwrap();
        assert!(empty.is_empty());

        assert!((store.usage.key_spend(k.id, from).await.unwrap() - 1.25).abs() < 1e-9);
        assert_eq!(store.usage.key_spend(k.id, to).await.unwrap(), 0.0);
    }

    async fn organisation_llm_settings_and_providers(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        assert_eq!(store.llm_settings.settings(org).await.unwrap(), OrgLlmSettings::default());
        let settings = OrgLlmSettings { default_model: Some("local/gpt-test".into()), guard_policy: Some("{}".into()), embedding_model: Some("local/embed".into()) };
        store.llm_settings.save_settings(org, &settings, clock.now()).await.unwrap();
        store.llm_settings.save_settings(org, &settings, clock.now()).await.unwrap();
        assert_eq!(store.llm_settings.settings(org).await.unwrap(), settings);

        let mut provider = OrgProviderRecord {
            org_id: org, name: "mine".into(), kind: "openai".into(),
            base_url: "http://127.0.0.1:9/v1".into(), api_key_secret: None,
            api_key_env: Some("MY_KEY".into()), models: "[]".into(),
            created_at: clock.now(), updated_at: clock.now(),
        };
        store.llm_settings.save_provider(&provider).await.unwrap();
        provider.base_url = "http://127.0.0.1:10/v1".into();
        store.llm_settings.save_provider(&provider).await.unwrap();
        assert_eq!(store.llm_settings.providers(org).await.unwrap(), vec![provider.clone()]);
        assert_eq!(store.llm_settings.delete_provider(org, "mine").await.unwrap(), Some(provider));
        assert_eq!(store.llm_settings.delete_provider(org, "mine").await.unwrap(), None);
    }
}
