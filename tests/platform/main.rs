//! Integration tests of the platform: tenant isolation (P1), the app role, the security log's
//! chain (P5), erasing a tenant, and the job runner.

#[path = "../support/mod.rs"]
mod support;

mod app_role;
mod audit_chain;
mod erase;
mod jobs;
mod region_moves;
mod regions;
mod tenant_isolation;
