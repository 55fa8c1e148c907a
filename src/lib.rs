//! The Custodian server's wiring: the commands (`cli`), the router and its transport middleware.
//! Everything a person sees or a rule decides lives in the `app` crate's areas.

pub mod cli;
pub mod health;
pub mod middleware;
pub mod router;
