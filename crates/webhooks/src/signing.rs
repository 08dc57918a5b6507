//! Standard Webhooks v1 signatures (symmetric, HMAC-SHA256).
//!
//! The signed content is `"{msg_id}.{timestamp}.{body}"`; the header value is `v1,<base64>`, and
//! several signatures (one per active secret, during a rotation) are separated by spaces.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of a signing secret as shown to users.
pub const SECRET_PREFIX: &str = "whsec_";
/// Number of random bytes in a generated secret.
pub const GENERATED_SECRET_BYTES: usize = 32;
/// Smallest accepted key, in bytes (Standard Webhooks: 24 to 64).
pub const MIN_KEY_BYTES: usize = 24;
/// Largest accepted key, in bytes.
pub const MAX_KEY_BYTES: usize = 64;
/// The signature version written before each signature.
pub const SIGNATURE_VERSION: &str = "v1";

/// Why a signature could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The secret does not start with `whsec_`.
    #[error("signing secret must start with '{SECRET_PREFIX}'")]
    MissingPrefix,
    /// The part after the prefix is not standard base64.
    #[error("signing secret is not valid base64: {0}")]
    InvalidBase64(String),
    /// The decoded key is shorter or longer than allowed.
    #[error("signing key is {0} bytes; it must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES}")]
    KeyLength(usize),
    /// The message id contains a `.`, which would make the signed content ambiguous.
    #[error("message id '{0}' must not contain '.'")]
    InvalidMessageId(String),
}

/// A new random secret: `whsec_` followed by the base64 of 32 bytes from the OS-seeded CSPRNG.
pub fn generate_secret() -> String {
    let mut key = [0u8; GENERATED_SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// Checks that `secret` is `whsec_<base64>` with a 24–64 byte key, and returns the key.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SigningError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SigningError::MissingPrefix)?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|e| SigningError::InvalidBase64(e.to_string()))?;
    if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
        return Err(SigningError::KeyLength(key.len()));
    }
    Ok(key)
}

/// `v1,<base64 HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}")>`, where the key is the
/// base64-decoded part of `secret` after `whsec_`.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    if msg_id.contains('.') {
        return Err(SigningError::InvalidMessageId(msg_id.to_owned()));
    }
    let key = decode_secret(secret)?;
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SigningError::KeyLength(key.len()))?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    Ok(format!("{SIGNATURE_VERSION},{}", STANDARD.encode(digest)))
}

/// The `webhook-signature` header value: one signature per secret, space-separated, in the order
/// of `secrets` (during a rotation both the old and the new secret sign). Empty when `secrets` is.
pub fn signature_header(
    secrets: &[String],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let signatures = secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_prefixed_32_byte_keys_and_differ() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert_eq!(decode_secret(&a).unwrap().len(), 32);
        assert!(a.starts_with("whsec_"));
    }

    #[test]
    fn signature_matches_a_published_vector() {
        // The example from the Standard Webhooks reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn different_inputs_give_different_signatures() {
        let secret = generate_secret();
        let base = sign(&secret, "batch1", 100, b"{}").unwrap();
        assert_ne!(base, sign(&secret, "batch2", 100, b"{}").unwrap());
        assert_ne!(base, sign(&secret, "batch1", 101, b"{}").unwrap());
        assert_ne!(base, sign(&secret, "batch1", 100, b"[]").unwrap());
        assert_ne!(
            base,
            sign(&generate_secret(), "batch1", 100, b"{}").unwrap()
        );
    }

    #[test]
    fn header_joins_one_signature_per_secret() {
        let secrets = vec![generate_secret(), generate_secret()];
        let header = signature_header(&secrets, "id", 5, b"x").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(&secrets[0], "id", 5, b"x").unwrap());
        assert_eq!(parts[1], sign(&secrets[1], "id", 5, b"x").unwrap());
        assert_eq!(signature_header(&[], "id", 5, b"x").unwrap(), "");
    }

    #[test]
    fn bad_secrets_and_ids_are_rejected() {
        assert_eq!(
            sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, b""),
            Err(SigningError::MissingPrefix)
        );
        assert!(matches!(
            sign("whsec_not*base64", "id", 1, b""),
            Err(SigningError::InvalidBase64(_))
        ));
        assert_eq!(
            sign("whsec_c2hvcnQ=", "id", 1, b""),
            Err(SigningError::KeyLength(5))
        );
        assert_eq!(
            sign(&generate_secret(), "a.b", 1, b""),
            Err(SigningError::InvalidMessageId("a.b".to_owned()))
        );
    }
}
