//! The account area's pages, and the header's account corner.

mod account;
mod confirm_email;
mod corner;

pub use account::AccountPage;
pub use confirm_email::ConfirmEmailPage;
pub use corner::AccountCorner;
