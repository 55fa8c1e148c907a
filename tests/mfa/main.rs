//! Integration tests of second factors: the authenticator app, backup codes, changes mailed with a way back (P3).

#[path = "../support/mod.rs"]
mod support;

mod factor_changes;
mod totp;
