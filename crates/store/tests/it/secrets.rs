use switchboard_domain::{Clock, OrgId, SecretId};
use switchboard_store::{backend_tests, SealedRecord, StoreError};

use crate::clock;

pub(crate) fn sealed(clock: &switchboard_domain::ManualClock, key_id: &str) -> SealedRecord {
    SealedRecord {
        id: SecretId::generate(clock),
        org_id: Some(OrgId::generate(clock)),
        purpose: "provider.api_key".to_owned(),
        key_id: key_id.to_owned(),
        wrapped_key: vec![1, 2, 3, 0, 255],
        nonce: vec![7; 24],
        ciphertext: vec![9, 8, 7],
        created_at: clock.now(),
        updated_at: clock.now(),
    }
}

backend_tests! {
    async fn insert_then_read_back_bytes_exactly(store: Store) {
        let clock = clock();
        let record = sealed(&clock, "k1");
        store.secrets.insert(&record).await.unwrap();
        assert_eq!(store.secrets.get(record.id).await.unwrap(), Some(record));
        assert_eq!(store.secrets.count().await.unwrap(), 1);
    }

    async fn rewrap_only_touches_rows_of_the_old_key(store: Store) {
        let clock = clock();
        let old = sealed(&clock, "old");
        let current = sealed(&clock, "new");
        store.secrets.insert(&old).await.unwrap();
        store.secrets.insert(&current).await.unwrap();
        assert_eq!(store.secrets.key_ids_in_use().await.unwrap(), ["new", "old"]);

        let pending = store.secrets.keys_not_wrapped_by("new", 10).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, old.id);

        assert!(store.secrets.rewrap(old.id, "old", "new", &[4, 4], clock.now()).await.unwrap());
        // A second attempt with the stale key id changes nothing.
        assert!(!store.secrets.rewrap(old.id, "old", "new", &[5, 5], clock.now()).await.unwrap());
        let saved = store.secrets.get(old.id).await.unwrap().unwrap();
        assert_eq!((saved.key_id.as_str(), saved.wrapped_key.as_slice()), ("new", &[4u8, 4][..]));
        assert_eq!(saved.ciphertext, old.ciphertext, "rewrapping leaves the value alone");
        assert_eq!(store.secrets.key_ids_in_use().await.unwrap(), ["new"]);
        assert!(store.secrets.keys_not_wrapped_by("new", 10).await.unwrap().is_empty());
    }

    async fn replace_and_delete(store: Store) {
        let clock = clock();
        let mut record = sealed(&clock, "k1");
        store.secrets.insert(&record).await.unwrap();
        record.ciphertext = vec![1, 1, 1];
        store.secrets.replace(&record).await.unwrap();
        assert_eq!(store.secrets.get(record.id).await.unwrap().unwrap().ciphertext, [1, 1, 1]);
        store.secrets.delete(record.id).await.unwrap();
        assert_eq!(store.secrets.get(record.id).await.unwrap(), None);
        assert!(matches!(store.secrets.replace(&record).await, Err(StoreError::NotFound)));
    }
}
