//! The scanner and whole-text redaction on arbitrary input: no panic; findings on character
//! boundaries; redacted output within the documented bound; redacting redacted text changes
//! nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_guard::{redact, scanner, Placeholders, Policy, MAX_PLACEHOLDER_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(findings) = scanner().scan(text) else {
        return;
    };
    // Placeholder-shaped tokens (`[PASSWORD_1]`) already in the input refer to the
    // conversation's values by contract (docs/guard.md), so idempotence is checked on inputs
    // without them; the other invariants hold for every input.
    let has_placeholder_token = text.match_indices('[').any(|(i, _)| {
        text[i..].find(']').is_some_and(|j| {
            let inner = &text[i + 1..i + j];
            inner.rsplit_once('_').is_some_and(|(label, n)| {
                !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && !label.is_empty()
                    && label.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            })
        })
    });
    for f in &findings {
        assert!(f.start < f.end && f.end <= text.len());
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        assert!((0.0..=1.0).contains(&f.confidence));
    }
    let policy = Policy::default();
    let mut placeholders = Placeholders::new();
    let once =
        redact(scanner(), text, &policy, &mut placeholders).expect("default policy never blocks");
    assert!(once.text.len() <= text.len() + MAX_PLACEHOLDER_BYTES * once.findings.len());
    if !has_placeholder_token {
        let twice = redact(scanner(), &once.text, &policy, &mut placeholders).expect("no block");
        assert_eq!(twice.text, once.text, "redaction is idempotent");
    }
});
