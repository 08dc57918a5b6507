//! Deterministic tests of [`run`]'s overlapping commit: a scripted hose whose deliveries the
//! test pushes, a processor whose commits the test holds and releases, and paused time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use eventhose_hose::{HoseStats, Message, PublishReceipt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::*;

/// What the runner did, in the order it did it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    /// The processor handled this delivery.
    Processed(u64),
    /// A commit began, covering these deliveries.
    Committing(Vec<u64>),
    /// That commit succeeded.
    Committed(Vec<u64>),
    /// That commit failed.
    CommitFailed(Vec<u64>),
    /// The subscription acknowledged this delivery.
    Acked(u64),
    /// The processor read this (non-empty) message.
    Read(Bytes),
    /// The subscription set this message aside as a dead letter.
    DeadLettered(Bytes),
}

use Event::{Acked, CommitFailed, Committed, Committing, DeadLettered, Processed, Read};

/// How a held commit ends.
type Release = oneshot::Sender<Result<(), SubscriberError>>;

/// A hose with one subscription, fed by the test.
struct ScriptedHose {
    subscription: Mutex<Option<ScriptedSubscription>>,
}

struct ScriptedSubscription {
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    events: mpsc::UnboundedSender<Event>,
}

#[async_trait::async_trait]
impl Hose for ScriptedHose {
    async fn publish(&self, _batch: Vec<Message>) -> Result<PublishReceipt, HoseError> {
        Err(HoseError::Unavailable(
            "the test scripts the deliveries".into(),
        ))
    }

    async fn subscribe(&self, subscriber: &str) -> Result<Box<dyn Subscription>, HoseError> {
        match self.subscription.lock().unwrap().take() {
            Some(subscription) => Ok(Box::new(subscription)),
            None => Err(HoseError::AlreadySubscribed(subscriber.to_owned())),
        }
    }

    async fn register(&self, _subscriber: &str) -> Result<(), HoseError> {
        Ok(())
    }

    async fn unregister(&self, _subscriber: &str) -> Result<(), HoseError> {
        Ok(())
    }

    fn stats(&self) -> HoseStats {
        HoseStats::default()
    }

    async fn dead_letters(
        &self,
        _subscriber: &str,
        _limit: usize,
    ) -> Result<eventhose_hose::DeadLetterPage, HoseError> {
        Ok(Default::default())
    }

    async fn dead_letter(
        &self,
        _subscriber: &str,
        _id: &str,
    ) -> Result<Option<eventhose_hose::DeadLetter>, HoseError> {
        Ok(None)
    }

    async fn settle_dead_letter(
        &self,
        _subscriber: &str,
        _id: &str,
        _settle: eventhose_hose::Settle,
    ) -> Result<bool, HoseError> {
        Ok(false)
    }

    async fn close(&self) -> Result<(), HoseError> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl Subscription for ScriptedSubscription {
    async fn next(&mut self) -> Result<Delivery, HoseError> {
        self.deliveries.recv().await.ok_or(HoseError::Closed)
    }

    async fn ack(&mut self, delivery: &DeliveryTag) -> Result<(), HoseError> {
        let id = delivery.external_id().unwrap();
        self.events.send(Acked(id)).unwrap();
        Ok(())
    }

    async fn defer(
        &mut self,
        _message: Message,
        _delay: Duration,
        _attempt: u32,
    ) -> Result<(), HoseError> {
        Err(HoseError::Unavailable("the runner never defers".into()))
    }

    async fn dead_letter(&mut self, rejected: Rejected) -> Result<(), HoseError> {
        self.events.send(DeadLettered(rejected.message)).unwrap();
        Ok(())
    }
}

/// Records what it processes; each commit waits until the test releases it.
struct ScriptedProcessor {
    events: mpsc::UnboundedSender<Event>,
    commits: mpsc::UnboundedSender<Release>,
    /// Processed since the last checkpoint.
    uncommitted: Vec<u64>,
    interval: Duration,
}

#[async_trait::async_trait]
impl Processor for ScriptedProcessor {
    async fn process(&mut self, delivery: &Delivery) -> Result<(), SubscriberError> {
        for (index, message) in delivery.messages.iter().enumerate() {
            if message.starts_with(b"bad") {
                let reason = "unreadable".to_owned();
                return Err(SubscriberError::BadMessage { index, reason });
            }
            if !message.is_empty() {
                self.events.send(Read(message.clone())).unwrap();
            }
        }
        let id = delivery.tag.external_id().unwrap();
        self.uncommitted.push(id);
        self.events.send(Processed(id)).unwrap();
        Ok(())
    }

