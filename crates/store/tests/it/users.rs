use switchboard_domain::{Clock, UserId};
use switchboard_store::{backend_tests, StoreError, UserRecord, UserStatus};

use crate::clock;

pub fn user(clock: &switchboard_domain::ManualClock, email: &str) -> UserRecord {
    UserRecord {
        id: UserId::generate(clock),
        email: email.to_owned(),
        name: "Ada Lovelace".to_owned(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        is_operator: true,
        status: UserStatus::Active,
        created_at: clock.now(),
        updated_at: clock.now(),
        totp_secret_id: None,
        totp_enabled_at: None,
        totp_last_step: None,
    }
}

backend_tests! {
    async fn insert_then_read_back(store: Store) {
        let clock = clock();
        let ada = user(&clock, "ada@example.com");
        store.users.insert(&ada).await.unwrap();
        assert_eq!(store.users.get(ada.id).await.unwrap(), Some(ada.clone()));
        assert_eq!(store.users.get_by_email("ada@example.com").await.unwrap(), Some(ada));
        assert_eq!(store.users.get_by_email("bob@example.com").await.unwrap(), None);
        assert_eq!(store.users.count().await.unwrap(), 1);
    }

    async fn duplicate_email_is_a_conflict(store: Store) {
        let clock = clock();
        store.users.insert(&user(&clock, "ada@example.com")).await.unwrap();
        let err = store.users.insert(&user(&clock, "ada@example.com")).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }
}
