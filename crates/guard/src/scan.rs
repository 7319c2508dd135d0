//! The scanner: runs every detector over a text and resolves overlapping findings.
//!
//! Every pass is linear in the input: byte loops, `memchr`, and one Aho-Corasick automaton
//! holding all literal triggers (vendor key prefixes, key-like names, injection phrases and
//! markers). Inputs above [`MAX_INPUT_BYTES`] are refused; callers stream larger texts through
//! [`crate::StreamRedactor`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::detectors::{email, identifiers, injection, ipv6, numbers, secrets};
use crate::{Finding, Kind};

/// Largest text [`Scanner::scan`] accepts (2 MiB).
pub const MAX_INPUT_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuardError {
    #[error("text of {0} bytes is larger than the guard's limit of {MAX_INPUT_BYTES} bytes")]
    TooLarge(usize),
    /// A finding of a kind the policy blocks. Names the kind, never the value.
    #[error("content blocked: it contains {0}")]
    Blocked(Kind),
}

#[derive(Clone, Copy, Debug)]
enum Trigger {
    Secret(secrets::Trigger),
    /// An injection phrase (`false`) or a role marker (`true`).
    Injection(bool),
}

/// Compiled detectors. Building one takes a few milliseconds; share it ([`scanner`]).
pub struct Scanner {
    triggers: AhoCorasick,
    meanings: Vec<(Trigger, bool)>,
    phrases: AhoCorasick,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("triggers", &self.meanings.len())
            .finish()
    }
}

/// The process-wide scanner.
pub fn scanner() -> &'static Scanner {
    static SCANNER: LazyLock<Scanner> = LazyLock::new(Scanner::new);
    &SCANNER
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

impl Scanner {
    #[allow(
        clippy::expect_used,
        reason = "the trigger lists are constants; building them cannot fail"
    )]
    pub fn new() -> Scanner {
        let mut literals: Vec<String> = Vec::new();
        let mut meanings = Vec::new();
        for (literal, trigger) in secrets::EXACT_TRIGGERS {
            literals.push((*literal).to_owned());
            meanings.push((Trigger::Secret(*trigger), true));
        }
        for (literal, trigger) in secrets::NAME_TRIGGERS {
            literals.push((*literal).to_owned());
            meanings.push((Trigger::Secret(*trigger), false));
        }
        for phrase in injection::PHRASES {
            literals.push((*phrase).to_owned());
            meanings.push((Trigger::Injection(false), false));
        }
        for marker in injection::MARKERS {
            literals.push((*marker).to_owned());
            meanings.push((Trigger::Injection(true), false));
        }
        // A full DFA: the fastest search for this many short patterns, at a one-off build
        // cost of a few milliseconds.
        let triggers = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::DFA))
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&literals)
            .expect("trigger automaton");
        let phrases = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(injection::PHRASES)
            .expect("phrase automaton");
        Scanner {
            triggers,
            meanings,
            phrases,
        }
    }

    /// All findings in `text`, sorted by position. Findings of different kinds never overlap,
    /// except injection findings, which may overlap others.
    pub fn scan(&self, text: &str) -> Result<Vec<Finding>, GuardError> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(GuardError::TooLarge(text.len()));
        }
        Ok(self.scan_unbounded(text))
    }

    /// [`Scanner::scan`] without the size check (the streaming redactor bounds its windows).
    pub(crate) fn scan_unbounded(&self, text: &str) -> Vec<Finding> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        numbers::scan(bytes, &mut found);
        email::scan(bytes, &mut found);
        identifiers::scan(bytes, &mut found);
        ipv6::scan(bytes, &mut found);
        for m in self.triggers.find_iter(bytes) {
            let (trigger, exact) = self.meanings[m.pattern().as_usize()];
            if exact {
                let literal = secrets::EXACT_TRIGGERS[m.pattern().as_usize()].0;
                if &bytes[m.start()..m.end()] != literal.as_bytes() {
                    continue;
                }
            }
            match trigger {
                Trigger::Secret(t) => secrets::at(t, bytes, m.start(), m.end(), &mut found),
                Trigger::Injection(marker) => {
                    injection::phrase(m.start(), m.end(), marker, &mut found)
                }
            }
        }
        injection::invisible(bytes, &mut found);
        injection::encoded(bytes, &|decoded| self.phrases.is_match(decoded), &mut found);
        found.retain(|f| f.kind == Kind::Injection || !next_to_placeholder(bytes, f.start, f.end));
        resolve(found)
    }
}

