//! The sign-in area's pages and the parts other pages use: the sign-out button and the forms of
//! the re-authentication prompt.

pub mod passkey;
pub mod recovery;
pub mod second_step;
pub mod sign_in;
pub mod sign_out;
pub mod sudo;

pub use recovery::{ForgotPasswordPage, NotMePage, ResetPasswordPage};
pub use second_step::SecondStepPage;
pub use sign_in::SignInPage;
pub use sign_out::SignOutButton;
pub use sudo::sudo_forms;
