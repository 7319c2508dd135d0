use chrono::Duration;
use switchboard_domain::{Clock, ManualClock, MemoryId, OrgId, UserId};
use switchboard_store::{backend_tests, MemoryRecord, StoreError};

use crate::clock;
use crate::memberships::add_org;

fn memory(clock: &ManualClock, org: OrgId, scope: &str, content: &str) -> MemoryRecord {
    use sha2::Digest;
    MemoryRecord {
        id: MemoryId::generate(clock),
        org_id: org,
        scope_key: scope.into(),
        user_id: None,
        content: content.into(),
        content_hash: sha2::Sha256::digest(content.as_bytes()).to_vec(),
        actor_kind: "user".into(),
        actor_id: None,
        created_at: clock.now(),
    }
}

fn terms(q: &str) -> Vec<String> {
    vec![q.to_owned()]
}

backend_tests! {
    async fn memories_are_kept_once_per_scope_and_found_by_their_words(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let other = add_org(&store, &clock, "globex").await;
        let ada = UserId::generate(&clock).to_string();
        let org_scope = "org".to_owned();
        let facts = [
            "The office printer is a Brother HL-L2350DW on the second floor",
            "Backups run every night at 02:00 to the NAS in the server room",
            "The Wi-Fi password is rotated every quarter by the office manager",
        ];
        for f in facts {
            clock.advance(Duration::seconds(1));
            let (_, new) = store.memory.remember(&memory(&clock, org, "org", f)).await.unwrap();
            assert!(new);
        }
        // The same content in the same scope is kept once; in another scope it is its own.
        let (again, new) = store.memory.remember(&memory(&clock, org, "org", facts[0])).await.unwrap();
        assert!(!new);
        assert_eq!(again.content, facts[0]);
        let (_, new) = store.memory.remember(&memory(&clock, org, &ada, "Ada prefers printing on the second floor")).await.unwrap();
        assert!(new);
        store.memory.remember(&memory(&clock, other, "org", "Globex prints on a printer in Springfield")).await.unwrap();

        let found = store.memory.search(org, std::slice::from_ref(&org_scope), &terms("printers"), 10).await.unwrap();
        assert_eq!(found.len(), 1, "stemmed: printers finds printer; other orgs and scopes are out: {found:?}");
        assert_eq!(found[0].memory.content, facts[0]);
        let both = [org_scope.clone(), ada.clone()];
        let found = store.memory.search(org, &both, &terms("second floor printing"), 10).await.unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].score >= found[1].score);
        // Punctuation and query syntax are only words.
        let found = store.memory.search(org, &both, &terms("\"NAS\" OR (backups*) -- ;"), 10).await.unwrap();
        assert_eq!(found[0].memory.content, facts[1], "{found:?}");
        assert!(store.memory.search(org, &both, &terms("!!!"), 10).await.unwrap().is_empty());
        assert!(store.memory.search(org, &both, &terms("kangaroo"), 10).await.unwrap().is_empty());

        let listed = store.memory.list(org, &both, 10).await.unwrap();
        assert_eq!(listed.len(), 4);
        assert_eq!(store.memory.list(org, std::slice::from_ref(&org_scope), 10).await.unwrap().len(), 3);
        let id = listed[0].id;
        assert!(store.memory.get(other, id).await.unwrap().is_none());
        assert!(matches!(store.memory.forget(other, id).await, Err(StoreError::NotFound)));
        store.memory.forget(org, id).await.unwrap();
        assert!(store.memory.get(org, id).await.unwrap().is_none());
        assert_eq!(store.memory.list(org, &both, 10).await.unwrap().len(), 3);
        let found = store.memory.search(org, &both, &terms("second floor"), 10).await.unwrap();
        assert!(found.iter().all(|h| h.memory.id != id), "forgotten text is not found");

        // Vectors are kept per model; only a model's own vectors of the scopes come back.
        let kept = store.memory.list(org, &both, 10).await.unwrap();
        assert!(store.memory.with_embeddings(org, &both, "local/embed", 10).await.unwrap().is_empty());
        store.memory.set_embedding(org, kept[0].id, "local/embed", &[1, 2, 3, 4]).await.unwrap();
        store.memory.set_embedding(org, kept[1].id, "other/embed", &[5, 6, 7, 8]).await.unwrap();
        let with = store.memory.with_embeddings(org, &both, "local/embed", 10).await.unwrap();
        assert_eq!(with, vec![(kept[0].clone(), vec![1, 2, 3, 4])]);
        assert!(store.memory.with_embeddings(other, &both, "local/embed", 10).await.unwrap().is_empty());
        assert!(matches!(store.memory.set_embedding(other, kept[0].id, "local/embed", &[0]).await, Err(StoreError::NotFound)));
    }
}
