//! Passwords: the policy (length, a built-in list of common passwords) and argon2id hashing.
//! Verification of an unknown account still runs one argon2 computation against a fixed hash,
//! so response time does not tell whether an account exists.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

/// Common passwords of at least [`MIN_LENGTH`] characters (shorter ones fail the length rule).
const COMMON: &str = include_str!("common_passwords.txt");

/// Why a password is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejected {
    #[error("The password must be at least 12 characters long.")]
    TooShort,
    #[error("The password must be at most 256 characters long.")]
    TooLong,
    #[error("This password is too common; choose another.")]
    Common,
    #[error("The password must not contain your email address.")]
    ContainsEmail,
}

/// Checks a new password against the policy.
pub fn check(password: &str, email: &str) -> Result<(), PasswordRejected> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordRejected::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordRejected::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.lines().any(|common| common == lower) || one_repeated_unit(&lower) {
        return Err(PasswordRejected::Common);
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err(PasswordRejected::ContainsEmail);
    }
    Ok(())
}

/// `aaaaaaaaaaaa`, `abcabcabcabc`: a short unit repeated.
fn one_repeated_unit(password: &str) -> bool {
    let bytes = password.as_bytes();
    (1..=4).any(|unit| {
        bytes.len() % unit == 0 && bytes.chunks(unit).all(|chunk| chunk == &bytes[..unit])
    })
}

/// Hashes a password with argon2id (library defaults: 19 MiB, 2 passes, 1 lane).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches `stored`. With `stored == None` (unknown account or SSO-only
/// user) a fixed hash is checked instead, taking the same time, and the answer is `false`.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    match stored.and_then(|s| PasswordHash::new(s).ok()) {
        Some(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        None => {
            if let Some(parsed) = dummy_hash().and_then(|s| PasswordHash::new(s).ok()) {
                let _ = Argon2::default().verify_password(password.as_bytes(), &parsed);
            }
            false
        }
    }
}

fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| hash("switchboard-timing-equaliser").ok())
        .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_rejects_short_common_and_repetitive_passwords() {
        assert_eq!(check("short", "a@b.c"), Err(PasswordRejected::TooShort));
        assert_eq!(
            check("password1234", "a@b.c"),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check("Password1234", "a@b.c"),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check("abcabcabcabc", "a@b.c"),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check("ada.lovelace-2026!", "ada.lovelace@example.com"),
            Err(PasswordRejected::ContainsEmail)
        );
        assert_eq!(check("correct horse battery", "ada@example.com"), Ok(()));
        assert_eq!(
            check(&"x".repeat(300), "a@b.c"),
            Err(PasswordRejected::TooLong)
        );
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&stored)));
        assert!(!verify("wrong horse battery", Some(&stored)));
        assert!(!verify("correct horse battery", None));
    }

    #[test]
    fn the_common_list_only_holds_passwords_the_length_rule_lets_through() {
        for line in COMMON.lines() {
            assert!(line.chars().count() >= MIN_LENGTH, "{line}");
            assert_eq!(line, line.to_lowercase());
        }
    }
}
