//! Integration tests of the privacy area: consent, GPC, the ledger and receipts, versioned policies (P6, P7).

#[path = "../support/mod.rs"]
mod support;

mod account_wide;
mod consent;
mod consent_browsers;
mod policies;
mod receipts;
