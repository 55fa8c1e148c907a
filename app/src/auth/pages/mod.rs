//! The accounts area's pages, and the new-password field other areas' forms use.

pub mod password_field;
pub mod sign_up;
pub mod verify_email;

pub use password_field::NewPasswordField;
pub use sign_up::SignUpPage;
pub use verify_email::VerifyEmailPage;
