//! Numeric identifiers: payment cards, phone numbers, US SSNs, German Steuer-IDs and IPv4
//! addresses. One pass finds runs of digits and separators at word boundaries; each run is
//! then classified by its grouping and confirmed by a checksum or a rule.

use super::{context_before, is_glue, is_word, previous_word};
use crate::checksums;
use crate::{Confirmation, Finding, Kind};

/// Longest run considered (a formatted 19-digit card with separators fits).
const MAX_RUN: usize = 32;

const PHONE_WORDS: &[&str] = &[
    "tel", "phone", "mobile", "call", "fax", "cell", "whatsapp", "contact",
];
const SSN_WORDS: &[&str] = &["ssn", "social security"];
const STEUER_WORDS: &[&str] = &["steuer", "idnr", "identifikationsnummer", "tax id", "tin"];

struct Run {
    start: usize,
    end: usize,
    plus: bool,
    paren: bool,
    digits: Vec<u8>,
    groups: Vec<usize>,
    seps: Vec<u8>,
}

pub(crate) fn scan(bytes: &[u8], out: &mut Vec<Finding>) {
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        let b = bytes[i];
        let opener = (b == b'+' || b == b'(') && i + 1 < n && bytes[i + 1].is_ascii_digit();
        if !(b.is_ascii_digit() || opener) {
            i += 1;
            continue;
        }
        // Digits inside a word ("A123", "v2") or continuing an identifier ("INV-2024") are
        // not numbers of interest: skip to the end of that word.
        let glued = i > 0 && is_glue(bytes[i - 1]);
        let continues_identifier =
            i > 1 && matches!(bytes[i - 1], b'-' | b'.' | b'/' | b':') && is_glue(bytes[i - 2]);
        if glued || continues_identifier {
            i += 1;
            while i < n && (is_word(bytes[i]) || bytes[i] == b'-' || bytes[i] == b'.') {
                i += 1;
            }
            continue;
        }
        match read_run(bytes, i) {
            Ok(run) => {
                classify(bytes, &run, out);
                i = run.end.max(i + 1);
            }
            // Not a candidate: continue after it, so no suffix of it is tried again.
            Err(skip_to) => i = skip_to.max(i + 1),
        }
    }
}

/// Reads a run of digit groups starting at `start`; `Err(end)` when it is not a candidate.
fn read_run(bytes: &[u8], start: usize) -> Result<Run, usize> {
    let n = bytes.len();
    let mut run = Run {
        start,
        end: start,
        plus: false,
        paren: false,
        digits: Vec::with_capacity(20),
        groups: Vec::with_capacity(6),
        seps: Vec::with_capacity(6),
    };
    let mut j = start;
    if bytes[j] == b'+' {
        run.plus = true;
        j += 1;
    }
    let mut group = 0usize;
    let mut open_paren = false;
    while j < n && j - start <= MAX_RUN {
        let c = bytes[j];
        if c.is_ascii_digit() {
            run.digits.push(c - b'0');
            group += 1;
            j += 1;
            continue;
        }
        // A separator (or two, like ") ") must be followed by a digit to continue the run.
        let sep_len = match c {
            b'(' if !open_paren => 1,
            b')' if open_paren => 1,
            b' ' | b'-' | b'.' | b'/' => 1,
            _ => 0,
        };
        if sep_len == 0 {
            break;
        }
        let mut k = j + 1;
        if c == b')' && k < n && matches!(bytes[k], b' ' | b'-') {
            k += 1;
        }
        if c == b' ' && k < n && bytes[k] == b'(' {
            k += 1;
            open_paren = true;
            run.paren = true;
        }
        if k >= n || !bytes[k].is_ascii_digit() {
            break;
        }
        match c {
            b'(' => {
                open_paren = true;
                run.paren = true;
            }
            b')' => open_paren = false,
            _ => {}
        }
        if group > 0 {
            run.groups.push(group);
            run.seps
                .push(if c == b')' { bytes[j + 1].max(b' ') } else { c });
        }
        group = 0;
        j = k;
    }
    if group > 0 {
        run.groups.push(group);
    }
    if j - start > MAX_RUN || run.digits.is_empty() {
        // Too long to be one identifier: skip the whole stretch of digits and separators, so
        // scanning resumes at the same place wherever it started (the streaming redactor
        // relies on this).
        while j < n
            && (is_word(bytes[j])
                || matches!(bytes[j], b'+' | b'(' | b')' | b'-' | b'.' | b' ' | b'/'))
        {
            j += 1;
        }
        return Err(j);
    }
    run.end = j;
    // The run must end at a word boundary, and not lead into an email address or a longer
    // dotted number (a version or an OID).
    if j < n && (is_glue(bytes[j]) || bytes[j] == b'@') {
        while j < n && (is_word(bytes[j]) || matches!(bytes[j], b'-' | b'.')) {
            j += 1;
        }
        return Err(j);
    }
    // A separator then a placeholder: what stood there before redaction may have continued
    // this run, so the run is not judged on its own.
    if j + 1 < n
        && matches!(bytes[j], b' ' | b'-' | b'.' | b'/' | b'(' | b')' | b':')
        && bytes[j + 1] == b'['
    {
        return Err(j);
    }
    if j + 1 < n && bytes[j] == b'.' && bytes[j + 1].is_ascii_digit() {
        while j < n && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
            j += 1;
        }
        return Err(j);
    }
    Ok(run)
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0u32, |acc, d| {
        acc.saturating_mul(10).saturating_add(u32::from(*d))
    })
}

