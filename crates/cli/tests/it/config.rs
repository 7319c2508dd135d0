use crate::hub;

#[test]
fn unknown_keys_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("switchboard.toml"),
        "listen = \"127.0.0.1:0\"\nlisten_port = 9\n",
    )
    .unwrap();
    for args in [
        &["--config", "switchboard.toml", "config", "check"][..],
        &["--config", "switchboard.toml", "serve"][..],
    ] {
        let output = hub::run(dir.path(), args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = hub::stderr(&output);
        assert!(err.contains("listen_port"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert!(!dir.path().join("data").exists(), "nothing was created");

    let output = hub::run(
        dir.path(),
        &["config", "check"],
        &[("SWITCHBOARD_LISTN", "x")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(hub::stderr(&output).contains("SWITCHBOARD_LISTN"));

    let output = hub::run(
        dir.path(),
        &["config", "check"],
        &[("SWITCHBOARD_CONFIG", "switchboard.toml")],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "SWITCHBOARD_CONFIG names the file too"
    );
}

#[test]
fn bad_values_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = hub::run(dir.path(), &["serve", "--listen", "not-an-address"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        hub::stderr(&output).contains("--listen"),
        "{}",
        hub::stderr(&output)
    );
    let output = hub::run(
        dir.path(),
        &["config", "check"],
        &[("SWITCHBOARD_DATABASE_MAX_CONNECTIONS", "many")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(hub::stderr(&output).contains("SWITCHBOARD_DATABASE_MAX_CONNECTIONS"));
}

#[test]
fn check_passes_and_show_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", "postgres://sb:hunter2@db.internal/sb"),
        (
            "SWITCHBOARD_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ),
    ];
    let output = hub::run(dir.path(), &["config", "check"], &env);
    assert_eq!(output.status.code(), Some(0), "{}", hub::stderr(&output));
    let output = hub::run(dir.path(), &["config", "show"], &env);
    assert_eq!(output.status.code(), Some(0));
    let shown = hub::stdout(&output);
    assert!(
        shown.contains("postgres://sb:***@db.internal/sb"),
        "{shown}"
    );
    assert!(shown.contains("master_key = \"***\""), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("AAAAAAAA"),
        "{shown}"
    );
    let parsed: toml::Table = shown.parse().unwrap();
    assert_eq!(parsed["listen"].as_str(), Some("127.0.0.1:8080"));
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["serve", "--help"][..],
        &["migrate", "--help"][..],
        &["config", "--help"][..],
        &["config", "check", "--help"][..],
        &["config", "show", "--help"][..],
        &["keys", "--help"][..],
        &["keys", "rotate", "--help"][..],
    ] {
        let output = hub::run(dir.path(), args, &[]);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(hub::stdout(&output).contains("Usage:"), "{args:?}");
    }
    let output = hub::run(dir.path(), &["--version"], &[]);
    assert!(hub::stdout(&output).starts_with("switchboard "));
}
