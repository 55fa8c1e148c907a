//! The Security pages: a frame with their navigation, the log and the sessions. The factors page
//! is the second-factor area's, routed here as a child.

pub mod layout;
pub mod log;
pub mod sessions;

pub use layout::SecurityLayout;
pub use log::SecurityLogPage;
pub use sessions::SessionsPage;
