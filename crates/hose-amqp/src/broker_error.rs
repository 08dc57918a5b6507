//! Reading the broker's errors and turning them into [`HoseError`]s.

use eventhose_hose::HoseError;
use lapin::ErrorKind;

/// AMQP reply code: the object does not exist.
pub(crate) const NOT_FOUND: u16 = 404;
/// AMQP reply code: a precondition (queue arguments, `if-unused`, …) failed.
pub(crate) const PRECONDITION_FAILED: u16 = 406;

/// The reply code of an error the broker sent (channel or connection close), if it is one.
pub(crate) fn reply_code(error: &lapin::Error) -> Option<u16> {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) => Some(amqp.get_id()),
        _ => None,
    }
}

/// `Unavailable` with what was being done and the broker's error.
pub(crate) fn unavailable(doing: &str, error: impl std::fmt::Display) -> HoseError {
    HoseError::Unavailable(format!("{doing}: {error}"))
}

/// `Unavailable` for an operation attempted while no connection is up.
pub(crate) fn not_connected(url: &str) -> HoseError {
    HoseError::Unavailable(format!(
        "not connected to the RabbitMQ broker at {url}; reconnecting in the background"
    ))
}