    async fn start_checkpoint(&mut self) -> Result<Commit, SubscriberError> {
        let covers = std::mem::take(&mut self.uncommitted);
        self.events.send(Committing(covers.clone())).unwrap();
        let (release, released) = oneshot::channel();
        self.commits.send(release).unwrap();
        let events = self.events.clone();
        Ok(Box::pin(async move {
            let outcome = released.await.unwrap();
            let ended = match outcome {
                Ok(()) => Committed(covers),
                Err(_) => CommitFailed(covers),
            };
            events.send(ended).unwrap();
            outcome
        }))
    }

    fn checkpoint_interval(&self) -> Duration {
        self.interval
    }
}

/// [`run`] on a scripted hose, and the test's hands on it.
struct Script {
    deliveries: mpsc::UnboundedSender<Delivery>,
    events: mpsc::UnboundedReceiver<Event>,
    commits: mpsc::UnboundedReceiver<Release>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), SubscriberError>>,
}

impl Script {
    /// Starts the runner with a processor checkpointing every `interval`.
    fn start(interval: Duration) -> Self {
        let (deliveries, delivered) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let (commit_tx, commits) = mpsc::unbounded_channel();
        let hose: Arc<dyn Hose> = Arc::new(ScriptedHose {
            subscription: Mutex::new(Some(ScriptedSubscription {
                deliveries: delivered,
                events: event_tx.clone(),
            })),
        });
        let processor = ScriptedProcessor {
            events: event_tx,
            commits: commit_tx,
            uncommitted: Vec::new(),
            interval,
        };
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(async move { run(hose, "scripted", processor, stopping).await });
        Self {
            deliveries,
            events,
            commits,
            stop,
            task,
        }
    }

    /// Hands the runner delivery `id`, of `messages` messages.
    fn deliver(&self, id: u64, messages: usize) {
        self.deliveries
            .send(Delivery {
                tag: DeliveryTag::external(id),
                messages: vec![Bytes::new(); messages],
                attempt: 0,
                position: None,
            })
            .unwrap();
    }

    /// Hands the runner delivery `id` holding these messages.
    fn deliver_texts(&self, id: u64, texts: &[&'static str]) {
        self.deliveries
            .send(Delivery {
                tag: DeliveryTag::external(id),
                messages: texts
                    .iter()
                    .map(|text| Bytes::from_static(text.as_bytes()))
                    .collect(),
                attempt: 0,
                position: None,
            })
            .unwrap();
    }

    /// Lets `time` pass (with the ticks falling in it) and returns what the runner did
    /// meanwhile. Time is paused, so it advances only while every task waits: whatever `time`
    /// allows has happened, and no more.
    async fn after(&mut self, time: Duration) -> Vec<Event> {
        tokio::time::sleep(time).await;
        let mut seen = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            seen.push(event);
        }
        seen
    }

    /// What the runner does once everything ready has run, before the next tick.
    async fn settle(&mut self) -> Vec<Event> {
        self.after(Duration::from_millis(1)).await
    }

    /// Ends the oldest commit not yet released with `outcome`.
    fn release(&mut self, outcome: Result<(), SubscriberError>) {
        let release = self.commits.try_recv().expect("a commit is held");
        assert!(release.send(outcome).is_ok(), "the commit was dropped");
    }
}

const INTERVAL: Duration = Duration::from_millis(100);

