//! Email addresses: found from each `@`, expanded over the characters an address may hold,
//! and checked for a plausible domain (labels, a top-level domain of letters).

use crate::{Confirmation, Finding, Kind};

fn local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

pub(crate) fn scan(bytes: &[u8], out: &mut Vec<Finding>) {
    for at in memchr::memchr_iter(b'@', bytes) {
        let mut start = at;
        while start > 0 && local_char(bytes[start - 1]) && at - start < 65 {
            start -= 1;
        }
        // Trim leading dots; a local part that is too long is not an address we trust.
        while start < at && bytes[start] == b'.' {
            start += 1;
        }
        let local = &bytes[start..at];
        if local.is_empty() || local.len() > 64 || local.ends_with(b".") || local.contains(&b'@') {
            continue;
        }
        // Glued to another address or to a placeholder's edge, or punctuation only: not an
        // address of its own.
        if start > 0
            && (bytes[start - 1] == b'@'
                || bytes[start - 1] == b']'
                || local_char(bytes[start - 1]))
        {
            continue;
        }
        if !local.iter().any(u8::is_ascii_alphanumeric) {
            continue;
        }
        let mut end = at + 1;
        while end < bytes.len() && domain_char(bytes[end]) && end - at <= 253 {
            end += 1;
        }
        // A domain running into a placeholder may have been longer before redaction.
        if bytes.get(end) == Some(&b'[') {
            continue;
        }
        // A sentence may end right after the address.
        while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let domain = &bytes[at + 1..end];
        if !valid_domain(domain) {
            continue;
        }
        out.push(Finding::new(
            Kind::Email,
            start,
            end,
            0.99,
            Confirmation::Format,
            "email",
        ));
    }
}

fn valid_domain(domain: &[u8]) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&[u8]> = domain.split(|b| *b == b'.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels
        .iter()
        .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with(b"-") && !l.ends_with(b"-"));
    let tld = labels[labels.len() - 1];
    labels_ok && (2..=24).contains(&tld.len()) && tld.iter().all(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        scan(text.as_bytes(), &mut out);
        out.iter().map(|f| &text[f.start..f.end]).collect()
    }

    #[test]
    fn finds_addresses() {
        assert_eq!(
            found("mail jane.doe+ops@example.co.uk."),
            ["jane.doe+ops@example.co.uk"]
        );
        assert_eq!(
            found("<a.b@c-d.io>, x_y@sub.example.com"),
            ["a.b@c-d.io", "x_y@sub.example.com"]
        );
    }

    #[test]
    fn ignores_non_addresses() {
        for text in [
            "@mention",
            "user@localhost",
            "a@b.c1",
            "twitter @handle.",
            "x@-bad.com",
            "[EMAIL_1]",
        ] {
            assert!(found(text).is_empty(), "{text}");
        }
    }
}
