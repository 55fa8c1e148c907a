//! Plumbing shared by every area; it imports no area.
//!
//! Both builds: the area manifest's types, identifiers, the rule for where a redirect may lead,
//! and why a session ended. Server only: configuration, the database (tenant-scoped
//! transactions), the request context, the error spine, keys and sealing, the clock, client
//! details, the security log's storage, mail, jobs, rate limits, hashing slots and sessions.

pub mod area;
pub mod ids;
pub mod paths;
pub mod region;
pub mod retention;
pub mod session;

#[cfg(feature = "ssr")]
pub mod app_hosts;
#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod backup;
#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod closure;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod directory;
#[cfg(feature = "ssr")]
pub mod erasure;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod hashing;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod keys;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod outbound;
#[cfg(feature = "ssr")]
pub mod portable;
#[cfg(feature = "ssr")]
pub mod publication;
#[cfg(feature = "ssr")]
pub mod rate_limit;
#[cfg(feature = "ssr")]
pub mod regions;
#[cfg(feature = "ssr")]
pub mod residency;
#[cfg(feature = "ssr")]
pub mod restriction;
#[cfg(feature = "ssr")]
pub mod server_parts;
#[cfg(feature = "ssr")]
pub mod signed;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod tenant_copy;
