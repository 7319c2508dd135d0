//! Sealed secrets: every stored credential (provider API keys, TOTP secrets, webhook secrets,
//! integration tokens) is envelope-encrypted before it reaches the database.
//!
//! - `envelope`: the pure cryptography (XChaCha20-Poly1305, per-value data keys, associated
//!   data binding a value to its id, organisation and purpose).
//! - `keyring`: master keys, their ids and the key file.
//! - this file: [`Secrets`], the service that seals, opens and rotates, and
//!   [`load_keyring`], which refuses to start over sealed data it cannot open.

pub mod envelope;
pub mod keyring;

use std::path::PathBuf;
use std::sync::Arc;

use switchboard_domain::{Clock, OrgId, SecretId};
use switchboard_store::{SealedRecord, Store, StoreError};
use zeroize::Zeroizing;

use envelope::{Envelope, SealContext};
pub use keyring::{KeySource, Keyring, MasterKey, MASTER_KEY_ENV};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Deliberately vague: a wrong key and tampered data look the same.
    #[error("a sealed value could not be opened (wrong master key or tampered data)")]
    Crypto,
    #[error("the master key from {origin} is unusable: {reason}")]
    BadKey { origin: String, reason: String },
    #[error(
        "sealed data exists but the master key file {path} is missing; restore it (or set \
         SWITCHBOARD_MASTER_KEY). Refusing to create a new key over data it could not read"
    )]
    MissingKeyFile { path: PathBuf },
    #[error(
        "the master key from {origin} does not match the sealed data (data sealed by key \
         id(s) {missing}); refusing to start with the wrong key"
    )]
    WrongKey { origin: String, missing: String },
    #[error("cannot use {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("no such secret")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the keyring was obtained at startup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyringOrigin {
    Loaded,
    /// A new key file was written because none existed and nothing was sealed yet.
    Created,
}

/// Loads the master keys and checks them against the sealed data in the store.
///
/// A missing key file is created only when the database holds no sealed value, so a lost
/// or mistyped key never silently replaces the real one.
pub async fn load_keyring(
    source: &KeySource,
    store: &Store,
) -> Result<(Keyring, KeyringOrigin), SecretsError> {
    let (keyring, origin) = match source {
        KeySource::Env(value) => (
            Keyring::parse(value, MASTER_KEY_ENV)?,
            KeyringOrigin::Loaded,
        ),
        KeySource::File(path) => match keyring::read_key_file(path)? {
            Some(keyring) => (keyring, KeyringOrigin::Loaded),
            None => {
                if store.secrets.count().await? > 0 {
                    return Err(SecretsError::MissingKeyFile { path: path.clone() });
                }
                let keyring = Keyring::new(MasterKey::generate(), Vec::new());
                keyring::write_key_file(path, &keyring)?;
                (keyring, KeyringOrigin::Created)
            }
        },
    };
    verify_keyring(&keyring, store, &source.describe()).await?;
    Ok((keyring, origin))
}

/// Every master key that wraps stored data must be in the keyring and must open it.
async fn verify_keyring(
    keyring: &Keyring,
    store: &Store,
    origin: &str,
) -> Result<(), SecretsError> {
    let in_use = store.secrets.key_ids_in_use().await?;
    let missing: Vec<String> = in_use
        .iter()
        .filter(|id| keyring.get(id).is_none())
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(SecretsError::WrongKey {
            origin: origin.to_owned(),
            missing: missing.join(", "),
        });
    }
    // Fingerprints match; also prove it by opening one data key per master key.
    for key_id in in_use {
        let (Some(row), Some(master)) = (
            store.secrets.first_wrapped_by(&key_id).await?,
            keyring.get(&key_id),
        ) else {
            continue;
        };
        let (secret_id, org_id) = context_parts(row.id, row.org_id);
        let ctx = SealContext {
            secret_id: &secret_id,
            org_id: org_id.as_deref(),
            purpose: &row.purpose,
        };
        envelope::unwrap_key(master, &ctx, &row.wrapped_key).map_err(|_| {
            SecretsError::WrongKey {
                origin: origin.to_owned(),
                missing: key_id.clone(),
            }
        })?;
    }
    Ok(())
}

/// The owned text of a secret's id and organisation, for borrowing into a [`SealContext`].
fn context_parts(id: SecretId, org: Option<OrgId>) -> (String, Option<String>) {
    (id.to_string(), org.map(|o| o.to_string()))
}

/// What a rotation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationReport {
    pub rewrapped: u64,
}

/// Seals, opens and rotates secrets.
#[derive(Clone)]
pub struct Secrets {
    store: Store,
    clock: Arc<dyn Clock>,
    keyring: Arc<Keyring>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("active_key", &self.keyring.active().id())
            .finish()
    }
}

impl Secrets {
    pub fn new(store: Store, clock: Arc<dyn Clock>, keyring: Keyring) -> Secrets {
        Secrets {
            store,
            clock,
            keyring: Arc::new(keyring),
        }
    }

