//! The Security pages: a frame with their navigation, the log, the sessions and the account's
//! encryption key. The factors page is the second-factor area's, routed here as a child.

pub mod encryption;
pub mod layout;
pub mod log;
pub mod sessions;

pub use encryption::EncryptionPage;
pub use layout::SecurityLayout;
pub use log::SecurityLogPage;
pub use sessions::SessionsPage;