fn classify(bytes: &[u8], run: &Run, out: &mut Vec<Finding>) {
    let (start, end) = (run.start, run.end);
    let total = run.digits.len();
    let seps_all = |c: u8| !run.seps.is_empty() && run.seps.iter().all(|s| *s == c);
    let plain = !run.plus && !run.paren;

    // IPv4: four dotted groups of 0-255, not a version number.
    if plain && run.groups.len() == 4 && seps_all(b'.') {
        let mut offset = 0;
        let mut ok = true;
        for len in &run.groups {
            let part = &run.digits[offset..offset + len];
            offset += len;
            ok &= *len <= 3 && number(part) <= 255 && !(*len > 1 && part[0] == 0);
        }
        let word = previous_word(bytes, start);
        if ok && !matches!(word.as_str(), "v" | "version" | "ver" | "release" | "build") {
            out.push(Finding::new(
                Kind::IpAddress,
                start,
                end,
                0.9,
                Confirmation::Format,
                "ipv4",
            ));
        }
        return;
    }
    let dotted = run.seps.contains(&b'.');

    // US SSN: 3-2-4 with dashes (or spaces next to the word SSN).
    if plain
        && run.groups == [3, 2, 4]
        && (seps_all(b'-') || (seps_all(b' ') && context_before(bytes, start, 24, SSN_WORDS)))
    {
        let area = number(&run.digits[0..3]);
        let group = number(&run.digits[3..5]);
        let serial = number(&run.digits[5..9]);
        if checksums::ssn_valid(area, group, serial) {
            out.push(Finding::new(
                Kind::NationalId,
                start,
                end,
                0.9,
                Confirmation::Format,
                "us_ssn",
            ));
        }
        return;
    }
    if plain && total == 9 && run.groups.len() == 1 && context_before(bytes, start, 24, SSN_WORDS) {
        let area = number(&run.digits[0..3]);
        if checksums::ssn_valid(area, number(&run.digits[3..5]), number(&run.digits[5..9])) {
            out.push(Finding::new(
                Kind::NationalId,
                start,
                end,
                0.85,
                Confirmation::Context,
                "us_ssn",
            ));
            return;
        }
    }

    // German Steuer-ID: 11 digits, printed as "12 345 678 901" or plain next to its name.
    if plain
        && total == 11
        && ((run.groups == [2, 3, 3, 3] && seps_all(b' '))
            || (run.groups.len() == 1 && context_before(bytes, start, 40, STEUER_WORDS)))
        && checksums::steuer_id_valid(&run.digits)
    {
        out.push(Finding::new(
            Kind::NationalId,
            start,
            end,
            0.95,
            Confirmation::Checksum,
            "de_steuer_id",
        ));
        return;
    }

    // Payment cards: 13-19 digits in one block or groups split by spaces or dashes; a known
    // issuer prefix and length, and the Luhn check.
    if plain
        && !dotted
        && (13..=19).contains(&total)
        && (run.groups.len() == 1 || seps_all(b' ') || seps_all(b'-'))
    {
        let grouped_like_a_card = run.groups.len() == 1
            || run
                .groups
                .iter()
                .take(run.groups.len() - 1)
                .all(|g| *g == 4)
            || run.groups == [4, 6, 5]
            || run.groups == [4, 6, 4];
        if grouped_like_a_card && checksums::luhn(&run.digits) {
            if let Some(issuer) = checksums::card_issuer(&run.digits) {
                out.push(Finding::new(
                    Kind::PaymentCard,
                    start,
                    end,
                    0.99,
                    Confirmation::Checksum,
                    issuer,
                ));
                return;
            }
        }
    }

    // Phone numbers.
    if run.plus && (8..=15).contains(&total) && !dotted_only_pairs(run) {
        out.push(Finding::new(
            Kind::Phone,
            start,
            end,
            0.9,
            Confirmation::Format,
            "international",
        ));
        return;
    }
    if !run.plus {
        let nanp = (total == 10 && run.groups.len() >= 2 && (2..=9).contains(&run.digits[0]))
            || (total == 11
                && run.digits[0] == 1
                && run.groups.first() == Some(&1)
                && run.groups.len() >= 3);
        let nanp_grouped =
            matches!(run.groups.as_slice(), [3, 3, 4] | [1, 3, 3, 4]) && !run.seps.contains(&b'/');
        if nanp
            && nanp_grouped
            && (run.paren || seps_all(b'-') || seps_all(b'.') || seps_all(b' ') || mixed_paren(run))
        {
            out.push(Finding::new(
                Kind::Phone,
                start,
                end,
                0.85,
                Confirmation::Format,
                "nanp",
            ));
            return;
        }
        // National numbers with a trunk prefix: "030 12345678", "020 7946 0958", "0171-2345678",
        // "030/1234567"; French "01 23 45 67 89". Product codes like "030-4412-77" are not.
        let last_group = run.groups.last().copied().unwrap_or(0);
        let spaced_or_slashed = run.seps.iter().all(|s| matches!(s, b' ' | b'/'));
        let one_dash = run.groups.len() == 2 && seps_all(b'-');
        let french = run.groups == [2, 2, 2, 2, 2] && (seps_all(b' ') || seps_all(b'.'));
        let trunk = run.digits[0] == 0
            && (9..=12).contains(&total)
            && run.groups.len() >= 2
            && run.groups[0] >= 2
            && ((!dotted && (spaced_or_slashed || one_dash) && last_group >= 4) || french);
        if trunk {
            out.push(Finding::new(
                Kind::Phone,
                start,
                end,
                0.8,
                Confirmation::Format,
                "national",
            ));
            return;
        }
        if plain
            && run.groups.len() == 1
            && (7..=15).contains(&total)
            && context_before(bytes, start, 20, PHONE_WORDS)
        {
            out.push(Finding::new(
                Kind::Phone,
                start,
                end,
                0.7,
                Confirmation::Context,
                "context",
            ));
        }
    }
}

