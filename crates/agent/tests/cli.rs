//! The agent binary answers `--version` and `--help` without any configuration.

#![allow(clippy::unwrap_used, reason = "test code")]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard-agent");

#[test]
fn version_and_help() {
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert!(version.status.success());
    let text = String::from_utf8(version.stdout).unwrap();
    assert_eq!(
        text.trim(),
        format!("switchboard-agent {}", env!("CARGO_PKG_VERSION"))
    );

    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8(help.stdout)
        .unwrap()
        .contains("Usage: switchboard-agent"));
}
