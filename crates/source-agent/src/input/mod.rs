//! Where log lines come from: a followed file ([`follow`]), standard input ([`stdin`]), or
//! syslog over the network ([`syslog_udp`], [`syslog_tcp`]).
//!
//! Every input sends [`Item`]s over a bounded channel to the runner, which feeds them to the
//! source (Postfix or PowerMTA). The bound is the back-pressure: while the runner waits for the server, a
//! file is simply not read further, and a socket's messages wait in the kernel.

pub mod follow;
pub mod lines;
pub mod stdin;
pub mod syslog_tcp;
pub mod syslog_udp;

use std::net::IpAddr;

use crate::position::FilePos;

/// One line or message read.
#[derive(Debug)]
pub struct Line {
    /// The bytes, without the line ending.
    pub text: Vec<u8>,
    /// Where the line starts, for a file.
    pub start: Option<FilePos>,
    /// Where the line ends (the next line's start), for a file.
    pub end: Option<FilePos>,
    /// The sender, for a syslog message from the network (its host when the message names
    /// none).
    pub peer: Option<IpAddr>,
}

/// What an input says.
#[derive(Debug)]
pub enum Item {
    /// A line.
    Line(Line),
    /// A line longer than the limit, skipped (counted); `end` is where the next line starts.
    Oversized {
        /// Where the next line starts, for a file.
        end: Option<FilePos>,
    },
    /// Nothing more for now: the input has caught up.
    CaughtUp,
    /// The input ended (end of standard input, or of the file with `once`).
    End,
    /// The input failed and stopped.
    Failed(std::io::Error),
}
