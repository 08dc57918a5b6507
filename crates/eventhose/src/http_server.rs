//! The HTTP listener: hyper's HTTP/1 connections under the limits a public listener needs.
//!
//! `axum::serve` sets no timer, so hyper's header-read timeout never fires, and it accepts
//! every connection it is offered: a client that opens connections and sends headers a byte
//! at a time (slowloris) holds tasks and sockets for ever. This loop is that function's
//! accept-and-serve loop with four limits added: a cap on open connections (at the cap the
//! listener stops accepting and the kernel's backlog holds new ones), a deadline for a
//! request's headers (which also closes idle keep-alive connections), a deadline for a
//! whole request, body included (answered with 408), and a deadline for each write of an
//! answer (a client that stops reading is disconnected, so it cannot keep its slot).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eventhose_api::{ApiError, ErrorEntry};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

/// Limits on the HTTP listener (`[http]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Connections open at once at most; past it, new ones wait in the listen backlog.
    pub max_connections: usize,
    /// A request's headers must arrive within this many milliseconds of the connection
    /// being ready for them (an idle keep-alive connection is closed after it too).
    pub header_read_timeout_ms: u64,
    /// A request, body included, must be answered within this many milliseconds (408).
    pub request_timeout_ms: u64,
    /// A connection whose client takes none of its answer's bytes for this many milliseconds
    /// is closed.
    pub write_timeout_ms: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 1_024,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 60_000,
            write_timeout_ms: 30_000,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the open connections to finish their requests.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: &HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let header_deadline = Duration::from_millis(limits.header_read_timeout_ms.max(1));
    let request_deadline = Duration::from_millis(limits.request_timeout_ms.max(1));
    let write_deadline = Duration::from_millis(limits.write_timeout_ms.max(1));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed, so acquiring fails never; stop serving if it did.
        let Ok(slot) = slot else { break };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, as axum::serve does.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // Hyper bounds the reading of headers but not the writing of an answer: each write
        // must make progress within the deadline, or the connection fails and frees its slot.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(write_deadline));
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let app = app.clone();
            async move {
                let request = request.map(axum::body::Body::new);
                let response =
                    match tokio::time::timeout(request_deadline, app.oneshot(request)).await {
                        Ok(Ok(response)) => response,
                        Ok(Err(infallible)) => match infallible {},
                        Err(_) => timed_out(request_deadline),
                    };
                Ok::<_, Infallible>(response)
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_deadline)
            .serve_connection(TokioIo::new(Box::pin(stream)), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    // In-flight requests end within their deadline; a connection that still holds on after it
    // (a client that stopped reading its answer) does not hold the shutdown up.
    if tokio::time::timeout(request_deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the request deadline: closing them");
    }
    Ok(())
}

/// The answer to a request that outlived its deadline.
fn timed_out(deadline: Duration) -> Response {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        ErrorEntry::new("request timeout").description(format!(
            "the request was not complete within {} ms",
            deadline.as_millis()
        )),
    )
    .into_response()
}
