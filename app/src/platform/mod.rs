//! Server-only plumbing shared by every area: configuration, the database (tenant-scoped
//! transactions), keys and sealing, clock, client details, the security log's storage, mail, rate limits
//! and the state handed to server functions.

pub mod audit;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod keys;
pub mod mail;
pub mod rate_limit;
pub mod state;
