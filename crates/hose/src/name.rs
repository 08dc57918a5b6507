//! Subscriber name rules.

use crate::HoseError;

/// Longest allowed subscriber name.
pub const MAX_SUBSCRIBER_NAME_LEN: usize = 64;

/// Checks that `name` matches `[a-z0-9_-]{1,64}` (safe as a file name and as a queue name).
pub fn validate_subscriber_name(name: &str) -> Result<(), HoseError> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if name.is_empty() || name.len() > MAX_SUBSCRIBER_NAME_LEN || !valid_chars {
        return Err(HoseError::InvalidName(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_allowed_names() {
        for name in ["metrics", "webhooks-1", "a_b", "0", &"x".repeat(64)] {
            assert!(validate_subscriber_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_other_names() {
        for name in [
            "",
            "Metrics",
            "a.b",
            "a/b",
            "../x",
            "é",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(validate_subscriber_name(name), Err(HoseError::InvalidName(n)) if n == name),
                "{name}"
            );
        }
    }
}
