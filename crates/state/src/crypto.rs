//! Encryption at rest for the secrets the state store keeps on behalf of users (webhook
//! passwords, OAuth2 request bodies, signing secrets).
//!
//! XChaCha20-Poly1305 with a fresh random 24-byte nonce for every write: the nonce is long
//! enough that random choice never repeats in practice, so no nonce counter must be kept. A
//! sealed value is `nonce || ciphertext+tag`; the associated data binds it to its row, so a
//! sealed value copied into another row does not open.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// Length of an encryption key, in bytes.
pub const KEY_LEN: usize = 32;

/// Length of the random nonce stored in front of every sealed value.
const NONCE_LEN: usize = 24;

/// Errors of key handling and sealing.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A configured key is not base64 of exactly [`KEY_LEN`] bytes.
    #[error("the encryption key must be base64 of exactly {KEY_LEN} bytes")]
    BadKey,
    /// The key file could not be read or written.
    #[error("encryption key file {path}: {source}")]
    KeyFile {
        /// The key file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A sealed value did not open: it was altered, or another key sealed it.
    #[error(
        "a stored secret cannot be decrypted (altered, or sealed with another encryption key)"
    )]
    Open,
    /// Sealing failed (cannot happen with a valid key; reported rather than unwrapped).
    #[error("a secret could not be encrypted")]
    Seal,
}

/// A 32-byte symmetric key. Its `Debug` form does not show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; KEY_LEN]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(…)")
    }
}

impl EncryptionKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A key from its base64 form (standard alphabet, padding optional; whitespace around it
    /// is ignored).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| CryptoError::BadKey)?;
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(bytes))
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key in base64 (standard alphabet, padded), as configured and stored in key files.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Reads the key stored at `path`, or creates the file (mode 0600 on Unix) with a new
    /// random key. Returns the key and whether it was just created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), CryptoError> {
        let file_error = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Ok((Self::from_base64(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(file_error(e)),
        }
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(format!("{}\n", key.to_base64()).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(file_error)?;
                Ok((key, true))
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(file_error)?;
                Ok((Self::from_base64(&text)?, false))
            }
            Err(e) => Err(file_error(e)),
        }
    }
}

/// Seals and opens values with one key.
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// A sealer over `key`.
    pub(crate) fn new(key: &EncryptionKey) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.0.into()),
        }
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the row's id).
    pub(crate) fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts what [`seal`](Sealer::seal) produced with the same `context`.
    pub(crate) fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_with_fresh_nonces_and_opens_only_in_context() {
        let sealer = Sealer::new(&EncryptionKey::generate());
        let a = sealer.seal(b"hunter2", b"row-1").unwrap();
        let b = sealer.seal(b"hunter2", b"row-1").unwrap();
        assert_ne!(a, b, "the same plaintext must not seal the same way twice");
        assert_eq!(sealer.open(&a, b"row-1").unwrap(), b"hunter2");
        assert!(matches!(sealer.open(&a, b"row-2"), Err(CryptoError::Open)));
        let mut tampered = a.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            sealer.open(&tampered, b"row-1"),
            Err(CryptoError::Open)
        ));
        assert!(sealer.open(&a[..10], b"row-1").is_err());
        let other = Sealer::new(&EncryptionKey::generate());
        assert!(other.open(&a, b"row-1").is_err());
    }

    #[test]
    fn base64_round_trip_and_length_check() {
        let key = EncryptionKey::generate();
        assert_eq!(EncryptionKey::from_base64(&key.to_base64()).unwrap(), key);
        let unpadded = key.to_base64().trim_end_matches('=').to_string();
        assert_eq!(EncryptionKey::from_base64(&unpadded).unwrap(), key);
        assert!(matches!(
            EncryptionKey::from_base64("c2hvcnQ="),
            Err(CryptoError::BadKey)
        ));
        assert!(EncryptionKey::from_base64("not base64!").is_err());
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let (created, fresh) = EncryptionKey::load_or_create(&path).unwrap();
        assert!(fresh);
        let (loaded, fresh_again) = EncryptionKey::load_or_create(&path).unwrap();
        assert!(!fresh_again);
        assert_eq!(created, loaded);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(
            EncryptionKey::load_or_create(&path),
            Err(CryptoError::BadKey)
        ));
    }
}
