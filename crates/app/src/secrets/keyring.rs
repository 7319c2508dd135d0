//! Master keys: where they come from (`SWITCHBOARD_MASTER_KEY` or the key file), how they are
//! named (a fingerprint, so a wrong key is recognised before anything is decrypted), and how
//! the key file is written (mode 0600, atomically).

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{KeyInit, OsRng};
use chacha20poly1305::XChaCha20Poly1305;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::SecretsError;

/// Environment variable holding base64 master keys (comma-separated; the first seals).
pub const MASTER_KEY_ENV: &str = "SWITCHBOARD_MASTER_KEY";

/// One 256-bit master key and its id.
pub struct MasterKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    pub fn generate() -> MasterKey {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(key.as_slice());
        MasterKey::from_bytes(bytes)
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> MasterKey {
        // The id is a domain-separated fingerprint: it names the key without revealing it.
        let digest = Sha256::new()
            .chain_update(b"switchboard/master-key-id/v1")
            .chain_update(bytes.as_slice())
            .finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        MasterKey { id, bytes }
    }

    /// Parses one base64-encoded 32-byte key.
    pub fn from_base64(text: &str) -> Result<MasterKey, String> {
        let decoded = Zeroizing::new(
            BASE64
                .decode(text.trim())
                .map_err(|_| "is not valid base64".to_owned())?,
        );
        if decoded.len() != 32 {
            return Err(format!("must decode to 32 bytes, got {}", decoded.len()));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&decoded);
        Ok(MasterKey::from_bytes(bytes))
    }

    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(self.bytes.as_slice()))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }
}

/// Where the master keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The value of `SWITCHBOARD_MASTER_KEY` (never logged or shown).
    Env(Zeroizing<String>),
    /// A key file, created on first run when no sealed data exists yet.
    File(PathBuf),
}

impl KeySource {
    pub fn describe(&self) -> String {
        match self {
            KeySource::Env(_) => MASTER_KEY_ENV.to_owned(),
            KeySource::File(path) => path.display().to_string(),
        }
    }
}

/// The master keys in use: the first seals new values, every key can open.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(active: MasterKey, older: Vec<MasterKey>) -> Keyring {
        let mut keys = vec![active];
        keys.extend(older);
        Keyring { keys }
    }

    /// The keyring after a rotation: `key` seals from now on, every old key still opens.
    pub fn with_new_active(self, key: MasterKey) -> Keyring {
        let mut keys = vec![key];
        keys.extend(self.keys);
        Keyring { keys }
    }

    pub fn active(&self) -> &MasterKey {
        // A keyring is never empty: every constructor requires an active key.
        &self.keys[0]
    }

    pub fn get(&self, key_id: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == key_id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Parses a list of base64 keys, one per line or comma-separated; `#` starts a comment.
    pub fn parse(text: &str, origin: &str) -> Result<Keyring, SecretsError> {
        let mut keys = Vec::new();
        for (index, item) in text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default())
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .enumerate()
        {
            let key = MasterKey::from_base64(item).map_err(|reason| SecretsError::BadKey {
                origin: origin.to_owned(),
                reason: format!("key {} {reason}", index + 1),
            })?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(SecretsError::BadKey {
                origin: origin.to_owned(),
                reason: "contains no key".to_owned(),
            });
        }
        Ok(Keyring { keys })
    }

    /// The key file's text: the active key first, then older keys kept for reading.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::from(
            "# Switchboard master keys. Keep this file secret and backed up: without it, sealed\n\
             # data (provider keys, TOTP secrets, webhook secrets) cannot be read.\n\
             # The first key seals new values; the others open values sealed before a rotation.\n",
        ));
        for key in &self.keys {
            text.push_str(&key.to_base64());
            text.push('\n');
        }
        text
    }
}

/// Reads a key file.
pub fn read_key_file(path: &Path) -> Result<Option<Keyring>, SecretsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            Keyring::parse(&text, &path.display().to_string()).map(Some)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SecretsError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Writes a key file with mode 0600: to a temporary file in the same directory, flushed to
/// disk, then renamed over the target, so a crash leaves either the old or the new file.
pub fn write_key_file(path: &Path, keyring: &Keyring) -> Result<(), SecretsError> {
    let io_error = |e: std::io::Error| SecretsError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("master.key")
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_error)?;
    }
    file.write_all(keyring.to_file_text().as_bytes())
        .map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_error)?;
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_stable_fingerprints() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.id(), again.id());
        assert_eq!(key.id().len(), 16);
        assert_ne!(key.id(), MasterKey::generate().id());
    }

    #[test]
    fn bad_keys_are_explained() {
        let err = Keyring::parse("not base64!", "SWITCHBOARD_MASTER_KEY").unwrap_err();
        assert!(err.to_string().contains("SWITCHBOARD_MASTER_KEY"), "{err}");
        assert!(err.to_string().contains("base64"), "{err}");
        let short = BASE64.encode([1u8; 16]);
        let err = Keyring::parse(&short, "env").unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");
        assert!(Keyring::parse("# only a comment\n", "file").is_err());
    }

    #[test]
    fn several_keys_parse_in_order() {
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        let text = format!("{}, {}", a.to_base64().as_str(), b.to_base64().as_str());
        let ring = Keyring::parse(&text, "env").unwrap();
        assert_eq!(ring.ids(), [a.id(), b.id()]);
        assert_eq!(ring.active().id(), a.id());
        assert!(ring.get(b.id()).is_some());
    }

    #[test]
    fn the_key_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        assert!(read_key_file(&path).unwrap().is_none());
        let ring = Keyring::new(MasterKey::generate(), vec![MasterKey::generate()]);
        write_key_file(&path, &ring).unwrap();
        let read = read_key_file(&path).unwrap().unwrap();
        assert_eq!(read.ids(), ring.ids());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }
}
