//! The second factors' pages: the factors page and the summary the Security log shows.

pub mod codes;
pub mod factors;
pub mod passkeys;
pub mod summary;
pub mod totp;

pub use factors::FactorsPage;
pub use summary::FactorSummary;
