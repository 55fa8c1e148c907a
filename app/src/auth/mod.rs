//! Signing up, in and out. The invite codes that gate sign-up (promise P12) come first.

#[cfg(feature = "ssr")]
pub mod invites;
