//! Credentials: vendor API keys by their documented shapes, JWTs (header decoded), private-key
//! blocks, passwords in URLs, `password=`-style assignments and high-entropy values next to
//! key-like names. Candidates come from the scanner's Aho-Corasick pass over the prefixes
//! below; each is then checked here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::is_glue;
use crate::checksums;
use crate::{Confirmation, Finding, Kind};

/// Longest private-key block we look for a footer in.
pub(crate) const MAX_KEY_BLOCK: usize = 64 * 1024;
/// Longest JWT considered.
const MAX_JWT: usize = 16 * 1024;
/// Longest value taken after a key-like name.
const MAX_VALUE: usize = 256;

/// What an Aho-Corasick match of a trigger means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// A vendor key prefix: `(rule, min body length, max body length, body alphabet)`.
    Vendor(&'static str, usize, usize, Alphabet),
    Jwt,
    PrivateKey,
    UrlCredentials,
    /// A key-like name; `true` when its value is a password.
    Assignment(bool),
    Bearer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alphabet {
    UpperDigits,
    Alnum,
    AlnumUnderscore,
    AlnumDashUnderscore,
    AlnumDash,
}

impl Alphabet {
    fn allows(self, b: u8) -> bool {
        match self {
            Alphabet::UpperDigits => b.is_ascii_uppercase() || b.is_ascii_digit(),
            Alphabet::Alnum => b.is_ascii_alphanumeric(),
            Alphabet::AlnumUnderscore => b.is_ascii_alphanumeric() || b == b'_',
            Alphabet::AlnumDashUnderscore => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Alphabet::AlnumDash => b.is_ascii_alphanumeric() || b == b'-',
        }
    }
}

/// Case-sensitive triggers: (literal, meaning).
pub(crate) const EXACT_TRIGGERS: &[(&str, Trigger)] = &[
    (
        "AKIA",
        Trigger::Vendor("aws_access_key", 16, 16, Alphabet::UpperDigits),
    ),
    (
        "ASIA",
        Trigger::Vendor("aws_access_key", 16, 16, Alphabet::UpperDigits),
    ),
    (
        "ABIA",
        Trigger::Vendor("aws_access_key", 16, 16, Alphabet::UpperDigits),
    ),
    (
        "ACCA",
        Trigger::Vendor("aws_access_key", 16, 16, Alphabet::UpperDigits),
    ),
    (
        "ghp_",
        Trigger::Vendor("github_token", 36, 36, Alphabet::Alnum),
    ),
    (
        "gho_",
        Trigger::Vendor("github_token", 36, 36, Alphabet::Alnum),
    ),
    (
        "ghu_",
        Trigger::Vendor("github_token", 36, 36, Alphabet::Alnum),
    ),
    (
        "ghs_",
        Trigger::Vendor("github_token", 36, 36, Alphabet::Alnum),
    ),
    (
        "ghr_",
        Trigger::Vendor("github_token", 36, 36, Alphabet::Alnum),
    ),
    (
        "github_pat_",
        Trigger::Vendor("github_token", 82, 82, Alphabet::AlnumUnderscore),
    ),
    (
        "glpat-",
        Trigger::Vendor("gitlab_token", 20, 64, Alphabet::AlnumDashUnderscore),
    ),
    (
        "xoxb-",
        Trigger::Vendor("slack_token", 10, 200, Alphabet::AlnumDash),
    ),
    (
        "xoxp-",
        Trigger::Vendor("slack_token", 10, 200, Alphabet::AlnumDash),
    ),
    (
        "xoxa-",
        Trigger::Vendor("slack_token", 10, 200, Alphabet::AlnumDash),
    ),
    (
        "xoxr-",
        Trigger::Vendor("slack_token", 10, 200, Alphabet::AlnumDash),
    ),
    (
        "xoxs-",
        Trigger::Vendor("slack_token", 10, 200, Alphabet::AlnumDash),
    ),
    (
        "xoxe-",
        Trigger::Vendor("slack_token", 10, 200, Alphabet::AlnumDash),
    ),
    (
        "xapp-",
        Trigger::Vendor("slack_token", 10, 200, Alphabet::AlnumDash),
    ),
    (
        "sk_live_",
        Trigger::Vendor("stripe_key", 20, 200, Alphabet::Alnum),
    ),
    (
        "rk_live_",
        Trigger::Vendor("stripe_key", 20, 200, Alphabet::Alnum),
    ),
    (
        "sk_test_",
        Trigger::Vendor("stripe_key", 20, 200, Alphabet::Alnum),
    ),
    (
        "rk_test_",
        Trigger::Vendor("stripe_key", 20, 200, Alphabet::Alnum),
    ),
    (
        "sk-ant-",
        Trigger::Vendor("anthropic_key", 32, 300, Alphabet::AlnumDashUnderscore),
    ),
    (
        "sk-proj-",
        Trigger::Vendor("openai_key", 20, 300, Alphabet::AlnumDashUnderscore),
    ),
    (
        "sk-svcacct-",
        Trigger::Vendor("openai_key", 20, 300, Alphabet::AlnumDashUnderscore),
    ),
    (
        "sk-admin-",
        Trigger::Vendor("openai_key", 20, 300, Alphabet::AlnumDashUnderscore),
    ),
    (
        "sk-",
        Trigger::Vendor("openai_key", 32, 200, Alphabet::Alnum),
    ),
    (
        "AIza",
        Trigger::Vendor("google_api_key", 35, 35, Alphabet::AlnumDashUnderscore),
    ),
    ("eyJ", Trigger::Jwt),
    ("-----BEGIN ", Trigger::PrivateKey),
    ("://", Trigger::UrlCredentials),
];

/// Case-insensitive triggers: key-like names whose value follows.
pub(crate) const NAME_TRIGGERS: &[(&str, Trigger)] = &[
    ("password", Trigger::Assignment(true)),
    ("passwd", Trigger::Assignment(true)),
    ("passphrase", Trigger::Assignment(true)),
    ("pwd", Trigger::Assignment(true)),
    ("secret", Trigger::Assignment(false)),
    ("client_secret", Trigger::Assignment(false)),
    ("secret_key", Trigger::Assignment(false)),
    ("api_key", Trigger::Assignment(false)),
    ("apikey", Trigger::Assignment(false)),
    ("api-key", Trigger::Assignment(false)),
    ("access_key", Trigger::Assignment(false)),
    ("access_token", Trigger::Assignment(false)),
    ("auth_token", Trigger::Assignment(false)),
    ("refresh_token", Trigger::Assignment(false)),
    ("token", Trigger::Assignment(false)),
    ("private_key", Trigger::Assignment(false)),
    ("bearer ", Trigger::Bearer),
];

pub(crate) fn at(trigger: Trigger, bytes: &[u8], start: usize, end: usize, out: &mut Vec<Finding>) {
    match trigger {
        Trigger::Vendor(rule, min, max, alphabet) => {
            vendor(bytes, start, end, rule, min, max, alphabet, out)
        }
        Trigger::Jwt => jwt(bytes, start, out),
        Trigger::PrivateKey => private_key(bytes, start, out),
        Trigger::UrlCredentials => url_credentials(bytes, start, out),
        Trigger::Assignment(password) => assignment(bytes, start, end, password, out),
        Trigger::Bearer => bearer(bytes, end, out),
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one call site, fields of one trigger"
)]
fn vendor(
    bytes: &[u8],
    start: usize,
    prefix_end: usize,
    rule: &'static str,
    min: usize,
    max: usize,
    alphabet: Alphabet,
    out: &mut Vec<Finding>,
) {
    if start > 0 && is_glue(bytes[start - 1]) {
        return;
    }
    let mut end = prefix_end;
    while end < bytes.len() && alphabet.allows(bytes[end]) && end - prefix_end <= max {
        end += 1;
    }
    let body = end - prefix_end;
    if body < min || body > max || (end < bytes.len() && is_glue(bytes[end])) {
        return;
    }
    let body_bytes = &bytes[prefix_end..end];
    // Generic `sk-` keys must look random, not like a slug ("sk-learn-tutorial-part-two").
    if rule == "openai_key"
        && bytes[start..prefix_end] == *b"sk-"
        && checksums::entropy(body_bytes) < 3.5
    {
        return;
    }
    if !body_bytes.iter().any(u8::is_ascii_digit) && alphabet != Alphabet::UpperDigits && body > 24
    {
        // Real keys of this length always carry digits; prose and identifiers rarely do.
        return;
    }
    out.push(Finding::new(
        Kind::ApiKey,
        start,
        end,
        0.95,
        Confirmation::Format,
        rule,
    ));
}

fn jwt_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn jwt(bytes: &[u8], start: usize, out: &mut Vec<Finding>) {
    if start > 0 && (is_glue(bytes[start - 1]) || bytes[start - 1] == b'.') {
        return;
    }
    let segment = |from: usize| {
        let mut end = from;
        while end < bytes.len() && jwt_char(bytes[end]) {
            end += 1;
        }
        end
    };
    let header_end = segment(start);
    if header_end - start > MAX_JWT {
        return;
    }
    if header_end - start < 10 || bytes.get(header_end) != Some(&b'.') {
        return;
    }
    let payload_end = segment(header_end + 1);
    if payload_end - header_end - 1 < 10 || bytes.get(payload_end) != Some(&b'.') {
        return;
    }
    let end = segment(payload_end + 1);
    if end - start > MAX_JWT {
        return;
    }
    let Ok(header) = URL_SAFE_NO_PAD.decode(&bytes[start..header_end]) else {
        return;
    };
    if header.first() == Some(&b'{') && memchr::memmem::find(&header, b"\"alg\"").is_some() {
        out.push(Finding::new(
            Kind::Jwt,
            start,
            end,
            0.99,
            Confirmation::Structure,
            "jwt",
        ));
    }
}

/// A `-----BEGIN ... PRIVATE KEY-----` block up to its footer. Without a footer (within
/// [`MAX_KEY_BLOCK`]), the header and the base64 lines after it.
fn private_key(bytes: &[u8], start: usize, out: &mut Vec<Finding>) {
    let label_start = start + "-----BEGIN ".len();
    let Some(label_len) = memchr::memmem::find(
        &bytes[label_start..bytes.len().min(label_start + 48)],
        b"-----",
    ) else {
        return;
    };
    let label = &bytes[label_start..label_start + label_len];
    if !label.ends_with(b"PRIVATE KEY")
        || !label.iter().all(|b| b.is_ascii_uppercase() || *b == b' ')
    {
        return;
    }
    let body_start = label_start + label_len + 5;
    let limit = bytes.len().min(start + MAX_KEY_BLOCK);
    let mut footer = b"-----END ".to_vec();
    footer.extend_from_slice(label);
    footer.extend_from_slice(b"-----");
    let end = match memchr::memmem::find(&bytes[body_start..limit], &footer) {
        Some(at) => body_start + at + footer.len(),
        None => key_body_end(bytes, body_start, limit),
    };
    out.push(Finding::new(
        Kind::PrivateKey,
        start,
        end,
        0.99,
        Confirmation::Structure,
        "private_key_block",
    ));
}

/// End of the base64 lines (and `Header: value` lines) that follow a key header: the body
/// stops at an empty line, a line with other characters, or `limit`.
pub(crate) fn key_body_end(bytes: &[u8], body_start: usize, limit: usize) -> usize {
    let mut pos = body_start;
    if pos < limit && bytes[pos] == b'\r' {
        pos += 1;
    }
    if pos >= limit || bytes[pos] != b'\n' {
        return body_start;
    }
    pos += 1;
    let mut end = body_start;
    while pos < limit {
        let line_end = memchr::memchr(b'\n', &bytes[pos..limit]).map_or(limit, |k| pos + k);
        let mut line = &bytes[pos..line_end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let body_line = line.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ' | b':' | b'-' | b',')
        });
        if line.is_empty() || !body_line {
            break;
        }
        end = pos + line.len();
        pos = line_end + 1;
    }
    end
}

