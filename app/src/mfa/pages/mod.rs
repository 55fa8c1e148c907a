//! The second factors' pages: the factors page and the summary the Security log shows.

mod codes;
mod factors;
mod passkeys;
mod summary;
mod totp;

pub use factors::FactorsPage;
pub use summary::FactorSummary;