/// "+1.2.3" style runs of tiny dotted groups are not phone numbers.
fn dotted_only_pairs(run: &Run) -> bool {
    run.seps.contains(&b'.') && run.groups.iter().all(|g| *g <= 2)
}

fn mixed_paren(run: &Run) -> bool {
    run.paren
        && run
            .seps
            .iter()
            .all(|s| matches!(s, b' ' | b'-' | b'(' | b')'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        let mut out = Vec::new();
        scan(text.as_bytes(), &mut out);
        out.iter()
            .map(|f| (f.kind, &text[f.start..f.end]))
            .collect()
    }

    #[test]
    fn finds_what_it_should() {
        assert_eq!(
            kinds("card 4111 1111 1111 1111 ok"),
            [(Kind::PaymentCard, "4111 1111 1111 1111")]
        );
        assert_eq!(
            kinds("amex 3782-822463-10005."),
            [(Kind::PaymentCard, "3782-822463-10005")]
        );
        assert_eq!(
            kinds("call +44 20 7946 0958 now"),
            [(Kind::Phone, "+44 20 7946 0958")]
        );
        assert_eq!(kinds("(555) 123-4567"), [(Kind::Phone, "(555) 123-4567")]);
        assert_eq!(kinds("at 555.123.4567"), [(Kind::Phone, "555.123.4567")]);
        assert_eq!(kinds("Tel: 030 12345678"), [(Kind::Phone, "030 12345678")]);
        assert_eq!(
            kinds("appelez 01 23 45 67 89"),
            [(Kind::Phone, "01 23 45 67 89")]
        );
        assert_eq!(
            kinds("SSN 123-45-6789"),
            [(Kind::NationalId, "123-45-6789")]
        );
        assert_eq!(
            kinds("IdNr 86 095 742 719"),
            [(Kind::NationalId, "86 095 742 719")]
        );
        assert_eq!(
            kinds("Steuer-ID: 86095742719"),
            [(Kind::NationalId, "86095742719")]
        );
        assert_eq!(
            kinds("host 192.168.10.4:22"),
            [(Kind::IpAddress, "192.168.10.4")]
        );
    }

    #[test]
    fn ignores_lookalikes() {
        for text in [
            "Order #123456789 shipped",
            "version 10.4.2.1 released",
            "v1.2.3.4",
            "invoice INV-2024-00123",
            "tracking 1Z999AA10123456784",
            "date 2024-03-15 at 12:30:45",
            "EAN 4006381333931",
            "ISBN 978-3-16-148410-0",
            "total 1,234,567.89 EUR",
            "card 4111 1111 1111 1112",
            "SSN 000-12-3456",
            "86095742719 widgets",
            "OID 1.3.6.1.4.1",
            "build 20240315.1",
            "SKU 030-4412-77",
            "ZIP 90210-1234",
            "room 101-202",
            "base64 p+07qjM/D39aYY+5L0wIk(1",
        ] {
            assert_eq!(kinds(text), [], "{text}");
        }
    }
}
