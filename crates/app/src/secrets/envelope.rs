//! Envelope encryption, pure: a value is sealed with XChaCha20-Poly1305 under a fresh random
//! data key; the data key is sealed under a master key. Both seals carry associated data that
//! binds them to the secret's id, organisation and purpose, so a ciphertext moved to another
//! row, tenant or purpose fails to open.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::keyring::MasterKey;
use super::SecretsError;

/// Nonce length of XChaCha20-Poly1305 (random nonces are safe at this length).
pub const NONCE_LEN: usize = 24;

/// What a sealed value is bound to. Changing any field makes the ciphertext unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealContext<'a> {
    pub secret_id: &'a str,
    /// `None` for installation-wide secrets.
    pub org_id: Option<&'a str>,
    pub purpose: &'a str,
}

impl SealContext<'_> {
    fn associated_data(&self, layer: &str) -> Vec<u8> {
        format!(
            "switchboard/v1/{layer}|id={}|org={}|purpose={}",
            self.secret_id,
            self.org_id.unwrap_or("-"),
            self.purpose
        )
        .into_bytes()
    }
}

/// The parts of a sealed value as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub key_id: String,
    /// The data key's nonce followed by its ciphertext.
    pub wrapped_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub fn seal(
    master: &MasterKey,
    ctx: &SealContext<'_>,
    plaintext: &[u8],
) -> Result<Envelope, SecretsError> {
    let data_key = XChaCha20Poly1305::generate_key(&mut OsRng);
    let cipher = XChaCha20Poly1305::new(&data_key);
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &ctx.associated_data("value"),
            },
        )
        .map_err(|_| SecretsError::Crypto)?;
    let wrapped_key = wrap_key(master, ctx, data_key.as_slice())?;
    Ok(Envelope {
        key_id: master.id().to_owned(),
        wrapped_key,
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

pub fn open(
    master: &MasterKey,
    ctx: &SealContext<'_>,
    envelope: &Envelope,
) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    if envelope.nonce.len() != NONCE_LEN {
        return Err(SecretsError::Crypto);
    }
    let data_key = unwrap_key(master, ctx, &envelope.wrapped_key)?;
    let cipher = XChaCha20Poly1305::new_from_slice(&data_key).map_err(|_| SecretsError::Crypto)?;
    let plaintext = cipher
        .decrypt(
            XNonce::from_slice(&envelope.nonce),
            Payload {
                msg: &envelope.ciphertext,
                aad: &ctx.associated_data("value"),
            },
        )
        .map_err(|_| SecretsError::Crypto)?;
    Ok(Zeroizing::new(plaintext))
}

/// Seals a data key under a master key: `nonce || ciphertext`.
pub fn wrap_key(
    master: &MasterKey,
    ctx: &SealContext<'_>,
    data_key: &[u8],
) -> Result<Vec<u8>, SecretsError> {
    let cipher =
        XChaCha20Poly1305::new_from_slice(master.bytes()).map_err(|_| SecretsError::Crypto)?;
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: data_key,
                aad: &wrap_aad(master, ctx),
            },
        )
        .map_err(|_| SecretsError::Crypto)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens a data key sealed by [`wrap_key`].
pub fn unwrap_key(
    master: &MasterKey,
    ctx: &SealContext<'_>,
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    if wrapped.len() <= NONCE_LEN {
        return Err(SecretsError::Crypto);
    }
    let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
    let cipher =
        XChaCha20Poly1305::new_from_slice(master.bytes()).map_err(|_| SecretsError::Crypto)?;
    let data_key = cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &wrap_aad(master, ctx),
            },
        )
        .map_err(|_| SecretsError::Crypto)?;
    Ok(Zeroizing::new(data_key))
}

