//! The detectors. Each is a linear pass (a byte loop, `memchr`, or the scanner's one
//! Aho-Corasick automaton) that proposes candidates and confirms them with checksums,
//! structure or nearby words before reporting a [`crate::Finding`].

pub(crate) mod email;
pub(crate) mod identifiers;
pub(crate) mod injection;
pub(crate) mod ipv6;
pub(crate) mod numbers;
pub(crate) mod secrets;

/// Letters, digits and `_`: the bytes that continue a word.
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// [`is_word`], or a placeholder bracket: a value next to `[EMAIL_1]` was next to the email's
/// characters before redaction, so redacting again must not see a new boundary there.
pub(crate) fn is_glue(b: u8) -> bool {
    is_word(b) || b == b'[' || b == b']'
}

/// Whether one of `words` (lowercase ASCII) starts a word in the `window` bytes before `at`.
/// A word inside a placeholder (`[PHONE_2]`) or glued to another word does not count.
/// The context stops at the nearest digit, placeholder bracket or newline before `at`, so it
/// is the same before and after the values around it are redacted.
pub(crate) fn context_before(bytes: &[u8], at: usize, window: usize, words: &[&str]) -> bool {
    let mut from = at.saturating_sub(window);
    if let Some(stop) = bytes[from..at]
        .iter()
        .rposition(|b| b.is_ascii_digit() || matches!(b, b']' | b'\n'))
    {
        from += stop + 1;
    }
    let before = bytes[from..at].to_ascii_lowercase();
    words.iter().any(|w| {
        memchr::memmem::find_iter(&before, w.as_bytes()).any(|i| {
            let start_ok = i == 0
                || !(before[i - 1].is_ascii_alphanumeric() || matches!(before[i - 1], b'[' | b'_'));
            let end = i + w.len();
            let end_ok = end >= before.len() || !matches!(before[end], b'_' | b'0'..=b'9');
            start_ok && end_ok
        })
    })
}

/// The word (letters only, lowercased, at most 32) that ends right before `at`, skipping
/// spaces and `:`.
pub(crate) fn previous_word(bytes: &[u8], at: usize) -> String {
    let mut end = at;
    while end > 0 && matches!(bytes[end - 1], b' ' | b':' | b'\t') {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && bytes[start - 1].is_ascii_alphabetic() && end - start < 32 {
        start -= 1;
    }
    bytes[start..end]
        .to_ascii_lowercase()
        .into_iter()
        .map(char::from)
        .collect()
}
