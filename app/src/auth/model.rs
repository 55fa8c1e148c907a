//! The accounts area's types shared by the pages and the server, its pure rules, its notices and
//! its security-log events.

use serde::{Deserialize, Serialize};

use crate::platform::area::{events, notices};

/// The fewest characters a new password may have.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// The most characters a password may have.
pub const PASSWORD_MAX_CHARS: usize = 256;
/// The longest display name.
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
/// How many invites a person may make.
pub const INVITE_LIMIT: usize = 5;
/// How long a person's invite works, in days.
pub const INVITE_DAYS: i64 = 7;

notices! {
    /// Confirmations of the accounts area, shown after a redirect.
    AuthNotice {
        SignedUp = "signed-up" => "Your account is ready. We sent a link to verify your email address; sign in meanwhile.",
        EmailVerified = "email-verified" => "Your email address is verified.",
    }
}

events! {
    SIGNED_UP = "signed_up" => "Account created",
    SIGN_UP_WITH_YOUR_ADDRESS = "sign_up_with_your_address" => "Sign-up tried with your address",
    EMAIL_VERIFIED = "email_verified" => "Email address verified",
    INVITE_USED = "invite_used" => "Your invite was used",
}

pub use crate::platform::region::Region;

/// The strength meter's reading of a password being typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrengthReading {
    /// 0 (very weak) to 4 (very strong).
    pub score: u8,
    pub acceptable: bool,
    pub advice: String,
}

/// A display name as typed is refused when it is empty, too long, or has control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidDisplayName;

/// A display name, trimmed and checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, InvalidDisplayName> {
        let name = raw.trim();
        let length = name.chars().count();
        if (1..=DISPLAY_NAME_MAX_CHARS).contains(&length) && !name.chars().any(char::is_control) {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidDisplayName)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An address as typed is refused when it is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidEmail;

/// An email address, trimmed, lower-cased and checked once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    #[cfg(feature = "ssr")]
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && local.len() <= 64 && domain.contains('.')
            })
            && email.parse::<lettre::Address>().is_ok();
        if valid {
            Ok(Self(email))
        } else {
            Err(InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"a".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{7}b").is_err());
    }
}
