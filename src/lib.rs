//! The Custodian server: start-up, the router and its middleware, background
//! jobs. `main.rs` is the CLI around it.

pub mod health;
pub mod jobs;
pub mod middleware;
pub mod privacy;
pub mod router;
pub mod startup;
