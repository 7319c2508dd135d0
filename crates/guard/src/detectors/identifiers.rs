//! Identifiers that start with capital letters: IBANs (country code, check digits, mod-97) and
//! UK National Insurance numbers (HMRC prefix rules).

use super::is_word;
use crate::checksums;
use crate::{Confirmation, Finding, Kind};

pub(crate) fn scan(bytes: &[u8], out: &mut Vec<Finding>) {
    let n = bytes.len();
    let mut i = 0;
    while i + 4 <= n {
        let b = bytes[i];
        if !b.is_ascii_uppercase() || (i > 0 && is_word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        if let Some(end) = iban_at(bytes, i) {
            out.push(Finding::new(
                Kind::Iban,
                i,
                end,
                0.99,
                Confirmation::Checksum,
                "iban",
            ));
            i = end;
            continue;
        }
        if let Some(end) = nino_at(bytes, i) {
            out.push(Finding::new(
                Kind::NationalId,
                i,
                end,
                0.9,
                Confirmation::Format,
                "uk_nino",
            ));
            i = end;
            continue;
        }
        i += 1;
    }
}

/// An IBAN starting at `i`: compact, or printed in groups of four separated by single spaces.
fn iban_at(bytes: &[u8], i: usize) -> Option<usize> {
    let n = bytes.len();
    if i + 4 > n
        || !bytes[i + 1].is_ascii_uppercase()
        || !bytes[i + 2].is_ascii_digit()
        || !bytes[i + 3].is_ascii_digit()
    {
        return None;
    }
    let length = checksums::iban_length(&bytes[i..i + 2])?;
    let mut compact = Vec::with_capacity(length);
    let mut j = i;
    let mut in_group = 0;
    while j < n && compact.len() < length {
        let c = bytes[j];
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            compact.push(c);
            in_group += 1;
            j += 1;
        } else if c == b' ' && in_group == 4 && j + 1 < n && bytes[j + 1].is_ascii_alphanumeric() {
            in_group = 0;
            j += 1;
        } else {
            break;
        }
    }
    if compact.len() != length || (j < n && is_word(bytes[j])) {
        return None;
    }
    checksums::iban_mod97(&compact).then_some(j)
}

/// A UK National Insurance number: two letters, six digits (optionally in pairs), a letter A-D.
fn nino_at(bytes: &[u8], i: usize) -> Option<usize> {
    let n = bytes.len();
    if i + 9 > n || !bytes[i + 1].is_ascii_uppercase() {
        return None;
    }
    let mut j = i + 2;
    let mut digits = 0;
    while j < n && digits < 6 {
        if bytes[j].is_ascii_digit() {
            digits += 1;
            j += 1;
        } else if bytes[j] == b' ' && digits % 2 == 0 && j + 1 < n && bytes[j + 1].is_ascii_digit()
        {
            j += 1;
        } else {
            return None;
        }
    }
    if digits != 6 {
        return None;
    }
    if j < n && bytes[j] == b' ' {
        j += 1;
    }
    let suffix = *bytes.get(j)?;
    let end = j + 1;
    if end < n && is_word(bytes[end]) {
        return None;
    }
    checksums::nino_valid([bytes[i], bytes[i + 1]], suffix).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Kind, &str)> {
        let mut out = Vec::new();
        scan(text.as_bytes(), &mut out);
        out.iter()
            .map(|f| (f.kind, &text[f.start..f.end]))
            .collect()
    }

    #[test]
    fn finds_ibans_and_ninos() {
        assert_eq!(
            found("IBAN DE89 3704 0044 0532 0130 00."),
            [(Kind::Iban, "DE89 3704 0044 0532 0130 00")]
        );
        assert_eq!(
            found("to GB82WEST12345698765432"),
            [(Kind::Iban, "GB82WEST12345698765432")]
        );
        assert_eq!(
            found("NI: AB 12 34 56 C"),
            [(Kind::NationalId, "AB 12 34 56 C")]
        );
        assert_eq!(
            found("NI QQ123456C no, JG103759A yes"),
            [(Kind::NationalId, "JG103759A")]
        );
    }

    #[test]
    fn ignores_lookalikes() {
        for text in [
            "DE89370400440532013001",
            "DE12 ABCD",
            "SKU AB123456Z",
            "US12345678901234567890",
            "HTTP2 AB12",
        ] {
            assert!(found(text).is_empty(), "{text}");
        }
    }
}
