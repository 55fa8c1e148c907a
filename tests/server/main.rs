//! Integration tests of the server's wiring: the router, transport hardening, logs and the commands.

#[path = "../support/mod.rs"]
mod support;

mod auth_http;
mod cli;
mod http;
mod log_hygiene;
mod transport;
