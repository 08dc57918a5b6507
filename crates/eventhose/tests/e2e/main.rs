//! End-to-end tests: the real `eventhose` binary, real HTTP on loopback, real files.
//! One test binary (it links the whole stack once); one module per concern.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod harness;

mod auth;
mod crash;
mod dead_letters;
mod ingest;
mod metrics;
mod ops;
mod tenancy;

mod delivery;
mod receiver;
mod webhooks;

mod events;
mod suppressions;

mod ui;

mod compat;
mod demo;
mod postfix;
mod readme;
mod sources;

mod amqp;
mod cluster;
mod postgres;
