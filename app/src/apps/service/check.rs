//! The publish check (promise P10): before an app becomes public, and whenever a published
//! app's files change, its files are read for secrets (private keys, common API key and token
//! formats, JWTs, and the values of the account's own stored secrets once it has any) and for
//! addresses of the site's own pages and server functions, which a public app has no business
//! calling (a link to Discover itself is fine). Each finding names a file and a line, never the
//! value found.

use regex::Regex;

use crate::apps::model::Finding;

/// The most findings listed: enough to fix an app, bounded for a page.
pub const MOST_FINDINGS: usize = 100;

/// What the check looks for, each with what it tells the owner.
const SECRET_FORMATS: &[(&str, &str)] = &[
    (r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", "A private key"),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "An AWS access key id (AKIA…)"),
    (r"\bsk-[A-Za-z0-9_-]{20,}", "An API secret key (sk-…)"),
    (r"\bsk_(?:live|test)_[A-Za-z0-9]{16,}", "A payment API secret key (sk_live_…)"),
    (r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})", "A GitHub token (ghp_…)"),
    (r"\bxox[abposr]-[A-Za-z0-9-]{10,}", "A Slack token (xox…)"),
    (
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        "A signed token (JWT)",
    ),
];

const SITE_ADDRESS: &str = "An address of this site's own pages";
const SERVER_FUNCTION: &str = "A call to one of this site's server functions";
const STORED_SECRET: &str = "The value of one of your stored secrets";

/// Where an address of the site may lead without being a finding: Discover, where the app is.
const PUBLIC_PATH: &str = "/discover";
/// Where the site's server functions answer.
const SERVER_FUNCTIONS: &str = "/api/";

/// The check for one site: its address, and the values of the owner's secrets.
pub struct PublishCheck {
    formats: Vec<(Regex, &'static str)>,
    site: Option<Regex>,
    secret_values: Vec<String>,
}

impl PublishCheck {
    /// `site`: the site's public URL.
    pub fn new(site: &url::Url, secret_values: Vec<String>) -> Self {
        let formats = SECRET_FORMATS
            .iter()
            .filter_map(|(pattern, what)| Regex::new(pattern).ok().map(|regex| (regex, *what)))
            .collect();
        Self {
            formats,
            site: site_address(site),
            secret_values: secret_values.into_iter().filter(|v| v.len() >= 8).collect(),
        }
    }

    /// What the check finds in one line.
    fn line(&self, line: &str) -> Vec<&'static str> {
        let mut found: Vec<&'static str> = self
            .formats
            .iter()
            .filter(|(regex, _)| regex.is_match(line))
            .map(|(_, what)| *what)
            .collect();
        for address in self.site.iter().flat_map(|site| site.captures_iter(line)) {
            let path = address.get(1).map_or("", |path| path.as_str());
            if path.starts_with(SERVER_FUNCTIONS) {
                found.push(SERVER_FUNCTION);
            } else if !path.starts_with(PUBLIC_PATH) {
                found.push(SITE_ADDRESS);
            }
        }
        if self.secret_values.iter().any(|value| line.contains(value.as_str())) {
            found.push(STORED_SECRET);
        }
        found
    }

    /// Every finding in `files` (path, content type and content), in file and line order, at
    /// most `MOST_FINDINGS`. Text in any encoding is read (bytes that are not UTF-8 become
    /// replacement characters, so the rest of the file is still read); images, fonts, audio and
    /// video hold no line to read.
    pub fn scan<'a>(
        &self,
        files: impl IntoIterator<Item = (&'a str, &'a str, &'a [u8])>,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (path, content_type, content) in files {
            if ["image/", "font/", "audio/", "video/"]
                .iter()
                .any(|media| content_type.starts_with(media) && content_type != "image/svg+xml")
            {
                continue;
            }
            let text = decoded(content);
            for (number, line) in text.lines().enumerate() {
                for what in self.line(line) {
                    if findings.len() == MOST_FINDINGS {
                        return findings;
                    }
                    findings.push(Finding {
                        path: path.to_owned(),
                        line: number + 1,
                        what: what.to_owned(),
                    });
                }
            }
        }
        findings
    }
}

