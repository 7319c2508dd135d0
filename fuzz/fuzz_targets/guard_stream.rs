//! The streaming redactor on arbitrary input and arbitrary chunking: no panic, and the
//! streamed output equals whole-text redaction.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_guard::{redact, scanner, Placeholders, Policy, StreamRedactor};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let policy = Policy::default();
    let whole = redact(scanner(), text, &policy, &mut Placeholders::new())
        .expect("no block")
        .text;

    let mut redactor = StreamRedactor::new(policy);
    let mut placeholders = Placeholders::new();
    let mut out = String::new();
    let step = usize::from(seed % 17) + 1;
    let mut i = 0;
    while i < text.len() {
        let mut j = (i + step).min(text.len());
        while !text.is_char_boundary(j) {
            j += 1;
        }
        out.push_str(
            &redactor
                .push(&text[i..j], &mut placeholders)
                .expect("no block"),
        );
        i = j;
    }
    out.push_str(&redactor.finish(&mut placeholders).expect("no block"));
    assert_eq!(out, whole);
});
