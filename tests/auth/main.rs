//! Integration tests of the accounts area: sign-up, addresses, passwords, mailed links (P2, P12).

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod enumeration;
mod mailed_links;