/// `scheme://user:password@host`: the authority runs to the first `/`, whitespace or quote;
/// the user information ends at its last `@` (people do put `@` and `#` in passwords).
fn url_credentials(bytes: &[u8], sep: usize, out: &mut Vec<Finding>) {
    if sep == 0 || !bytes[sep - 1].is_ascii_alphabetic() {
        return;
    }
    let user_start = sep + 3;
    let limit = bytes.len().min(user_start + 256);
    let mut authority_end = user_start;
    while authority_end < limit
        && !matches!(
            bytes[authority_end],
            b'/' | b' ' | b'\n' | b'\r' | b'\t' | b'"' | b'\'' | b'<' | b'>'
        )
    {
        authority_end += 1;
    }
    let authority = &bytes[user_start..authority_end];
    let Some(at) = authority.iter().rposition(|b| *b == b'@') else {
        return;
    };
    let Some(colon) = authority[..at].iter().position(|b| *b == b':') else {
        return;
    };
    let (value_start, value_end) = (user_start + colon + 1, user_start + at);
    // A placeholder in the user part: the original may not have been a URL with credentials.
    if value_end <= value_start
        || colon == 0
        || authority[..colon].contains(&b'[')
        || is_placeholder(&bytes[value_start..value_end])
    {
        return;
    }
    out.push(Finding::new(
        Kind::Password,
        value_start,
        value_end,
        0.95,
        Confirmation::Context,
        "url_password",
    ));
}

