//! The publish check (promise P10): before an app becomes public, its files are read for
//! secrets (private keys, common API key and token formats, JWTs, and the values of the
//! account's own stored secrets once it has any) and for addresses of the site's own pages and
//! server functions, which a public app has no business calling. Each finding names a file and
//! a line, never the value found.

use regex::Regex;

use crate::apps::model::Finding;

/// The most findings listed: enough to fix an app, bounded for a page.
pub const MOST_FINDINGS: usize = 100;

/// What the check looks for, each with what it tells the owner.
const SECRET_FORMATS: &[(&str, &str)] = &[
    (r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----", "A private key"),
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

/// The check for one site: its address and its server functions' paths, and the values of
/// the owner's secrets.
pub struct PublishCheck {
    formats: Vec<(Regex, &'static str)>,
    site: Option<Regex>,
    server_paths: Vec<String>,
    secret_values: Vec<String>,
}

impl PublishCheck {
    /// `site_authority`: the site's host and port as URLs name it (`custodian.example`,
    /// `127.0.0.1:3000`).
    pub fn new(site_authority: &str, server_paths: Vec<String>, secret_values: Vec<String>) -> Self {
        let formats = SECRET_FORMATS
            .iter()
            .filter_map(|(pattern, what)| Regex::new(pattern).ok().map(|regex| (regex, *what)))
            .collect();
        let site = Regex::new(&format!(
            r"(?i)//{}(?:[/?#'`\x22\s]|$)",
            regex::escape(site_authority)
        ))
        .ok();
        Self {
            formats,
            site,
            server_paths,
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
        if self.site.as_ref().is_some_and(|site| site.is_match(line)) {
            found.push(SITE_ADDRESS);
        }
        if self.server_paths.iter().any(|path| line.contains(path.as_str())) {
            found.push(SERVER_FUNCTION);
        }
        if self.secret_values.iter().any(|value| line.contains(value.as_str())) {
            found.push(STORED_SECRET);
        }
        found
    }

    /// Every finding in `files` (path and content), in file and line order, at most
    /// `MOST_FINDINGS`. Files that are not text (images, fonts) hold no line to read.
    pub fn scan<'a>(&self, files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (path, content) in files {
            let Ok(text) = std::str::from_utf8(content) else {
                continue;
            };
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

/// The site's host and port, as its own addresses name it.
pub fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> PublishCheck {
        PublishCheck::new(
            "custodian.example",
            vec!["/api/apps/list".to_owned()],
            vec!["my-stored-secret-value".to_owned(), "short".to_owned()],
        )
    }

    fn found(text: &str) -> Vec<String> {
        check()
            .scan([("app.js", text.as_bytes())])
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
            ("fetch('/api/apps/list', { method: 'POST' })", SERVER_FUNCTION),
            ("const k = 'my-stored-secret-value';", STORED_SECRET),
        ];
        for (line, what) in cases {
            assert_eq!(found(line), vec![what.to_owned()], "{line}");
        }
        let findings = check().scan([
            ("index.html", b"<p>hello</p>\n<p>AKIAIOSFODNN7EXAMPLE</p>".as_slice()),
            ("logo.png", &[0xff, 0xd8, 0xff]),
        ]);
        assert_eq!(findings.len(), 1);
        assert_eq!((findings[0].path.as_str(), findings[0].line), ("index.html", 2));
    }

    #[test]
    fn ordinary_code_is_not_a_finding() {
        for line in [
            "const task = 'sk-8';",
            "fetch('https://api.example.com/data')",
            "// see https://custodian.example.org/ for docs",
            "https://x.custodian.example.com/",
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
        assert_eq!(check().scan([("a.txt", many.as_bytes())]).len(), MOST_FINDINGS);
    }
}
