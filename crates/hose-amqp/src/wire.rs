//! What one AMQP message carries: a framed batch in the body, the retry attempt in a header.
//!
//! Body (all integers big-endian):
//!
//! ```text
//! 0   4 bytes  magic "EHB1"
//! 4   u32      message count
//! 8   ...      per message: u32 length, then the message bytes
//! ```

use bytes::Bytes;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::BasicProperties;

use eventhose_hose::{HoseError, Message};

/// Content type of every message the hose publishes.
pub const CONTENT_TYPE: &str = "application/vnd.eventhose.batch";
/// Header carrying a deferred message's retry attempt.
pub const ATTEMPT_HEADER: &str = "x-eventhose-attempt";

const MAGIC: &[u8; 4] = b"EHB1";
const HEADER_LEN: usize = 8;
/// AMQP delivery mode of persistent messages.
const PERSISTENT: u8 = 2;

/// Why a body could not be read as a batch.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FramingError {
    /// The body does not start with the magic bytes.
    #[error("body does not start with the eventhose batch magic")]
    BadMagic,
    /// The body ends inside a length or a message.
    #[error("body is truncated at byte {0}")]
    Truncated(usize),
    /// Bytes remain after the announced messages.
    #[error("{0} bytes follow the last message")]
    TrailingBytes(usize),
}

/// Size of the body [`encode_batch`] makes for `messages`.
pub fn encoded_len(messages: &[Message]) -> u64 {
    HEADER_LEN as u64 + messages.iter().map(|m| 4 + m.len() as u64).sum::<u64>()
}

/// Frames `messages` into one body. Callers keep each message under 4 GiB (the batch size limit
/// is far below that); a message or count that does not fit its 32-bit field is refused as
/// [`HoseError::TooLarge`].
pub fn encode_batch(messages: &[Message]) -> Result<Vec<u8>, HoseError> {
    let too_large = || HoseError::TooLarge {
        bytes: encoded_len(messages),
        max_bytes: u64::from(u32::MAX),
    };
    let count = u32::try_from(messages.len()).map_err(|_| too_large())?;
    // Only a capacity hint: without it the body grows as it fills.
    let mut body = Vec::with_capacity(usize::try_from(encoded_len(messages)).unwrap_or_default());
    body.extend_from_slice(MAGIC);
    body.extend_from_slice(&count.to_be_bytes());
    for message in messages {
        let len = u32::try_from(message.len()).map_err(|_| too_large())?;
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(message);
    }
    Ok(body)
}

/// Splits a body made by [`encode_batch`] into its messages, sharing the body's memory.
pub fn decode_batch(body: Vec<u8>) -> Result<Vec<Message>, FramingError> {
    let body = Bytes::from(body);
    if body.len() < HEADER_LEN || &body[..4] != MAGIC {
        return Err(FramingError::BadMagic);
    }
    let count = read_u32(&body, 4)? as usize;
    // Every message needs at least its 4-byte length, which bounds the allocation.
    if count > (body.len() - HEADER_LEN) / 4 {
        return Err(FramingError::Truncated(body.len()));
    }
    let mut messages = Vec::with_capacity(count);
    let mut at = HEADER_LEN;
    for _ in 0..count {
        let len = read_u32(&body, at)? as usize;
        let start = at + 4;
        let end = start
            .checked_add(len)
            .filter(|end| *end <= body.len())
            .ok_or(FramingError::Truncated(body.len()))?;
        messages.push(body.slice(start..end));
        at = end;
    }
    if at != body.len() {
        return Err(FramingError::TrailingBytes(body.len() - at));
    }
    Ok(messages)
}

fn read_u32(body: &[u8], at: usize) -> Result<u32, FramingError> {
    body.get(at..at + 4)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(FramingError::Truncated(body.len()))
}

/// Properties of a stream batch (`attempt` None) or a deferred message: persistent, typed, and
/// with the attempt header when deferred.
pub fn properties(attempt: Option<u32>) -> BasicProperties {
    let properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type(ShortString::from(CONTENT_TYPE));
    match attempt {
        None => properties,
        Some(attempt) => {
            let mut headers = FieldTable::default();
            headers.insert(
                ShortString::from(ATTEMPT_HEADER),
                AMQPValue::LongLongInt(i64::from(attempt)),
            );
            properties.with_headers(headers)
        }
    }
}

/// The attempt a delivery carries (0 for stream batches and unreadable headers).
pub fn attempt_of(properties: &BasicProperties) -> u32 {
    let value = properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(ATTEMPT_HEADER));
    let number = match value {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        Some(AMQPValue::LongUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortUInt(n)) => i64::from(*n),
        _ => 0,
    };
    u32::try_from(number).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(texts: &[&str]) -> Vec<Message> {
        texts
            .iter()
            .map(|t| Bytes::copy_from_slice(t.as_bytes()))
            .collect()
    }

    #[test]
    fn batches_round_trip() {
        for texts in [
            &[][..],
            &[""],
            &["one"],
            &["a", "", "ccc", "{\"json\":true}"],
        ] {
            let messages = batch(texts);
            let body = encode_batch(&messages).unwrap();
            assert_eq!(body.len() as u64, encoded_len(&messages));
            assert_eq!(decode_batch(body).expect("decode"), messages);
        }
    }

    #[test]
    fn damaged_bodies_are_refused() {
        let body = encode_batch(&batch(&["hello", "world"])).unwrap();
        assert_eq!(decode_batch(b"nope".to_vec()), Err(FramingError::BadMagic));
        assert_eq!(
            decode_batch(b"XHB1\0\0\0\0".to_vec()),
            Err(FramingError::BadMagic)
        );
        for cut in HEADER_LEN..body.len() {
            assert!(
                matches!(
                    decode_batch(body[..cut].to_vec()),
                    Err(FramingError::Truncated(_))
                ),
                "cut at {cut}"
            );
        }
        let mut longer = body.clone();
        longer.push(0);
        assert_eq!(decode_batch(longer), Err(FramingError::TrailingBytes(1)));
        let mut huge_count = body;
        huge_count[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode_batch(huge_count),
            Err(FramingError::Truncated(_))
        ));
    }

    #[test]
    fn attempt_travels_in_a_header() {
        assert_eq!(attempt_of(&properties(None)), 0);
        assert_eq!(attempt_of(&properties(Some(7))), 7);
        assert_eq!(attempt_of(&properties(Some(u32::MAX))), u32::MAX);
        let deferred = properties(Some(3));
        assert_eq!(*deferred.delivery_mode(), Some(PERSISTENT));
    }
}
