//! Every executor's payload parser on arbitrary JSON (and arbitrary bytes that are not JSON):
//! none may panic, and what they accept keeps their promises — http(s) URLs only, modes up
//! to 0777, keys of the `APP_PORT` shape, one-line values, allowlisted absolute commands with
//! matching arguments, stack names without path characters. Parsers do no IO; nothing runs.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use switchboard_agent::config::{Allowed, Config};
use switchboard_agent::executors::{compose, env, file, http, shell, steps};

fn allowed() -> &'static [Allowed] {
    static ALLOWED: OnceLock<Vec<Allowed>> = OnceLock::new();
    ALLOWED.get_or_init(|| {
        Config::parse(
            "[executors.shell]\nenabled = true\nallow = [{ path = \"/bin/sleep\", args = [\"^[0-9]{1,3}$\"] }, { path = \"/usr/bin/systemctl\", args = [\"^restart$\", \"^[a-z-]{1,30}$\"] }]\n",
        )
        .and_then(|c| c.allowed_commands())
        .expect("the fuzz allowlist is valid")
    })
}

fn check_all(payload: &Value) {
    if let Ok(c) = http::parse(payload) {
        assert!(c.url.starts_with("http://") || c.url.starts_with("https://"));
        assert!((1..=60).contains(&c.timeout.as_secs()));
    }
    if let Ok((_, content, mode)) = file::write_request(payload, 4096) {
        assert!(mode <= 0o777 && content.len() <= 4096);
    }
    let _ = file::path_of(payload);
    if let Ok(update) = env::update_request(payload) {
        for key in update.set.keys().chain(update.unset.iter()) {
            assert!(!key.is_empty() && key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'));
        }
        assert!(update.set.values().all(|v| !v.contains('\n') && !v.contains('\r')));
    }
    if let Ok((stack, args)) = compose::parse(payload) {
        assert!(!stack.contains('/') && !stack.contains('.'));
        assert!(args.first().map(String::as_str) == Some("compose"));
    }
    if let Ok((entry, args)) = shell::check(allowed(), payload) {
        assert!(entry.path.starts_with('/'));
        assert_eq!(args.len(), entry.args.len());
        assert!(args.iter().zip(&entry.args).all(|(a, p)| p.is_match(a)));
    }
    if let Ok(list) = steps(payload) {
        assert!((1..=20).contains(&list.len()));
        for step in list {
            check_all(&step["payload"]);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = serde_json::from_slice::<Value>(data) {
        check_all(&payload);
    }
    // Dotenv files are read from the server's disk: any text must parse.
    if let Ok(text) = std::str::from_utf8(data) {
        for (key, value) in env::parse(text) {
            assert!(!key.contains('\n') && !value.contains('\n'));
        }
    }
});
