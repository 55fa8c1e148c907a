//! The layout and the component kit every area shares: forms, buttons, sections, tables, the
//! loading and error views, notices and the re-authentication prompt. It imports no area.

pub mod form;
pub mod kit;
pub mod layout;
pub mod load;
pub mod notices;
pub mod sudo;
pub mod url;

pub use form::{action_error, clear_on_success, Field, FormError, FormNotice, Notice, Submit};
pub use kit::{ButtonKind, DataTable, PageHeader, Section, SectionStyle, SubSection, LINK};
pub use layout::{answer_not_found, Layout, NotFound};
pub use load::{LoadError, Loading};
pub use notices::query_notice;
pub use sudo::{besides_sudo, resubmit, SudoForms, SudoPrompt};
pub use url::query_value;

/// Percent-encodes text for a URL (a query value, a data: URL): everything but the unreserved
/// characters of RFC 3986.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
