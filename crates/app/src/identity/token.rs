//! Random bearer secrets (session cookies, API keys, invite links, setup codes) and the
//! one-way hashes that are stored instead of them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token, as stored. The tokens carry 256 bits of randomness, so a fast hash is
/// enough: there is nothing to brute-force.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The console's CSRF token for a session: derived from the session token, so it needs no
/// storage and cannot be computed without the cookie.
pub fn csrf_for(session_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"switchboard csrf v1\0");
    hasher.update(session_token.as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// Constant-time equality of two strings.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A human-typable code: `groups` groups of four characters from an alphabet without
/// look-alikes (no 0/O, 1/I/L), e.g. `K7QD-3MZX-W9PA`.
pub fn human_code(groups: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(groups * 5);
    for g in 0..groups {
        if g > 0 {
            out.push('-');
        }
        for _ in 0..4 {
            let i = (OsRng.next_u32() as usize) % ALPHABET.len();
            out.push(char::from(ALPHABET[i]));
        }
    }
    out
}

/// Normalises a typed code: upper case, without spaces or dashes.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
        assert_ne!(csrf_for(&a), csrf_for(&b));
    }

    #[test]
    fn human_codes_have_groups_and_normalise() {
        let code = human_code(3);
        assert_eq!(code.len(), 14);
        assert_eq!(normalise_code(&code.to_lowercase()), code.replace('-', ""));
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
