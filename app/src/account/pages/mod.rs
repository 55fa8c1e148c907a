//! The account area's pages, and the header's account corner.

pub mod account;
pub mod confirm_email;
pub mod corner;
pub mod region;

pub use account::AccountPage;
pub use confirm_email::ConfirmEmailPage;
pub use corner::AccountCorner;
