use std::sync::Arc;

use switchboard_app::secrets::{load_keyring, KeySource};
use switchboard_app::Secrets;
use switchboard_domain::{OrgId, SystemClock};
use switchboard_store::{ConnectOptions, Store};

use crate::hub::{self, Backend, Hub};

async fn open(url: &str) -> Store {
    let store = Store::connect(&ConnectOptions::new(url)).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Migrates through the binary, then opens the same database with the key file the hub will
/// use, returning the store, the key file and a `Secrets` sealing with it.
async fn seeded(backend: &Backend, dir: &std::path::Path) -> (Store, std::path::PathBuf, Secrets) {
    let output = hub::run(dir, &["migrate"], &backend.env());
    assert!(output.status.success(), "{}", hub::stderr(&output));
    let store = open(&url_for(backend, dir)).await;
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let key_file = dir.join("data/master.key");
    let (keyring, _) = load_keyring(&KeySource::File(key_file.clone()), &store)
        .await
        .unwrap();
    let secrets = Secrets::new(store.clone(), Arc::new(SystemClock), keyring);
    (store, key_file, secrets)
}

fn url_for(backend: &Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("data/switchboard.db").display()),
        Backend::Postgres(db) => db.url().to_owned(),
    }
}

#[tokio::test]
async fn a_wrong_or_missing_master_key_refuses_to_start() {
    for backend in Backend::each().await {
        let dir = tempfile::tempdir().unwrap();
        let (store, key_file, secrets) = seeded(&backend, dir.path()).await;
        let org = OrgId::generate(&SystemClock);
        secrets
            .seal(Some(org), "provider.api_key", b"sk-123")
            .await
            .unwrap();
        store.close().await;

        let mut env = backend.env();
        let wrong = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        env.push(("SWITCHBOARD_MASTER_KEY", wrong));
        let output = hub::run(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &env);
        assert_eq!(output.status.code(), Some(1), "{}", backend.name());
        let err = hub::stderr(&output);
        assert!(err.contains("does not match the sealed data"), "{err}");

        let saved = std::fs::read(&key_file).unwrap();
        std::fs::remove_file(&key_file).unwrap();
        let output = hub::run(
            dir.path(),
            &["serve", "--listen", "127.0.0.1:0"],
            &backend.env(),
        );
        assert_eq!(output.status.code(), Some(1));
        assert!(
            hub::stderr(&output).contains("is missing"),
            "{}",
            hub::stderr(&output)
        );
        assert!(!key_file.exists(), "no new key written over sealed data");

        std::fs::write(&key_file, saved).unwrap();
        let hub = Hub::start(dir.path(), &backend.env());
        let (code, _) = hub.terminate();
        assert_eq!(code, Some(0), "the right key starts again");
    }
}

#[tokio::test]
async fn rotation_keeps_values_readable_and_the_hub_starting() {
    for backend in Backend::each().await {
        let dir = tempfile::tempdir().unwrap();
        let (store, key_file, secrets) = seeded(&backend, dir.path()).await;
        let old_id = secrets.active_key_id().to_owned();
        let org = OrgId::generate(&SystemClock);
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                secrets
                    .seal(Some(org), "test", format!("v{i}").as_bytes())
                    .await
                    .unwrap(),
            );
        }

        let output = hub::run(dir.path(), &["keys", "rotate"], &backend.env());
        assert_eq!(output.status.code(), Some(0), "{}", hub::stderr(&output));
        assert!(
            hub::stdout(&output).contains("re-wrapped 5 data key(s)"),
            "{}",
            hub::stdout(&output)
        );

        let (rotated, _) = load_keyring(&KeySource::File(key_file.clone()), &store)
            .await
            .unwrap();
        assert_ne!(rotated.active().id(), old_id, "a new key seals now");
        assert_eq!(
            store.secrets.key_ids_in_use().await.unwrap(),
            [rotated.active().id().to_owned()]
        );
        let after = Secrets::new(store.clone(), Arc::new(SystemClock), rotated);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                after.open(*id, Some(org), "test").await.unwrap().as_slice(),
                format!("v{i}").as_bytes()
            );
        }
        store.close().await;
        let hub = Hub::start(dir.path(), &backend.env());
        assert_eq!(hub.terminate().0, Some(0));
    }
}
