//! Message events: what the Events API asks the event store and gets back, the filters of a
//! search and their semantics, keyword matching, the event store traits, and their in-memory
//! reference store.

pub(crate) mod filter;
pub mod keywords;
pub(crate) mod memory;
pub(crate) mod store;
