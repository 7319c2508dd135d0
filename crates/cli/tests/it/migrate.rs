use crate::hub::{self, Backend};

#[tokio::test]
async fn migrate_twice_changes_nothing_the_second_time() {
    for backend in Backend::each().await {
        let dir = tempfile::tempdir().unwrap();
        let first = hub::run(dir.path(), &["migrate"], &backend.env());
        assert_eq!(first.status.code(), Some(0), "{}", hub::stderr(&first));
        assert!(
            hub::stdout(&first).starts_with("applied "),
            "{}",
            hub::stdout(&first)
        );
        let second = hub::run(dir.path(), &["migrate"], &backend.env());
        assert_eq!(second.status.code(), Some(0));
        assert!(
            hub::stdout(&second).starts_with("database is up to date"),
            "{} on {}",
            hub::stdout(&second),
            backend.name()
        );
    }
}
