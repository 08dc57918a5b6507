//! The metrics traits on ClickHouse: `write.rs` the commit row, the checkpoint and retention;
//! `read.rs` the queries.

mod read;
mod write;
