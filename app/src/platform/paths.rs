//! Where a person may be sent after an action: one strict rule for every redirect the server
//! makes from a value the request carried (`next`, `back`) and for the browser's own navigation
//! after a passkey, so that no link of ours leads to another site and no value makes a
//! redirect fail.

/// The one page a signed-in person whose account is scheduled for deletion reaches (the data
/// area's); sign-in leads there instead of anywhere else.
pub const DELETION_PAGE: &str = "/data/deletion";

/// Longer return paths are not kept.
const MAX_LEN: usize = 1024;

/// The base the rule resolves paths against; only its origin matters.
const PROBE_ORIGIN: &str = "https://custodian.invalid";

/// `raw` when it is a path on this site: ASCII only, with no control character, space or
/// backslash (browsers drop tabs and newlines and read `\` as `/`, which can turn `/\t/x` into
/// `//x`, another site), starting with one `/`, and still on the site's origin once resolved
/// against it by a URL parser.
pub fn local_path(raw: &str) -> Option<&str> {
    let shaped = raw.len() <= MAX_LEN
        && raw.starts_with('/')
        && !raw.starts_with("//")
        && raw.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    (shaped && stays_on_origin(raw)).then_some(raw)
}

/// `raw` when it is a local path, else `fallback`.
pub fn local_path_or(raw: Option<&str>, fallback: &'static str) -> String {
    raw.and_then(local_path).unwrap_or(fallback).to_owned()
}

#[cfg(feature = "ssr")]
fn stays_on_origin(path: &str) -> bool {
    url::Url::parse(PROBE_ORIGIN)
        .and_then(|base| base.join(path))
        .is_ok_and(|joined| joined.origin().ascii_serialization() == PROBE_ORIGIN)
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn stays_on_origin(path: &str) -> bool {
    // The browser's own parser, the one that will follow the path.
    web_sys::Url::new_with_base(path, PROBE_ORIGIN).is_ok_and(|url| url.origin() == PROBE_ORIGIN)
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn stays_on_origin(_path: &str) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_on_this_site_are_kept() {
        for good in [
            "/",
            "/account",
            "/security/sessions?notice=revoked",
            "/policies/privacy/v/2#top",
            "/a%2Fb",
            "/.//x",
        ] {
            assert_eq!(local_path(good), Some(good), "{good:?}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_or_break_a_header_is_refused() {
        for bad in [
            "",
            "account",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/ /evil.example",
            "/\u{0}",
            "/\u{7f}",
            "/é",
            "/\u{2028}",
            "https://evil.example/",
            "javascript:alert(1)",
            " /account",
            "/account ",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(MAX_LEN))), None);
        assert_eq!(local_path_or(Some("//x"), "/account"), "/account");
        assert_eq!(local_path_or(None, "/"), "/");
    }
}
