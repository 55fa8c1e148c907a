//! Rights with their clocks (promise P15): correction, restriction, objection, access and "Do
//! Not Sell or Share" asked for in one request, each right with its own status and due date as
//! the law counts it, answered by operators, closed with a signed receipt, and reported
//! publicly per year. Restriction itself is enforced by `platform::restriction`.

pub mod api;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod answer;
#[cfg(feature = "ssr")]
pub mod due;
#[cfg(feature = "ssr")]
pub mod report;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;
