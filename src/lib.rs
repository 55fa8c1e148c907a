//! The Custodian server: start-up, the router and its middleware. `main.rs` is the CLI around it.

pub mod health;
pub mod middleware;
pub mod router;
pub mod startup;
