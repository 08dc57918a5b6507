//! Keeps a connection up: connects, declares the topology, watches the connection, and after a
//! loss reconnects with bounded exponential backoff. Also refreshes the queue statistics.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lapin::{Connection, ConnectionProperties, Event};
use tokio::sync::watch;

use crate::hose::Inner;
use crate::session::Session;

/// How often the connection's state is checked besides its events.
const LIVENESS_CHECK: Duration = Duration::from_millis(250);
/// How long a lost or closing connection is given to close politely.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Why connecting to the broker, and declaring the topology on the new connection, failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EstablishError {
    /// The broker could not be reached or refused the connection.
    #[error("connecting failed: {0}")]
    Connect(#[source] lapin::Error),
    /// The broker did not accept the connection in time.
    #[error("connecting timed out after {0:?}")]
    TimedOut(Duration),
    /// No channel for the declarations could be opened.
    #[error("opening a channel failed: {0}")]
    OpenChannel(#[source] lapin::Error),
    /// The broker refused the exchange (or the connection failed meanwhile).
    #[error("declaring exchange `{exchange}` failed: {source}")]
    DeclareExchange {
        /// The exchange's name.
        exchange: String,
        /// The broker's error.
        #[source]
        source: lapin::Error,
    },
    /// The connection went down while a subscriber's queues were declared.
    #[error("declaring subscriber `{subscriber}` failed: {source}")]
    DeclareSubscriber {
        /// The subscriber.
        subscriber: String,
        /// The broker's error.
        #[source]
        source: lapin::Error,
    },
    /// The hose was closed while connecting.
    #[error("the hose was closed while connecting")]
    Closed,
}

/// Connects and declares the exchange and every registered subscriber's queues, then makes the
/// connection the current session.
pub(crate) async fn establish(inner: &Arc<Inner>) -> Result<Arc<Session>, EstablishError> {
    let config = &inner.config;
    let properties = ConnectionProperties::default()
        .with_connection_name(config.options.connection_name.clone().into());
    let connecting = Connection::connect_uri(inner.uri.clone(), properties);
    let connection = match tokio::time::timeout(config.options.connect_timeout(), connecting).await
    {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => return Err(EstablishError::Connect(error)),
        Err(_) => return Err(EstablishError::TimedOut(config.options.connect_timeout())),
    };
    let generation = inner.generations.fetch_add(1, Ordering::Relaxed) + 1;
    let session = Arc::new(Session::new(
        generation,
        connection,
        config.options.publish_channels,
        config.options.publish_timeout(),
    ));
    if let Err(error) = declare_topology(inner, &session).await {
        session.close(CLOSE_GRACE).await;
        return Err(error);
    }
    tracing::info!(
        url = %config.redacted_url(),
        generation,
        "connected to the RabbitMQ broker"
    );
    Ok(session)
}

/// Declares everything, then publishes the session while still holding the declare lock, so that
/// a concurrent registration either is declared here or sees the new session.
async fn declare_topology(inner: &Inner, session: &Arc<Session>) -> Result<(), EstablishError> {
    let channel = session
        .open_channel()
        .await
        .map_err(EstablishError::OpenChannel)?;
    inner
        .topology
        .declare_exchange(&channel)
        .await
        .map_err(|source| EstablishError::DeclareExchange {
            exchange: inner.topology.exchange(),
            source,
        })?;
    let _ = channel.close(200, "exchange declared".into()).await;
    let _declaring = inner.declare_lock.lock().await;
    for subscriber in inner.registry.names() {
        if let Err(error) = inner.declare_subscriber(session, &subscriber).await {
            if !session.is_alive() {
                return Err(EstablishError::DeclareSubscriber {
                    subscriber,
                    source: error,
                });
            }
            // Refused by the broker (e.g. different queue arguments): the others still work.
            tracing::error!(subscriber, %error, "the broker refused a subscriber's queues");
        }
    }
    if inner.is_closed() {
        return Err(EstablishError::Closed);
    }
    inner.session_tx.send_replace(Some(Arc::clone(session)));
    Ok(())
}

/// The reconnect loop; returns once the hose is closed (or dropped).
pub(crate) async fn run(inner: Arc<Inner>, first: Option<Arc<Session>>) {
    let mut closed = inner.closed();
    let mut backoff = inner.config.options.reconnect_min();
    let mut next = first;
    while !*closed.borrow() {
        let session = match next.take() {
            Some(session) => session,
            None => {
                let attempt = tokio::select! {
                    _ = closed.changed() => break,
                    attempt = establish(&inner) => attempt,
                };
                match attempt {
                    Ok(session) => session,
                    Err(error) => {
                        tracing::warn!(
                            url = %inner.config.redacted_url(),
                            %error,
                            retry_in = ?backoff,
                            "cannot reach the RabbitMQ broker"
                        );
                        tokio::select! {
                            _ = closed.changed() => break,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(inner.config.options.reconnect_max());
                        continue;
                    }
                }
            }
        };
        backoff = inner.config.options.reconnect_min();
        let lost = watch_until_lost(&session, &mut closed).await;
        inner.session_tx.send_if_modified(|current| {
            let is_this = current
                .as_ref()
                .is_some_and(|c| c.generation == session.generation);
            if is_this {
                *current = None;
            }
            is_this
        });
        session.close(CLOSE_GRACE).await;
        if let Some(reason) = lost {
            tracing::warn!(
                generation = session.generation,
                reason,
                retry_in = ?backoff,
                "lost the RabbitMQ connection; reconnecting"
            );
            // A broker that just dropped us (restarting, or closing connections on purpose)
            // gets a pause before the first attempt too.
            tokio::select! {
                _ = closed.changed() => {}
                _ = tokio::time::sleep(backoff) => {}
            }
        }
    }
    if let Some(session) = inner.session_tx.send_replace(None) {
        session.close(CLOSE_GRACE).await;
    }
}

/// Waits until the connection fails (`Some(reason)`) or the hose closes (`None`).
async fn watch_until_lost(session: &Session, closed: &mut watch::Receiver<bool>) -> Option<String> {
    let mut events = session.connection.events_listener();
    let mut check = tokio::time::interval(LIVENESS_CHECK);
    loop {
        tokio::select! {
            _ = closed.changed() => {
                if *closed.borrow() {
                    return None;
                }
            }
            _ = session.broken() => {
                if !session.is_alive() {
                    return Some("a channel operation found the connection down".into());
                }
                if session.wants_redeclare() {
                    return Some("the broker lost a declared exchange or queue".into());
                }
            }
            event = events.next() => match event {
                // Channel errors (a refused declaration, say) come here too: only a connection
                // that went down ends the session.
                Some(Event::Error(error)) => {
                    if !session.is_alive() {
                        return Some(error.to_string());
                    }
                    tracing::debug!(%error, "channel error on the broker connection");
                }
                Some(Event::ConnectionBlocked(reason)) => {
                    tracing::warn!(reason, "the broker blocked publishing");
                }
                Some(Event::ConnectionUnblocked) => tracing::info!("the broker unblocked publishing"),
                Some(_) => {}
                None => return Some("the connection's event stream ended".into()),
            },
            _ = check.tick() => {
                if !session.is_alive() {
                    return Some("the connection is no longer open".into());
                }
            }
        }
    }
}

/// Refreshes every registered subscriber's queue statistics each `stats_interval_ms`.
pub(crate) async fn poll_stats(inner: Arc<Inner>) {
    let mut closed = inner.closed();
    let mut tick = tokio::time::interval(inner.config.options.stats_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*closed.borrow() {
        tokio::select! {
            _ = closed.changed() => continue,
            _ = tick.tick() => {}
        }
        let Some(session) = inner.live_session() else {
            continue;
        };
        let names = inner.registry.names();
        if let Err(error) = inner.stats.refresh(&session, &inner.topology, &names).await {
            tracing::debug!(%error, "refreshing queue statistics failed");
        }
    }
}

#[cfg(test)]
mod tests {
    //! Against the RabbitMQ broker at 127.0.0.1:5672 (guest/guest), like the crate's tests.

    use std::error::Error as _;

    use lapin::options::{ExchangeDeclareOptions, ExchangeDeleteOptions};
    use lapin::types::FieldTable;
    use lapin::ExchangeKind;

    use super::*;
    use crate::broker_error::{reply_code, PRECONDITION_FAILED};
    use crate::config::AmqpHoseConfig;

    fn inner(url: &str, prefix: &str) -> Arc<Inner> {
        let mut config = AmqpHoseConfig::with_url(url);
        config.options.prefix = prefix.to_owned();
        Arc::new(Inner::new(config).unwrap())
    }

    #[tokio::test]
    async fn a_refused_exchange_keeps_the_brokers_error() {
        let prefix = format!("ehtest.supervisor.{}.", std::process::id());
        let inner = inner("amqp://guest:guest@127.0.0.1:5672/%2f", &prefix);
        let exchange = inner.topology.exchange();
        // The exchange exists as another kind: declaring it as a fanout is refused (406).
        let connection =
            Connection::connect_uri(inner.uri.clone(), ConnectionProperties::default())
                .await
                .expect("the broker at 127.0.0.1:5672 accepts the connection");
        let channel = connection.create_channel().await.unwrap();
        channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();

        let result = establish(&inner).await;

        let channel = connection.create_channel().await.unwrap();
        channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await
            .unwrap();
        let _ = connection.close(200, "done".into()).await;
        let error = match result {
            Ok(_) => panic!("the exchange of another kind was accepted"),
            Err(error) => error,
        };
        match &error {
            EstablishError::DeclareExchange {
                exchange: name,
                source,
            } => {
                assert_eq!(*name, exchange);
                assert_eq!(reply_code(source), Some(PRECONDITION_FAILED), "{source}");
            }
            other => panic!("expected DeclareExchange, got {other:?}"),
        }
        assert!(error
            .to_string()
            .starts_with(&format!("declaring exchange `{exchange}` failed: ")));
        assert!(error
            .source()
            .is_some_and(|source| source.downcast_ref::<lapin::Error>().is_some()));
    }

    #[tokio::test]
    async fn a_refused_connection_keeps_the_io_error() {
        // Nothing listens on port 1.
        let inner = inner("amqp://guest:guest@127.0.0.1:1/%2f", "ehtest.");
        let error = match establish(&inner).await {
            Ok(_) => panic!("connected to port 1"),
            Err(error) => error,
        };
        let EstablishError::Connect(source) = &error else {
            panic!("expected Connect, got {error:?}");
        };
        let io = source
            .source()
            .and_then(|io| io.downcast_ref::<std::io::Error>())
            .unwrap_or_else(|| panic!("no io::Error under {source:?}"));
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(error.to_string().starts_with("connecting failed: "));
    }
}
