use std::sync::Arc;

use switchboard_app::secrets::{
    load_keyring, KeySource, Keyring, KeyringOrigin, MasterKey, SecretsError,
};
use switchboard_app::Secrets;
use switchboard_domain::{Clock, OrgId, SystemClock};
use switchboard_store::backend_tests;
use zeroize::Zeroizing;

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn env_source(keys: &[&MasterKey]) -> KeySource {
    let text: Vec<String> = keys.iter().map(|k| k.to_base64().to_string()).collect();
    KeySource::Env(Zeroizing::new(text.join(",")))
}

backend_tests! {
    async fn sealed_values_open_only_in_their_context(store: Store) {
        let secrets = Secrets::new(store.clone(), clock(), Keyring::new(MasterKey::generate(), vec![]));
        let org = OrgId::generate(&SystemClock);
        let id = secrets.seal(Some(org), "provider.api_key", b"sk-test-1").await.unwrap();
        let raw = store.secrets.get(id).await.unwrap().unwrap();
        assert!(!raw.ciphertext.windows(9).any(|w| w == b"sk-test-1"), "stored encrypted");
        assert_eq!(secrets.open(id, Some(org), "provider.api_key").await.unwrap().as_slice(), b"sk-test-1");
        let other_org = OrgId::generate(&SystemClock);
        assert!(matches!(secrets.open(id, Some(other_org), "provider.api_key").await, Err(SecretsError::Crypto)));
        assert!(matches!(secrets.open(id, Some(org), "webhook.secret").await, Err(SecretsError::Crypto)));
        secrets.replace(id, Some(org), "provider.api_key", b"sk-test-2").await.unwrap();
        assert_eq!(secrets.open(id, Some(org), "provider.api_key").await.unwrap().as_slice(), b"sk-test-2");
    }

    async fn rotation_keeps_every_old_value_readable(store: Store) {
        let old = MasterKey::generate();
        let old_b64 = old.to_base64();
        let before = Secrets::new(store.clone(), clock(), Keyring::new(old, vec![]));
        let mut ids = Vec::new();
        for i in 0..300u32 {
            let org = (i % 3 != 0).then(|| OrgId::generate(&SystemClock));
            let value = format!("value-{i}");
            ids.push((before.seal(org, "test.rotation", value.as_bytes()).await.unwrap(), org, value));
        }
        let old_again = MasterKey::from_base64(&old_b64).unwrap();
        let new = MasterKey::generate();
        let new_id = new.id().to_owned();
        let new_b64 = new.to_base64();
        let after = Secrets::new(store.clone(), clock(), Keyring::new(old_again, vec![]).with_new_active(new));
        let report = after.rewrap_all().await.unwrap();
        assert_eq!(report.rewrapped, 300);
        assert_eq!(store.secrets.key_ids_in_use().await.unwrap(), std::slice::from_ref(&new_id));
        // Only the new key is needed now.
        let only_new = Secrets::new(store.clone(), clock(), Keyring::parse(&new_b64, "test").unwrap());
        for (id, org, value) in &ids {
            assert_eq!(only_new.open(*id, *org, "test.rotation").await.unwrap().as_slice(), value.as_bytes());
        }
        // Running it again has nothing to do.
        assert_eq!(after.rewrap_all().await.unwrap().rewrapped, 0);
    }

    async fn startup_refuses_a_wrong_or_missing_key(store: Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        // First start with no sealed data: the key file is created.
        let (keyring, origin) = load_keyring(&KeySource::File(path.clone()), &store).await.unwrap();
        assert_eq!(origin, KeyringOrigin::Created);
        let secrets = Secrets::new(store.clone(), clock(), keyring);
        secrets.seal(None, "test.canary", b"x").await.unwrap();
        // Second start with the same file is fine.
        let (_, origin) = load_keyring(&KeySource::File(path.clone()), &store).await.unwrap();
        assert_eq!(origin, KeyringOrigin::Loaded);
        // A wrong key is refused.
        let err = load_keyring(&env_source(&[&MasterKey::generate()]), &store).await.unwrap_err();
        assert!(matches!(err, SecretsError::WrongKey { .. }), "{err}");
        assert!(err.to_string().contains("SWITCHBOARD_MASTER_KEY"), "{err}");
        // A missing key file is refused rather than replaced.
        std::fs::remove_file(&path).unwrap();
        let err = load_keyring(&KeySource::File(path.clone()), &store).await.unwrap_err();
        assert!(matches!(err, SecretsError::MissingKeyFile { .. }), "{err}");
        assert!(!path.exists(), "no new key was written over sealed data");
    }
}
