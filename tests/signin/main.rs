//! Integration tests of the sign-in area: passwords under throttles, second steps, passkeys, sessions that end (P2, P3, P4).

#[path = "../support/mod.rs"]
mod support;

mod passkeys;
mod redirects;
mod session_ending;
mod throttling;