/// A file's text: UTF-16 when it says so, else UTF-8 with what is not replaced; JSON's escaped
/// slashes read as slashes.
fn decoded(content: &[u8]) -> String {
    let utf16 = |bytes: &[u8], from: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|pair| from([pair[0], pair[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    let text = match content {
        [0xff, 0xfe, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xfe, 0xff, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8_lossy(content).into_owned(),
    };
    text.replace("\\/", "/")
}

/// The pattern of an absolute or scheme-relative address of the site, capturing its path: the
/// host and, when the URL names none, its scheme's default port written out.
fn site_address(site: &url::Url) -> Option<Regex> {
    let host = regex::escape(site.host_str()?);
    let port = match site.port() {
        Some(port) => format!(":{port}"),
        None => format!("(?::{})?", site.port_or_known_default().unwrap_or(443)),
    };
    Regex::new(&format!(
        r#"(?i)//{host}{port}(/[^\s'"`<>)]*)?(?:[?#'"`\s<>)]|$)"#
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> PublishCheck {
        PublishCheck::new(
            &url::Url::parse("https://custodian.example").unwrap(),
            vec!["my-stored-secret-value".to_owned(), "short".to_owned()],
        )
    }

    fn found(text: &str) -> Vec<String> {
        check()
            .scan([("app.js", "text/javascript", text.as_bytes())])
            .into_iter()
            .map(|finding| finding.what)
            .collect()
    }

    #[test]
    fn each_secret_format_is_found_with_its_file_and_line() {
        let cases = [
            ("-----BEGIN RSA PRIVATE KEY-----", "A private key"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----", "A private key"),
            ("const id = 'AKIAIOSFODNN7EXAMPLE';", "An AWS access key id (AKIA…)"),
            ("key: \"sk-proj-abcdefghijklmnopqrstuvwx\"", "An API secret key (sk-…)"),
            ("sk_live_abcdefghijklmnop1234", "A payment API secret key (sk_live_…)"),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "A GitHub token (ghp_…)"),
            ("xoxb-1234567890-abcdef", "A Slack token (xox…)"),
            ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "A signed token (JWT)"),
            ("fetch('https://custodian.example/account')", SITE_ADDRESS),
            ("<a href=\"//CUSTODIAN.example:443\">", SITE_ADDRESS),
            ("{\"u\": \"https:\\/\\/custodian.example\\/account\"}", SITE_ADDRESS),
            ("fetch('https://custodian.example/api/apps/list', { method: 'POST' })", SERVER_FUNCTION),
            ("-----BEGIN PGP PRIVATE KEY BLOCK-----", "A private key"),
            ("const k = 'my-stored-secret-value';", STORED_SECRET),
        ];
        for (line, what) in cases {
            assert_eq!(found(line), vec![what.to_owned()], "{line}");
        }
        let latin1 = b"caf\xe9\nAKIAIOSFODNN7EXAMPLE".as_slice();
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("x\nAKIAIOSFODNN7EXAMPLE".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let findings = check().scan([
            ("index.html", "text/html", b"<p>hello</p>\n<p>AKIAIOSFODNN7EXAMPLE</p>".as_slice()),
            ("latin1.txt", "text/plain", latin1),
            ("wide.txt", "text/plain", &utf16),
            ("logo.png", "image/png", b"AKIAIOSFODNN7EXAMPLE".as_slice()),
        ]);
        let at: Vec<(&str, usize)> = findings.iter().map(|f| (f.path.as_str(), f.line)).collect();
        assert_eq!(at, vec![("index.html", 2), ("latin1.txt", 2), ("wide.txt", 2)]);
    }

    #[test]
    fn ordinary_code_is_not_a_finding() {
        for line in [
            "const task = 'sk-8';",
            "fetch('https://api.example.com/data')",
            "// see https://custodian.example.org/ for docs",
            "https://x.custodian.example.com/",
            "<a href=\"https://custodian.example/discover\">Found on Discover</a>",
            "fetch('/api/signin')",
            "fetch('https://api.myapp.com/api/signin')",
            "short in a line",
            "AKIAshort",
            "eyJ.eyJ.x",
        ] {
            assert!(found(line).is_empty(), "{line}");
        }
    }

    #[test]
    fn findings_are_bounded() {
        let many = "AKIAIOSFODNN7EXAMPLE\n".repeat(MOST_FINDINGS + 5);
        assert_eq!(check().scan([("a.txt", "text/plain", many.as_bytes())]).len(), MOST_FINDINGS);
    }
}
