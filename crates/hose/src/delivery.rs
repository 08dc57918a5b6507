//! Messages, deliveries and the tags that acknowledge them.

/// One opaque message (the caller stores one serialized event per message).
pub type Message = bytes::Bytes;

/// What a successful [`Hose::publish`](crate::Hose::publish) reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishReceipt {
    /// Log offset of the record holding the batch (embedded hose only; `None` for an empty batch).
    pub position: Option<u64>,
    /// Number of messages published.
    pub messages: usize,
}

/// One unit handed to a subscriber: a whole stream record, or one deferred message that has come due.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Identifies the delivery for [`Subscription::ack`](crate::Subscription::ack).
    pub tag: DeliveryTag,
    /// The messages, in publish order.
    pub messages: Vec<Message>,
    /// Retry attempt carried by a deferred message; 0 for stream records.
    pub attempt: u32,
    /// Offset of the stream record (embedded hose), so exactly-once consumers can skip what they applied.
    pub position: Option<u64>,
}

/// Opaque handle of a delivery, passed back to acknowledge it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeliveryTag(TagKind);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TagKind {
    /// A stream record spanning `[start, end)` of the log.
    Stream { start: u64, end: u64 },
    /// A deferred message by its id in the subscriber's delayed queue.
    Deferred { id: u64 },
    /// An id defined by another implementation of the traits.
    External(u64),
}

impl DeliveryTag {
    pub(crate) fn stream(start: u64, end: u64) -> Self {
        Self(TagKind::Stream { start, end })
    }

    pub(crate) fn deferred(id: u64) -> Self {
        Self(TagKind::Deferred { id })
    }

    pub(crate) fn kind(&self) -> TagKind {
        self.0
    }

    /// Wraps an implementation-defined delivery id (for `Hose` implementations outside the embedded log).
    pub fn external(id: u64) -> Self {
        Self(TagKind::External(id))
    }

    /// The id given to [`DeliveryTag::external`], if this tag was made by it.
    pub fn external_id(&self) -> Option<u64> {
        match self.0 {
            TagKind::External(id) => Some(id),
            _ => None,
        }
    }
}
