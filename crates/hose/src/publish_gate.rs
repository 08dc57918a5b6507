//! What every hose checks before it publishes a batch, and how closing waits for the
//! publishes in flight.

use tokio::sync::{RwLock, RwLockReadGuard};

use crate::{HoseError, PublishReceipt};

/// Held shared by each publish, exclusively by `close`: closing waits for the publishes in
/// flight, and refuses later ones.
#[derive(Debug, Default)]
pub struct PublishGate {
    /// `true` once closed.
    closed: RwLock<bool>,
}

/// What the gate makes of a batch.
#[derive(Debug)]
pub enum Admission<'a> {
    /// Publish it, holding the pass until it is stored: closing waits until it is dropped.
    Publish(PublishPass<'a>),
    /// An empty batch: nothing to store; the answer is this receipt, of no position.
    Empty(PublishReceipt),
}

/// A publish let through the gate: closing waits until it is dropped.
#[derive(Debug)]
#[must_use = "closing waits only while the pass is held"]
pub struct PublishPass<'a> {
    _open: RwLockReadGuard<'a, bool>,
}

impl PublishGate {
    /// An open gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// The opening checks of [`Hose::publish`](crate::Hose::publish), in this order: a batch
    /// of `bytes` (as the hose measures it) larger than `max_bytes` is
    /// [`HoseError::TooLarge`]; a closed hose is [`HoseError::Closed`]; an empty batch is
    /// [`Admission::Empty`]. Any other batch is [`Admission::Publish`].
    pub async fn admit(
        &self,
        messages: usize,
        bytes: u64,
        max_bytes: u64,
    ) -> Result<Admission<'_>, HoseError> {
        if bytes > max_bytes {
            return Err(HoseError::TooLarge { bytes, max_bytes });
        }
        let closed = self.closed.read().await;
        if *closed {
            return Err(HoseError::Closed);
        }
        if messages == 0 {
            return Ok(Admission::Empty(PublishReceipt {
                position: None,
                messages,
            }));
        }
        Ok(Admission::Publish(PublishPass { _open: closed }))
    }

    /// Closes the gate once the publishes in flight are done. Returns `false` when it was
    /// closed already (the caller's close has nothing more to do).
    pub async fn close(&self) -> bool {
        let mut closed = self.closed.write().await;
        !std::mem::replace(&mut *closed, true)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn checks_size_then_closed_then_empty() {
        let gate = PublishGate::new();
        assert!(matches!(
            gate.admit(1, 11, 10).await,
            Err(HoseError::TooLarge {
                bytes: 11,
                max_bytes: 10
            })
        ));
        match gate.admit(0, 0, 10).await {
            Ok(Admission::Empty(receipt)) => {
                assert_eq!((receipt.position, receipt.messages), (None, 0))
            }
            other => panic!("an empty batch gets a receipt at once: {other:?}"),
        }
        assert!(matches!(
            gate.admit(2, 10, 10).await,
            Ok(Admission::Publish(_))
        ));
        assert!(gate.close().await, "the first close closes");
        assert!(!gate.close().await, "a second close has nothing to do");
        assert!(matches!(gate.admit(0, 0, 10).await, Err(HoseError::Closed)));
        assert!(matches!(
            gate.admit(1, 11, 10).await,
            Err(HoseError::TooLarge { .. })
        ));
    }

    #[tokio::test]
    async fn close_waits_for_the_publishes_in_flight() {
        let gate = PublishGate::new();
        let Ok(Admission::Publish(pass)) = gate.admit(1, 1, 10).await else {
            panic!("an open gate lets a batch through");
        };
        let closing = gate.close();
        tokio::pin!(closing);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut closing)
                .await
                .is_err(),
            "close waits while a pass is held"
        );
        drop(pass);
        assert!(closing.await);
    }
}
