//! What the secrets section shows and the rules its forms follow.

use serde::{Deserialize, Serialize};

/// The most secrets one app may hold.
pub const SECRETS_PER_APP: i64 = 100;
/// The longest value, in bytes.
pub const VALUE_BYTES: usize = 8 * 1024;
/// The most hosts a secret may be sent to.
pub const HOSTS_PER_SECRET: usize = 10;
/// A value shows its last 4 characters only when it has at least this many, so that the hint
/// never gives away a large share of a short value.
pub const HINT_FROM_CHARS: usize = 16;
/// The first segment of an egress path, under the app's view: `_egress/<NAME>/<path>`.
pub const EGRESS_SEGMENT: &str = "_egress";
/// The request header an app sets to send to another of the secret's hosts than the first.
pub const EGRESS_HOST_HEADER: &str = "x-egress-host";

/// How a secret travels to its host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Placement {
    /// `Authorization: Bearer <value>`.
    Bearer,
    /// `<header>: <value>`.
    Header(String),
    /// `?<parameter>=<value>`.
    Query(String),
}

impl Placement {
    /// The form's codes for each kind, with their labels.
    pub const KINDS: [(&'static str, &'static str); 3] = [
        ("bearer", "Authorization: Bearer …"),
        ("header", "A header of its own"),
        ("query", "A query parameter"),
    ];

    pub fn code(&self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Header(_) => "header",
            Self::Query(_) => "query",
        }
    }

    /// The header or parameter's name; empty for a bearer token.
    pub fn name(&self) -> &str {
        match self {
            Self::Bearer => "",
            Self::Header(name) | Self::Query(name) => name,
        }
    }

    /// How the page describes it.
    pub fn describe(&self) -> String {
        match self {
            Self::Bearer => "Authorization: Bearer …".to_owned(),
            Self::Header(name) => format!("Header {name}"),
            Self::Query(name) => format!("Query parameter {name}"),
        }
    }
}

/// A secret as its owner's page shows it: never its value, only the value's last characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRow {
    pub name: String,
    pub hosts: Vec<String>,
    pub placement: Placement,
    pub created: String,
    pub rotated: String,
    pub last_used: Option<String>,
    /// The value's last 4 characters, or empty for a short value.
    pub hint: String,
    pub uses_last_day: i64,
    /// Set for a connection (OAuth 2.0).
    pub connection: Option<ConnectionView>,
}

/// A connection as its owner's page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// When the current access token expires (egress refreshes it a minute before).
    pub expires: Option<String>,
    /// Whether disconnecting asks the service to revoke the tokens.
    pub revocable: bool,
}

/// The path an app's script fetches, relative to its page, to call the secret's first host.
pub fn egress_path(name: &str) -> String {
    format!("{EGRESS_SEGMENT}/{name}/")
}

/// Whether `name` is a secret's name: `UPPER_SNAKE`, 1 to 64 characters, starting with a letter.
pub fn is_secret_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_uppercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// What the page may show of `value`: its last 4 characters, for a long enough value.
pub fn hint_of(value: &str) -> String {
    let count = value.chars().count();
    if count < HINT_FROM_CHARS {
        return String::new();
    }
    value.chars().skip(count - 4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_upper_snake() {
        for good in ["A", "OPENAI_API_KEY", "KEY_2", &"K".repeat(64)] {
            assert!(is_secret_name(good), "{good}");
        }
        for bad in ["", "api_key", "2KEY", "_KEY", "KEY-2", "KEY 2", "KÉY", &"K".repeat(65), "KEY/X"] {
            assert!(!is_secret_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_hint_shows_four_characters_of_a_long_value_only() {
        assert_eq!(hint_of("sk-0123456789abcdefWXYZ"), "WXYZ");
        assert_eq!(hint_of("short-value"), "");
        assert_eq!(hint_of(&"é".repeat(20)), "éééé");
    }
}
