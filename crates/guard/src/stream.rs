//! Streaming redaction: feed chunks as they arrive (a model's answer), get safe text back as
//! early as possible. For any chunking, the concatenated output equals [`crate::redact`] of
//! the whole text.
//!
//! How: each call scans a window made of some already-emitted text (look-behind context) and
//! the pending text, and emits only up to a cut point behind which every finding is final:
//!
//! - at least [`HOLD_BACK_BYTES`] before the end (every finding that can contain whitespace,
//!   and every look-ahead a detector needs, is shorter than that);
//! - not inside the last whitespace-free token (emails, keys and JWTs grow until whitespace),
//!   unless that token is longer than 32 KiB (no token finding is that long);
//! - never inside a finding, nor after the start of a finding that reaches the end of what
//!   has arrived (a private-key block is held until its footer, up to 64 KiB).
//!
//! Detectors resume scanning at positions that do not depend on where a scan started (the
//! end of a maximal run), so the look-behind context of [`CONTEXT_BYTES`] makes every finding
//! after it identical to the whole-text scan.

use crate::redact::{apply, Placeholders};
use crate::scan::{scanner, GuardError};
use crate::Policy;

/// The least amount of text held back from the end.
pub const HOLD_BACK_BYTES: usize = 256;
/// Already-emitted text kept as look-behind context.
const CONTEXT_BYTES: usize = 512;
/// A trailing token longer than this no longer holds output back.
const MAX_TOKEN_HOLD: usize = 32 * 1024;

/// Redacts a stream of chunks. Call [`StreamRedactor::push`] per chunk and
/// [`StreamRedactor::finish`] once at the end.
#[derive(Debug)]
pub struct StreamRedactor {
    policy: Policy,
    context: String,
    pending: String,
}

impl StreamRedactor {
    pub fn new(policy: Policy) -> StreamRedactor {
        StreamRedactor {
            policy,
            context: String::new(),
            pending: String::new(),
        }
    }

    /// Adds a chunk; returns the text that is now safe to show (possibly empty).
    pub fn push(
        &mut self,
        chunk: &str,
        placeholders: &mut Placeholders,
    ) -> Result<String, GuardError> {
        self.pending.push_str(chunk);
        self.emit(false, placeholders)
    }

    /// Ends the stream; returns the rest.
    pub fn finish(&mut self, placeholders: &mut Placeholders) -> Result<String, GuardError> {
        self.emit(true, placeholders)
    }

    /// Bytes received but not yet emitted.
    pub fn held_back(&self) -> usize {
        self.pending.len()
    }

    fn emit(&mut self, last: bool, placeholders: &mut Placeholders) -> Result<String, GuardError> {
        let context_len = self.context.len();
        let mut window = String::with_capacity(context_len + self.pending.len());
        window.push_str(&self.context);
        window.push_str(&self.pending);
        let len = window.len();
        let findings = scanner().scan_unbounded(&window);

        let mut cut = if last {
            len
        } else {
            let token_start = window.rfind(|c: char| c.is_whitespace()).map_or(0, |i| {
                i + window[i..].chars().next().map_or(1, char::len_utf8)
            });
            let token_bound = token_start.max(len.saturating_sub(MAX_TOKEN_HOLD));
            len.saturating_sub(HOLD_BACK_BYTES)
                .min(token_bound)
                .max(context_len)
        };
        if !last {
            loop {
                let mut moved = false;
                for f in findings.iter().filter(|f| f.start >= context_len) {
                    if f.start < cut && (f.end > cut || f.end >= len) {
                        cut = f.start;
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
            while !window.is_char_boundary(cut) {
                cut -= 1;
            }
            cut = cut.max(context_len);
        }

        let out = apply(
            &window,
            &findings,
            context_len,
            cut,
            &self.policy,
            placeholders,
        )?;
        let keep_from = floor_boundary(&window, cut.saturating_sub(CONTEXT_BYTES));
        self.context = window[keep_from..cut].to_owned();
        self.pending = window[cut..].to_owned();
        Ok(out)
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{redact, Action, Kind};

    fn streamed(text: &str, chunk: usize, policy: &Policy) -> String {
        let mut redactor = StreamRedactor::new(policy.clone());
        let mut ph = Placeholders::new();
        let mut out = String::new();
        let mut i = 0;
        while i < text.len() {
            let mut j = (i + chunk).min(text.len());
            while !text.is_char_boundary(j) {
                j += 1;
            }
            out.push_str(&redactor.push(&text[i..j], &mut ph).unwrap());
            i = j;
        }
        out.push_str(&redactor.finish(&mut ph).unwrap());
        out
    }

    #[test]
    fn values_split_across_chunks_are_still_caught() {
        let text =
            "Reach me at jane.doe@example.com or +44 20 7946 0958; card 4111 1111 1111 1111. \
                    key=AKIAIOSFODNN7EXAMPLE and that's all.";
        let policy = Policy::default();
        let whole = redact(scanner(), text, &policy, &mut Placeholders::new())
            .unwrap()
            .text;
        for chunk in 1..=text.len() {
            assert_eq!(streamed(text, chunk, &policy), whole, "chunk size {chunk}");
        }
        assert!(!whole.contains("jane.doe") && !whole.contains("4111") && !whole.contains("AKIA"));
    }

    #[test]
    fn output_starts_before_the_stream_ends() {
        let policy = Policy::default();
        let mut redactor = StreamRedactor::new(policy);
        let mut ph = Placeholders::new();
        let mut shown = 0;
        for _ in 0..100 {
            shown += redactor
                .push("the quick brown fox jumps over the lazy dog. ", &mut ph)
                .unwrap()
                .len();
        }
        assert!(shown > 3000, "only {shown} bytes shown of 4500");
        assert!(redactor.held_back() <= HOLD_BACK_BYTES + 64);
    }

    #[test]
    fn a_blocked_kind_stops_the_stream() {
        let policy = Policy::default().with(Kind::PrivateKey, Action::Block);
        let mut redactor = StreamRedactor::new(policy);
        let mut ph = Placeholders::new();
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
        let mut result = Ok(String::new());
        for c in key.as_bytes().chunks(7) {
            result = redactor.push(std::str::from_utf8(c).unwrap(), &mut ph);
            if result.is_err() {
                break;
            }
        }
        let result = result.and_then(|_| redactor.finish(&mut ph));
        assert_eq!(result, Err(GuardError::Blocked(Kind::PrivateKey)));
    }
}