/// Punctuation that may sit between a value and a placeholder without separating them.
fn joiner(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'.' | b':' | b'/' | b'+' | b'(' | b')' | b'=' | b',' | b'\'' | b'"' | b'_' | 0
    )
}

/// Whether `[LABEL_N]` ends at `close` (the index of its `]`) for one of our kind labels.
fn placeholder_ends_at(bytes: &[u8], close: usize) -> bool {
    let Some(open) = bytes[..close].iter().rposition(|b| *b == b'[') else {
        return false;
    };
    close - open <= crate::MAX_PLACEHOLDER_BYTES && is_placeholder(&bytes[open..=close])
}

fn placeholder_starts_at(bytes: &[u8], open: usize) -> bool {
    let window = &bytes[open..bytes.len().min(open + crate::MAX_PLACEHOLDER_BYTES)];
    window
        .iter()
        .position(|b| *b == b']')
        .is_some_and(|close| is_placeholder(&window[..=close]))
}

pub(crate) fn is_placeholder(token: &[u8]) -> bool {
    let Some(inner) = token.strip_prefix(b"[").and_then(|t| t.strip_suffix(b"]")) else {
        return false;
    };
    let Some(underscore) = inner.iter().rposition(|b| *b == b'_') else {
        return false;
    };
    let (label, number) = (&inner[..underscore], &inner[underscore + 1..]);
    !number.is_empty()
        && number.iter().all(u8::is_ascii_digit)
        && Kind::ALL.iter().any(|k| k.label().as_bytes() == label)
}

/// A value next to a placeholder (through at most three joining characters) was next to
/// other characters before redaction; judging it on its own would make a second redaction
/// change the text. Such candidates are dropped.
fn next_to_placeholder(bytes: &[u8], start: usize, end: usize) -> bool {
    let mut before = start;
    while before > 0 && start - before < 3 && joiner(bytes[before - 1]) {
        before -= 1;
    }
    if before > 0 && bytes[before - 1] == b']' && placeholder_ends_at(bytes, before - 1) {
        return true;
    }
    let mut after = end;
    while after < bytes.len() && after - end < 3 && joiner(bytes[after]) {
        after += 1;
    }
    after < bytes.len() && bytes[after] == b'[' && placeholder_starts_at(bytes, after)
}

/// Keeps the strongest of overlapping findings: higher kind rank, then longer, then earlier.
/// Injection findings are kept alongside.
fn resolve(mut found: Vec<Finding>) -> Vec<Finding> {
    let (mut injections, mut others): (Vec<Finding>, Vec<Finding>) =
        found.drain(..).partition(|f| f.kind == Kind::Injection);
    others.sort_by(|a, b| {
        b.kind
            .rank()
            .cmp(&a.kind.rank())
            .then(b.len().cmp(&a.len()))
            .then(a.start.cmp(&b.start))
    });
    // Accepted spans are disjoint; only the one starting last before a candidate's end can
    // overlap it.
    let mut accepted: BTreeMap<usize, Finding> = BTreeMap::new();
    for f in others {
        if f.is_empty() {
            continue;
        }
        let clash = accepted
            .range(..f.end)
            .next_back()
            .is_some_and(|(_, prev)| prev.end > f.start);
        if !clash {
            accepted.insert(f.start, f);
        }
    }
    injections.sort_by_key(|f| (f.start, f.end));
    injections.dedup_by(|b, a| a.start == b.start && a.end == b.end);
    let mut all: Vec<Finding> = accepted.into_values().collect();
    all.extend(injections);
    all.sort_by_key(|f| (f.start, f.end));
    all
}
