//! IPv6 addresses: candidates are runs of hex digits and colons around each `::` or colon
//! group, confirmed by the standard library's parser.

use std::net::Ipv6Addr;

use super::is_word;
use crate::{Confirmation, Finding, Kind};

fn ip_char(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

pub(crate) fn scan(bytes: &[u8], out: &mut Vec<Finding>) {
    let mut next_free = 0;
    for colon in memchr::memchr_iter(b':', bytes) {
        if colon < next_free {
            continue;
        }
        let mut start = colon;
        while start > 0 && ip_char(bytes[start - 1]) && colon - start <= 46 {
            start -= 1;
        }
        // The whole run of address characters, so scanning resumes at the same place
        // wherever it started.
        let mut end = colon;
        while end < bytes.len() && ip_char(bytes[end]) {
            end += 1;
        }
        next_free = end;
        while end > colon && bytes[end - 1] == b'.' {
            end -= 1;
        }
        // `[2001:db8::1]` is the URL notation; `]` before or `[` after is a placeholder's
        // edge, where the original text may have continued the candidate.
        if (start > 0 && (is_word(bytes[start - 1]) || matches!(bytes[start - 1], b':' | b']')))
            || (end < bytes.len() && (is_word(bytes[end]) || bytes[end] == b'['))
            || end - start > 45
        {
            continue;
        }
        let candidate = &bytes[start..end];
        let colons = candidate.iter().filter(|b| **b == b':').count();
        let hex_digits = candidate.iter().filter(|b| b.is_ascii_hexdigit()).count();
        let compressed = memchr::memmem::find(candidate, b"::").is_some();
        let plausible = colons == 7 || (compressed && (hex_digits >= 3 || candidate == b"::1"));
        if !plausible {
            continue;
        }
        let Ok(text) = std::str::from_utf8(candidate) else {
            continue;
        };
        if text.parse::<Ipv6Addr>().is_ok() {
            out.push(Finding::new(
                Kind::IpAddress,
                start,
                end,
                0.9,
                Confirmation::Format,
                "ipv6",
            ));
        }
    }
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
            found("ping 2001:db8:85a3::8a2e:370:7334 now"),
            ["2001:db8:85a3::8a2e:370:7334"]
        );
        assert_eq!(
            found("fe80::1ff:fe23:4567:890a."),
            ["fe80::1ff:fe23:4567:890a"]
        );
        assert_eq!(
            found("at 2001:0db8:0000:0000:0000:ff00:0042:8329"),
            ["2001:0db8:0000:0000:0000:ff00:0042:8329"]
        );
    }

    #[test]
    fn ignores_lookalikes() {
        for text in [
            "12:30:45",
            "00:1A:2B:3C:4D:5E",
            "std::net::Ipv6Addr",
            "Vec::new()",
            "a::b",
            "ratio 3:2",
        ] {
            assert!(found(text).is_empty(), "{text}");
        }
    }
}