/// What the runner does while it may do nothing.
const NOTHING: [Event; 0] = [];

fn failure() -> SubscriberError {
    std::io::Error::other("the store refused").into()
}

/// A held commit does not stop the runner: later deliveries are processed beside it, and a
/// checkpoint falling due meanwhile waits for it to end, then starts at once.
#[tokio::test(start_paused = true)]
async fn a_held_commit_lets_reading_go_on_and_holds_back_the_next_commit() {
    let mut script = Script::start(INTERVAL);
    script.deliver(1, 1);
    // The interval's first tick is due at once: the first delivery gets a commit of its own.
    assert_eq!(script.settle().await, [Processed(1), Committing(vec![1])]);

    script.deliver(2, 1);
    script.deliver(3, 1);
    assert_eq!(script.settle().await, [Processed(2), Processed(3)]);

    // Ticks pass: a checkpoint is due, but it may not start beside the held one.
    assert_eq!(script.after(INTERVAL * 5).await, NOTHING);
    script.deliver(4, 1);
    assert_eq!(script.settle().await, [Processed(4)]);

    script.release(Ok(()));
    assert_eq!(
        script.settle().await,
        [Committed(vec![1]), Acked(1), Committing(vec![2, 3, 4])]
    );

    script.release(Ok(()));
    assert_eq!(
        script.settle().await,
        [Committed(vec![2, 3, 4]), Acked(2), Acked(3), Acked(4)]
    );
    script.stop.send(true).unwrap();
    script.task.await.unwrap().unwrap();
}

/// Deliveries are acknowledged in order, only once the commit covering them succeeded, and
/// stopping finishes the running commit and checkpoints the rest before acknowledging them.
#[tokio::test(start_paused = true)]
async fn acks_follow_their_commit_in_order_even_when_stopping() {
    let mut script = Script::start(INTERVAL);
    script.deliver(1, 1);
    assert_eq!(script.settle().await, [Processed(1), Committing(vec![1])]);
    script.release(Ok(()));
    assert_eq!(script.settle().await, [Committed(vec![1]), Acked(1)]);

    for id in 2..=4 {
        script.deliver(id, 3);
    }
    assert_eq!(
        script.after(INTERVAL).await,
        [
            Processed(2),
            Processed(3),
            Processed(4),
            Committing(vec![2, 3, 4])
        ]
    );
    script.deliver(5, 1);
    assert_eq!(script.settle().await, [Processed(5)]);

    // Stopping waits for the held commit: nothing is acknowledged before it ends.
    script.stop.send(true).unwrap();
    assert_eq!(script.after(INTERVAL * 5).await, NOTHING);
    script.release(Ok(()));
    assert_eq!(
        script.settle().await,
        [
            Committed(vec![2, 3, 4]),
            Acked(2),
            Acked(3),
            Acked(4),
            Committing(vec![5])
        ]
    );
    assert!(!script.task.is_finished());
    script.release(Ok(()));
    assert_eq!(script.settle().await, [Committed(vec![5]), Acked(5)]);
    script.task.await.unwrap().unwrap();
}

/// A failed commit acknowledges nothing it covered, nor anything processed beside it, and
/// stops the runner with its error.
#[tokio::test(start_paused = true)]
async fn nothing_of_a_failed_commit_is_acknowledged() {
    let mut script = Script::start(INTERVAL);
    script.deliver(1, 1);
    script.deliver(2, 1);
    assert_eq!(
        script.settle().await,
        [Processed(1), Committing(vec![1]), Processed(2)]
    );
    script.release(Ok(()));
    assert_eq!(script.settle().await, [Committed(vec![1]), Acked(1)]);
    script.deliver(3, 1);
    assert_eq!(
        script.after(INTERVAL).await,
        [Processed(3), Committing(vec![2, 3])]
    );
    script.deliver(4, 1);
    assert_eq!(script.settle().await, [Processed(4)]);

    script.release(Err(failure()));
    assert_eq!(script.after(INTERVAL * 5).await, [CommitFailed(vec![2, 3])]);
    assert!(matches!(
        script.task.await.unwrap(),
        Err(SubscriberError::Io(_))
    ));
}

