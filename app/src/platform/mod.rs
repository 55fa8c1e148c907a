//! Server-only plumbing shared by every area: configuration, the database (tenant-scoped
//! transactions), keys and the state handed to server functions.

pub mod config;
pub mod db;
pub mod keys;
pub mod state;
