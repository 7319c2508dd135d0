use chrono::Duration;
use switchboard_domain::{Clock, DocumentId, ManualClock, OrgId};
use switchboard_store::documents::{MARK_END, MARK_START};
use switchboard_store::{backend_tests, DocumentQuery, DocumentRecord, StoreError};

use crate::clock;
use crate::memberships::add_org;
use crate::secrets::sealed;

fn document(
    clock: &ManualClock,
    org: OrgId,
    name: &str,
    tags: &[&str],
) -> (DocumentRecord, switchboard_store::SealedRecord) {
    let mut file = sealed(clock, "k1");
    file.org_id = Some(org);
    file.purpose = "document.file".into();
    let d = DocumentRecord {
        id: DocumentId::generate(clock),
        org_id: org,
        name: name.into(),
        content_type: "text/plain".into(),
        format: "text".into(),
        size: 42,
        sha256: vec![1; 32],
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        text_note: None,
        file_id: file.id,
        actor_kind: "user".into(),
        actor_id: None,
        created_at: clock.now(),
        updated_at: clock.now(),
    };
    (d, file)
}

fn words(q: &str) -> Vec<String> {
    vec![q.to_owned()]
}

backend_tests! {
    async fn documents_are_stored_with_their_file_and_found_ranked_with_snippets(store: Store) {
        let clock = clock();
        let org = add_org(&store, &clock, "acme").await;
        let other = add_org(&store, &clock, "globex").await;
        let texts = [
            ("backup-policy.md", &["policy", "backups"][..], "Backups run nightly to the NAS. Restores are tested every quarter by the on-call engineer."),
            ("printer-guide.txt", &["howto"][..], "The Brother printer on the second floor jams when the paper tray is overfilled."),
            ("vpn.html", &[][..], "Connect to the office VPN with WireGuard; the NAS is reachable once connected."),
        ];
        let mut ids = Vec::new();
        for (name, tags, text) in texts {
            clock.advance(Duration::seconds(1));
            let (d, file) = document(&clock, org, name, tags);
            store.documents.insert(&d, text, &file, &[]).await.unwrap();
            assert_eq!(store.documents.get(org, d.id).await.unwrap().as_ref(), Some(&d));
            ids.push(d.id);
        }
        let (d, file) = document(&clock, other, "globex-backups.md", &[]);
        store.documents.insert(&d, "Globex backups go to tape.", &file, &[]).await.unwrap();

        // Stemmed, ranked, other organisations out, the snippet marks the words.
        let found = store.documents.search(org, &words("restore backups"), None, 10).await.unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].document.id, ids[0]);
        assert!(found[0].snippet.contains(&format!("{MARK_START}Restores{MARK_END}")), "{}", found[0].snippet);
        let found = store.documents.search(org, &words("NAS"), None, 10).await.unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[0].score >= found[1].score);
        // The name counts (a word only in it finds the document); tags filter.
        let found = store.documents.search(org, &words("printer guide"), None, 10).await.unwrap();
        assert_eq!(found[0].document.id, ids[1]);
        let found = store.documents.search(org, &words("NAS"), Some("policy"), 10).await.unwrap();
        assert_eq!(found.iter().map(|h| h.document.id).collect::<Vec<_>>(), vec![ids[0]]);
        // Query syntax is only words.
        let found = store.documents.search(org, &words("\"printer\" OR (jams*) -- ;"), None, 10).await.unwrap();
        assert_eq!(found[0].document.id, ids[1]);
        assert!(store.documents.search(org, &words("!!!"), None, 10).await.unwrap().is_empty());

        let (page, total) = store.documents.list(org, &DocumentQuery { tag: None, limit: 2, offset: 0 }).await.unwrap();
        assert_eq!((page.len(), total), (2, 3));
        assert_eq!(page[0].id, ids[2], "newest first");
        let (tagged, total) = store.documents.list(org, &DocumentQuery { tag: Some("howto".into()), limit: 10, offset: 0 }).await.unwrap();
        assert_eq!((tagged.len(), total), (1, 1));
        assert_eq!(store.documents.text(org, ids[1]).await.unwrap().as_deref(), Some(texts[1].2));
        assert!(store.documents.get(other, ids[1]).await.unwrap().is_none());
        assert!(store.documents.text(other, ids[1]).await.unwrap().is_none());

        // Tags change under compare-and-set and are searched.
        let doc = store.documents.get(org, ids[2]).await.unwrap().unwrap();
        let later = doc.updated_at + Duration::seconds(5);
        store.documents.set_tags(org, doc.id, &["network".into(), "remote_work".into()], doc.updated_at, later, &[]).await.unwrap();
        let stale = store.documents.set_tags(org, doc.id, &[], doc.updated_at, later, &[]).await;
        assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
        let found = store.documents.search(org, &words("network"), None, 10).await.unwrap();
        assert_eq!(found[0].document.id, doc.id);
        let (tagged, _) = store.documents.list(org, &DocumentQuery { tag: Some("remote_work".into()), limit: 10, offset: 0 }).await.unwrap();
        assert_eq!(tagged.len(), 1);
        let (tagged, _) = store.documents.list(org, &DocumentQuery { tag: Some("remote".into()), limit: 10, offset: 0 }).await.unwrap();
        assert!(tagged.is_empty(), "a tag matches whole");

        // Deleting takes the sealed file along; another organisation cannot.
        let file = store.documents.get(org, ids[0]).await.unwrap().unwrap().file_id;
        assert!(matches!(store.documents.delete(other, ids[0], &[]).await, Err(StoreError::NotFound)));
        store.documents.delete(org, ids[0], &[]).await.unwrap();
        assert!(store.secrets.get(file).await.unwrap().is_none());
        assert!(store.documents.search(org, &words("restores"), None, 10).await.unwrap().is_empty());
        assert!(matches!(store.documents.delete(org, ids[0], &[]).await, Err(StoreError::NotFound)));
    }
}
