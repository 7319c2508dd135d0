use std::io::Write as _;
use std::process::Stdio;

use crate::hub;

fn with_stdin(args: &[&str], input: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = hub::command(dir.path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Feed stdin from another thread: the child writes output while we are still writing.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

#[test]
fn scan_prints_the_fixed_json_contract() {
    let input = "Hello, mail jane.doe@example.com or call +44 20 7946 0958.";
    let output = with_stdin(&["guard", "scan", "--format", "json"], input);
    assert!(output.status.success(), "{}", hub::stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&hub::stdout(&output)).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    let email = &findings[0];
    assert_eq!(
        email.as_object().unwrap().len(),
        4,
        "exactly kind, start, end, confidence"
    );
    assert_eq!(email["kind"], "email");
    let (start, end) = (
        email["start"].as_u64().unwrap() as usize,
        email["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&input[start..end], "jane.doe@example.com");
    assert!(email["confidence"].as_f64().unwrap() > 0.9);
    assert_eq!(findings[1]["kind"], "phone");
}

#[test]
fn scan_offsets_are_bytes_into_utf8() {
    let input = "Grüße → bob@example.org";
    let output = with_stdin(&["guard", "scan", "--format", "json"], input);
    let json: serde_json::Value = serde_json::from_str(&hub::stdout(&output)).unwrap();
    let f = &json["findings"][0];
    assert_eq!(
        &input[f["start"].as_u64().unwrap() as usize..f["end"].as_u64().unwrap() as usize],
        "bob@example.org"
    );
}

#[test]
fn redact_replaces_values_and_is_idempotent() {
    let input = "card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE, mail a@example.com and a@example.com\n";
    let output = with_stdin(&["guard", "redact"], input);
    assert!(output.status.success());
    let redacted = hub::stdout(&output);
    assert_eq!(
        redacted,
        "card [PAYMENT_CARD_1], key [API_KEY_1], mail [EMAIL_1] and [EMAIL_1]\n"
    );
    let again = with_stdin(&["guard", "redact"], &redacted);
    assert_eq!(hub::stdout(&again), redacted);
    let masked = with_stdin(&["guard", "redact", "--style", "mask"], input);
    assert_eq!(
        hub::stdout(&masked),
        "card **** **** **** 1111, key AKIA****, mail a***@example.com and a***@example.com\n"
    );
}

#[test]
fn redact_streams_large_inputs() {
    let line = "user jane@example.com logged in from 203.0.113.9\n";
    let input = line.repeat(100_000); // ~5 MB, above the scan limit
    let output = with_stdin(&["guard", "redact"], &input);
    assert!(output.status.success(), "{}", hub::stderr(&output));
    let out = hub::stdout(&output);
    assert_eq!(out.lines().count(), 100_000);
    assert!(!out.contains("jane@example.com") && !out.contains("203.0.113.9"));
    assert!(out.starts_with("user [EMAIL_1] logged in from [IP_ADDRESS_1]\n"));
}