    /// Seals `plaintext` for an organisation (or the installation) and a purpose.
    pub async fn seal(
        &self,
        org: Option<OrgId>,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<SecretId, SecretsError> {
        let record = self.sealed_record(org, purpose, plaintext)?;
        self.store.secrets.insert(&record).await?;
        Ok(record.id)
    }

    /// Seals `plaintext` into a new record without storing it, for a repository that writes
    /// it together with what refers to it (one transaction). Opens with [`Secrets::open`].
    pub fn sealed_record(
        &self,
        org: Option<OrgId>,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<SealedRecord, SecretsError> {
        let id = SecretId::generate(self.clock.as_ref());
        let now = self.clock.now();
        let envelope = self.seal_envelope(id, org, purpose, plaintext)?;
        Ok(SealedRecord {
            id,
            org_id: org,
            purpose: purpose.to_owned(),
            key_id: envelope.key_id,
            wrapped_key: envelope.wrapped_key,
            nonce: envelope.nonce,
            ciphertext: envelope.ciphertext,
            created_at: now,
            updated_at: now,
        })
    }

    /// Opens a secret. The caller states the organisation and purpose it expects; a secret of
    /// another organisation or purpose does not open.
    pub async fn open(
        &self,
        id: SecretId,
        org: Option<OrgId>,
        purpose: &str,
    ) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
        let record = self
            .store
            .secrets
            .get(id)
            .await?
            .ok_or(SecretsError::NotFound)?;
        let master = self
            .keyring
            .get(&record.key_id)
            .ok_or(SecretsError::Crypto)?;
        let (secret_id, org_id) = context_parts(id, org);
        let ctx = SealContext {
            secret_id: &secret_id,
            org_id: org_id.as_deref(),
            purpose,
        };
        let envelope = Envelope {
            key_id: record.key_id,
            wrapped_key: record.wrapped_key,
            nonce: record.nonce,
            ciphertext: record.ciphertext,
        };
        envelope::open(master, &ctx, &envelope)
    }

    /// Replaces the value of an existing secret, keeping its id.
    pub async fn replace(
        &self,
        id: SecretId,
        org: Option<OrgId>,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<(), SecretsError> {
        let existing = self
            .store
            .secrets
            .get(id)
            .await?
            .ok_or(SecretsError::NotFound)?;
        if existing.org_id != org || existing.purpose != purpose {
            return Err(SecretsError::NotFound);
        }
        let envelope = self.seal_envelope(id, org, purpose, plaintext)?;
        let record = SealedRecord {
            key_id: envelope.key_id,
            wrapped_key: envelope.wrapped_key,
            nonce: envelope.nonce,
            ciphertext: envelope.ciphertext,
            updated_at: self.clock.now(),
            ..existing
        };
        self.store.secrets.replace(&record).await?;
        Ok(())
    }

    fn seal_envelope(
        &self,
        id: SecretId,
        org: Option<OrgId>,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<Envelope, SecretsError> {
        let (secret_id, org_id) = context_parts(id, org);
        let ctx = SealContext {
            secret_id: &secret_id,
            org_id: org_id.as_deref(),
            purpose,
        };
        envelope::seal(self.keyring.active(), &ctx, plaintext)
    }

    /// Re-wraps every data key that is not wrapped by the active master key. Values are not
    /// re-encrypted; only their data keys change wrapping. Safe to run again after an
    /// interruption: each row is updated only if it still carries the key it was read with.
    pub async fn rewrap_all(&self) -> Result<RotationReport, SecretsError> {
        let active = self.keyring.active();
        let mut rewrapped = 0;
        loop {
            let batch = self
                .store
                .secrets
                .keys_not_wrapped_by(active.id(), 256)
                .await?;
            if batch.is_empty() {
                break;
            }
            let mut progressed = false;
            for row in batch {
                let old = self
                    .keyring
                    .get(&row.key_id)
                    .ok_or_else(|| SecretsError::WrongKey {
                        origin: "the keyring".to_owned(),
                        missing: row.key_id.clone(),
                    })?;
                let (secret_id, org_id) = context_parts(row.id, row.org_id);
                let ctx = SealContext {
                    secret_id: &secret_id,
                    org_id: org_id.as_deref(),
                    purpose: &row.purpose,
                };
                let data_key = envelope::unwrap_key(old, &ctx, &row.wrapped_key)?;
                let wrapped = envelope::wrap_key(active, &ctx, &data_key)?;
                let now = self.clock.now();
                if self
                    .store
                    .secrets
                    .rewrap(row.id, &row.key_id, active.id(), &wrapped, now)
                    .await?
                {
                    rewrapped += 1;
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(RotationReport { rewrapped })
    }

    pub fn active_key_id(&self) -> &str {
        self.keyring.active().id()
    }
}
