//! An app's secrets (promise P9): API keys its owner attaches to it, sealed with the tenant's
//! data key and write-only everywhere. No page, server function, export, log or collaborator
//! ever reads one back; the server opens it only when the running app calls its egress
//! endpoint, and sends it only to the hosts the owner listed.

pub mod api;
#[cfg(feature = "ssr")]
pub mod connections;
#[cfg(feature = "ssr")]
pub mod egress;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod scrub;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;
