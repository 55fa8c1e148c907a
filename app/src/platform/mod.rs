//! Plumbing shared by every area. Server-only: configuration, the database (tenant-scoped
//! transactions), keys and sealing, clock, client details, the security log's storage, mail,
//! rate limits, hashing slots, the session store and the state handed to server functions.
//! Both builds: the rule for where a redirect may lead.

#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod hashing;
#[cfg(feature = "ssr")]
pub mod keys;
#[cfg(feature = "ssr")]
pub mod mail;
pub mod paths;
#[cfg(feature = "ssr")]
pub mod rate_limit;
#[cfg(feature = "ssr")]
pub mod session_store;
#[cfg(feature = "ssr")]
pub mod state;