fn wrap_aad(master: &MasterKey, ctx: &SealContext<'_>) -> Vec<u8> {
    let mut aad = ctx.associated_data("data-key");
    aad.extend_from_slice(b"|key=");
    aad.extend_from_slice(master.id().as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx() -> SealContext<'static> {
        SealContext {
            secret_id: "s1",
            org_id: Some("org-a"),
            purpose: "provider.api_key",
        }
    }

    #[test]
    fn sealing_round_trips() {
        let key = MasterKey::generate();
        let envelope = seal(&key, &ctx(), b"sk-live-123").unwrap();
        assert_eq!(envelope.key_id, key.id());
        assert_ne!(envelope.ciphertext, b"sk-live-123");
        assert_eq!(
            open(&key, &ctx(), &envelope).unwrap().as_slice(),
            b"sk-live-123"
        );
    }

    #[test]
    fn a_flipped_bit_anywhere_is_rejected() {
        let key = MasterKey::generate();
        let envelope = seal(&key, &ctx(), b"secret").unwrap();
        for field in 0..3 {
            let len = match field {
                0 => envelope.wrapped_key.len(),
                1 => envelope.nonce.len(),
                _ => envelope.ciphertext.len(),
            };
            for byte in 0..len {
                let mut tampered = envelope.clone();
                let target = match field {
                    0 => &mut tampered.wrapped_key,
                    1 => &mut tampered.nonce,
                    _ => &mut tampered.ciphertext,
                };
                target[byte] ^= 0x01;
                assert!(
                    open(&key, &ctx(), &tampered).is_err(),
                    "field {field} byte {byte}"
                );
            }
        }
    }

    #[test]
    fn wrong_associated_data_is_rejected() {
        let key = MasterKey::generate();
        let envelope = seal(&key, &ctx(), b"secret").unwrap();
        let other_org = SealContext {
            org_id: Some("org-b"),
            ..ctx()
        };
        let other_purpose = SealContext {
            purpose: "webhook.secret",
            ..ctx()
        };
        let other_id = SealContext {
            secret_id: "s2",
            ..ctx()
        };
        let no_org = SealContext {
            org_id: None,
            ..ctx()
        };
        for wrong in [other_org, other_purpose, other_id, no_org] {
            assert!(matches!(
                open(&key, &wrong, &envelope),
                Err(SecretsError::Crypto)
            ));
        }
    }

    #[test]
    fn the_wrong_master_key_is_rejected() {
        let envelope = seal(&MasterKey::generate(), &ctx(), b"secret").unwrap();
        assert!(open(&MasterKey::generate(), &ctx(), &envelope).is_err());
    }

    #[test]
    fn truncated_parts_are_rejected_without_panicking() {
        let key = MasterKey::generate();
        let envelope = seal(&key, &ctx(), b"secret").unwrap();
        let mut short = envelope.clone();
        short.wrapped_key.truncate(NONCE_LEN);
        assert!(open(&key, &ctx(), &short).is_err());
        let mut short = envelope;
        short.nonce.truncate(3);
        assert!(open(&key, &ctx(), &short).is_err());
    }

    proptest! {
        #[test]
        fn any_value_round_trips(value in proptest::collection::vec(any::<u8>(), 0..2048),
                                 purpose in "[a-z.]{1,20}") {
            let key = MasterKey::generate();
            let ctx = SealContext { secret_id: "p", org_id: None, purpose: &purpose };
            let envelope = seal(&key, &ctx, &value).unwrap();
            let opened = open(&key, &ctx, &envelope).unwrap();
            prop_assert_eq!(opened.as_slice(), value.as_slice());
        }

        #[test]
        fn rewrapping_under_a_new_key_keeps_the_value(value in proptest::collection::vec(any::<u8>(), 0..256)) {
            let old = MasterKey::generate();
            let new = MasterKey::generate();
            let envelope = seal(&old, &ctx(), &value).unwrap();
            let data_key = unwrap_key(&old, &ctx(), &envelope.wrapped_key).unwrap();
            let rewrapped = Envelope {
                key_id: new.id().to_owned(),
                wrapped_key: wrap_key(&new, &ctx(), &data_key).unwrap(),
                ..envelope
            };
            let opened = open(&new, &ctx(), &rewrapped).unwrap();
            prop_assert_eq!(opened.as_slice(), value.as_slice());
            prop_assert!(open(&old, &ctx(), &rewrapped).is_err());
        }
    }
}
