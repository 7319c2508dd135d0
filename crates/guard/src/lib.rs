//! The guard: finds personal data, credentials and prompt-injection markers in text, and
//! redacts, masks, blocks or flags them per organisation policy.
//!
//! Pure library: no IO, no dependency on other Switchboard crates. Used by the gateway, the
//! runtime, memory and the audit log, and by `switchboard guard scan|redact`.
//!
//! - [`Scanner::scan`] returns typed [`Finding`]s (kind, byte range, confidence, confirmation).
//! - [`Policy`] says what to do per [`Kind`]; [`redact`] applies it with [`Placeholders`] that
//!   keep `[EMAIL_1]`-style names stable within one conversation.
//! - [`StreamRedactor`] does the same on a stream of chunks, holding back a bounded tail, with
//!   output identical to redacting the whole text.
//! - [`wrap_untrusted`] renders tool output as delimited data with its injection findings.
//!
//! All matching is linear-time (byte loops, `memchr`, Aho-Corasick). The detectors and their
//! confirmations are listed in `docs/guard.md`.

mod checksums;
mod detectors;
mod kind;
mod policy;
mod redact;
mod scan;
mod stream;
mod untrusted;

pub use kind::{Confirmation, Finding, Kind};
pub use policy::{Action, Policy};
pub use redact::{redact, Placeholders, Redacted, MAX_PLACEHOLDER_BYTES};
pub use scan::{scanner, GuardError, Scanner, MAX_INPUT_BYTES};
pub use stream::{StreamRedactor, HOLD_BACK_BYTES};
pub use untrusted::{wrap_untrusted, Untrusted};