/// Beside a running commit, reading stops once [`MAX_PENDING_MESSAGES`] processed messages
/// wait, and goes on when the commit ends, which starts the next one at once; with no commit
/// running, reaching the bound starts one without waiting for a tick.
#[tokio::test(start_paused = true)]
async fn reading_pauses_at_the_pending_bound_until_the_commit_ends() {
    const PER_DELIVERY: usize = 10_000;
    const TO_FILL: u64 = 20;
    assert_eq!(
        MAX_PENDING_MESSAGES,
        PER_DELIVERY * usize::try_from(TO_FILL).unwrap(),
        "the deliveries below fill the bound exactly"
    );
    // No tick but the first falls in this test: only the bound starts commits.
    let mut script = Script::start(Duration::from_secs(3_600));
    script.deliver(1, PER_DELIVERY);
    assert_eq!(script.settle().await, [Processed(1), Committing(vec![1])]);

    // Deliveries 2 to 21 fill the bound beside the held commit; 22 to 26 stay unread.
    for id in 2..=TO_FILL + 6 {
        script.deliver(id, PER_DELIVERY);
    }
    let filled: Vec<Event> = (2..=TO_FILL + 1).map(Processed).collect();
    assert_eq!(script.after(Duration::from_secs(60)).await, filled);

    // The commit's end lets the full pending work into the next commit, and reading resumes.
    script.release(Ok(()));
    let mut resumed = vec![
        Committed(vec![1]),
        Acked(1),
        Committing((2..=TO_FILL + 1).collect()),
    ];
    resumed.extend((TO_FILL + 2..=TO_FILL + 6).map(Processed));
    assert_eq!(script.settle().await, resumed);

    // With the bound reached and no commit running, a commit starts at once.
    script.release(Ok(()));
    let mut committed = vec![Committed((2..=TO_FILL + 1).collect())];
    committed.extend((2..=TO_FILL + 1).map(Acked));
    assert_eq!(script.settle().await, committed);
    for id in TO_FILL + 7..=2 * TO_FILL + 1 {
        script.deliver(id, PER_DELIVERY);
    }
    let mut filled: Vec<Event> = (TO_FILL + 7..=2 * TO_FILL + 1).map(Processed).collect();
    filled.push(Committing((TO_FILL + 2..=2 * TO_FILL + 1).collect()));
    assert_eq!(script.settle().await, filled);

    script.release(Ok(()));
    script.stop.send(true).unwrap();
    script.task.await.unwrap().unwrap();
}

fn text(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

/// Each message the processor cannot read is set aside as a dead letter, the rest of its
/// delivery is processed without it, and the delivery is acknowledged with its commit.
#[tokio::test(start_paused = true)]
async fn unreadable_messages_are_set_aside_and_the_rest_processed() {
    let mut script = Script::start(INTERVAL);
    script.deliver_texts(1, &["a", "bad-1", "b", "bad-2"]);
    assert_eq!(
        script.settle().await,
        [
            Read(text("a")),
            DeadLettered(text("bad-1")),
            Read(text("b")),
            DeadLettered(text("bad-2")),
            Processed(1),
            Committing(vec![1])
        ]
    );
    script.deliver_texts(2, &["bad-3"]);
    assert_eq!(
        script.settle().await,
        [DeadLettered(text("bad-3")), Processed(2)]
    );
    script.release(Ok(()));
    assert_eq!(script.settle().await, [Committed(vec![1]), Acked(1)]);
    assert_eq!(script.after(INTERVAL).await, [Committing(vec![2])]);
    script.release(Ok(()));
    assert_eq!(script.settle().await, [Committed(vec![2]), Acked(2)]);
    script.stop.send(true).unwrap();
    script.task.await.unwrap().unwrap();
}