fn is_placeholder(value: &[u8]) -> bool {
    let lower = value.to_ascii_lowercase();
    value.is_empty()
        || value.iter().all(|b| *b == value[0])
        || matches!(value[0], b'$' | b'<' | b'{' | b'[' | b'%' | b'*')
        || matches!(
            lower.as_slice(),
            b"null"
                | b"none"
                | b"true"
                | b"false"
                | b"redacted"
                | b"password"
                | b"secret"
                | b"required"
                | b"optional"
                | b"string"
        )
}

fn value_char(b: u8) -> bool {
    !(b.is_ascii_whitespace()
        || matches!(
            b,
            b'"' | b'\'' | b'`' | b',' | b';' | b')' | b'}' | b']' | b'<' | b'>'
        ))
}

fn assignment(
    bytes: &[u8],
    name_start: usize,
    name_end: usize,
    password: bool,
    out: &mut Vec<Finding>,
) {
    if name_start > 0 && bytes[name_start - 1].is_ascii_alphanumeric() {
        return;
    }
    let n = bytes.len();
    let mut i = name_end;
    if i < n && matches!(bytes[i], b'"' | b'\'') {
        i += 1;
    }
    let spaces = i;
    while i < n && bytes[i] == b' ' && i - spaces < 16 {
        i += 1;
    }
    // `:`, `=`, `:=`, `=>`
    let op_start = i;
    while i < n && matches!(bytes[i], b':' | b'=' | b'>') && i - op_start < 2 {
        i += 1;
    }
    if i == op_start {
        return;
    }
    let spaces = i;
    while i < n && bytes[i] == b' ' && i - spaces < 16 {
        i += 1;
    }
    if i < n && matches!(bytes[i], b'"' | b'\'' | b'`') {
        i += 1;
    }
    let value_start = i;
    while i < n && value_char(bytes[i]) && i - value_start < MAX_VALUE {
        i += 1;
    }
    let value = &bytes[value_start..i];
    if is_placeholder(value) || value.len() >= MAX_VALUE {
        return;
    }
    if password {
        if value.len() >= 4 {
            out.push(Finding::new(
                Kind::Password,
                value_start,
                i,
                0.9,
                Confirmation::Context,
                "password_assignment",
            ));
        }
    } else if looks_random(value) {
        out.push(Finding::new(
            Kind::Secret,
            value_start,
            i,
            0.85,
            Confirmation::Context,
            "secret_assignment",
        ));
    }
}

fn bearer(bytes: &[u8], after: usize, out: &mut Vec<Finding>) {
    let mut i = after;
    while i < bytes.len() && value_char(bytes[i]) && i - after < MAX_VALUE {
        i += 1;
    }
    let value = &bytes[after..i];
    if looks_random(value) && i - after < MAX_VALUE {
        out.push(Finding::new(
            Kind::Secret,
            after,
            i,
            0.85,
            Confirmation::Context,
            "bearer_token",
        ));
    }
}

/// A token, not a word: long enough, varied enough, with digits or mixed case.
fn looks_random(value: &[u8]) -> bool {
    let has_digit = value.iter().any(u8::is_ascii_digit);
    let has_upper = value.iter().any(u8::is_ascii_uppercase);
    let has_lower = value.iter().any(u8::is_ascii_lowercase);
    value.len() >= 12
        && checksums::entropy(value) >= 3.0
        && (has_digit as u8 + has_upper as u8 + has_lower as u8) >= 2
}
