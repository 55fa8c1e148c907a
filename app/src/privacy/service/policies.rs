//! Versioned policies (promise P7): the Markdown bundled in `policies/`, inserted as version
//! rows at start-up; versions published by the operator's CLI; rendering; and the review of a
//! material change by signed-in people (banner, acknowledgment, mail).

use pulldown_cmark::{html, Event, Parser, Tag, TagEnd};
use sqlx::{PgConnection, PgPool};
use time::{macros::datetime, OffsetDateTime};

use super::PrivacyError;
use crate::{
    platform::{context::SignedIn, db::TenantTx, error::InfraError, ids::OwnerId, mail},
    privacy::{
        model::{PolicyNotice, PolicyText, PolicyVersionRow, PolicyVersions, POLICY_ACKNOWLEDGED},
        store::policies::{self as store, NewVersion},
    },
};

/// Every document, by the name in its address, with its title.
pub const DOCUMENTS: [(&str, &str); 4] = [
    ("privacy", "Privacy policy"),
    ("cookies", "Cookie policy"),
    ("terms", "Terms of service"),
    ("subprocessors", "Sub-processors"),
];

pub fn title(document: &str) -> Result<&'static str, PrivacyError> {
    DOCUMENTS
        .iter()
        .find(|(slug, _)| *slug == document)
        .map(|(_, title)| *title)
        .ok_or_else(|| PrivacyError::UnknownDocument(document.chars().take(40).collect()))
}

/// A version that ships with the code.
struct Bundled {
    document: &'static str,
    version: i32,
    published_at: OffsetDateTime,
    material: bool,
    summary: &'static str,
    body: &'static str,
}

impl Bundled {
    const fn first(document: &'static str, body: &'static str) -> Self {
        Self {
            document,
            version: 1,
            published_at: datetime!(2026-11-23 00:00 UTC),
            material: false,
            summary: "First version.",
            body,
        }
    }
}

const BUNDLED: [Bundled; 5] = [
    Bundled::first("privacy", include_str!("../../../../policies/privacy-v1.md")),
    Bundled::first("cookies", include_str!("../../../../policies/cookies-v1.md")),
    Bundled {
        document: "cookies",
        version: 2,
        published_at: datetime!(2026-12-01 00:00 UTC),
        material: false,
        summary: "Over HTTPS the consent and theme cookies carry the __Host- prefix, and signing out removes every cookie.",
        body: include_str!("../../../../policies/cookies-v2.md"),
    },
    Bundled::first("terms", include_str!("../../../../policies/terms-v1.md")),
    Bundled::first(
        "subprocessors",
        include_str!("../../../../policies/subprocessors-v1.md"),
    ),
];

/// Inserts the bundled versions the database lacks; run with the migration role at start-up.
pub async fn sync_bundled(owner: &PgPool) -> Result<(), PrivacyError> {
    for doc in &BUNDLED {
        let version = NewVersion {
            document: doc.document,
            published_at: doc.published_at,
            material: doc.material,
            summary: doc.summary,
            body: doc.body,
        };
        store::insert_if_missing(owner, doc.version, &version).await?;
    }
    Ok(())
}

/// Someone to tell about a material change.
pub struct Recipient {
    pub account: OwnerId,
    pub email: String,
}

/// Adds the next version of `document` (operator's CLI, migration role). A material change also
/// queues a mail to every `recipient`, in the same transaction. Returns the new version number.
pub async fn publish(
    owner: &PgPool,
    new: &NewVersion<'_>,
    recipients: &[Recipient],
    public_url: &url::Url,
) -> Result<i32, PrivacyError> {
    let title = title(new.document)?;
    let mut tx = owner.begin().await?;
    let version = store::insert_next(&mut tx, new).await?;
    if new.material {
        let mut link = public_url.clone();
        link.set_path(&format!("/policies/{}", new.document));
        let summary = new.summary;
        for recipient in recipients {
            mail::enqueue(
                &mut tx,
                mail::Mail {
                    account: recipient.account,
                    to: &recipient.email,
                    subject: &format!("We changed our {title}"),
                    body: format!(
                        "We made a change to our {title} that matters for you (version {version}):\n\n  {summary}\n\nRead it here:\n\n{link}\n\nThe next time you sign in, Custodian asks you to review it."
                    ),
                },
                new.published_at,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(version)
}

/// The version of `document` in force.
pub async fn current_version(conn: &mut PgConnection, document: &str) -> Result<i32, PrivacyError> {
    Ok(store::latest_version(conn, document).await?.unwrap_or(1))
}

/// Whether a link or image in a policy may point at `destination`: a web or mail address, a
/// path on this site or a place on the page. Anything else (`javascript:`, `data:`, another
/// scheme) is shown as its text alone.
fn allowed_destination(destination: &str) -> bool {
    let lower = destination.to_ascii_lowercase();
    ["https://", "http://", "mailto:", "#"]
        .iter()
        .any(|start| lower.starts_with(start))
        || crate::platform::paths::local_path(destination).is_some()
}

/// Markdown to HTML. Raw HTML in the source is shown as text, never passed through, and links
/// keep only the destinations `allowed_destination` accepts.
pub fn render(markdown: &str) -> String {
    let mut dropped = Vec::new();
    let events =
        Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES).filter_map(|event| {
            match event {
                Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
                Event::Start(Tag::Link { ref dest_url, .. } | Tag::Image { ref dest_url, .. }) => {
                    let allowed = allowed_destination(dest_url);
                    dropped.push(!allowed);
                    allowed.then_some(event)
                }
                Event::End(TagEnd::Link | TagEnd::Image) => {
                    (!dropped.pop().unwrap_or(false)).then_some(event)
                }
                other => Some(other),
            }
        });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

fn date(at: OffsetDateTime) -> String {
    at.date().to_string()
}

pub async fn page(
    pool: &PgPool,
    document: &str,
    version: Option<i32>,
) -> Result<PolicyText, PrivacyError> {
    let title = title(document)?;
    let mut conn = pool.acquire().await?;
    let latest_version = current_version(&mut conn, document).await?;
    let row = store::version(&mut conn, document, version.unwrap_or(latest_version))
        .await?
        .ok_or(PrivacyError::UnknownVersion)?;
    Ok(PolicyText {
        document: document.to_owned(),
        title: title.to_owned(),
        version: row.version,
        latest_version,
        published: date(row.published_at),
        material: row.material,
        summary: row.summary,
        html: render(&row.body),
    })
}

pub async fn history(pool: &PgPool, document: &str) -> Result<PolicyVersions, PrivacyError> {
    let title = title(document)?;
    let rows = store::versions(pool, document).await?;
    Ok(PolicyVersions {
        document: document.to_owned(),
        title: title.to_owned(),
        versions: rows
            .into_iter()
            .map(
                |(version, published_at, material, summary)| PolicyVersionRow {
                    version,
                    published: date(published_at),
                    material,
                    summary,
                },
            )
            .collect(),
    })
}

/// The newest material change of each document that the person has not acknowledged and that
/// came after they signed up.
pub async fn pending_reviews(tx: &mut TenantTx) -> Result<Vec<PolicyNotice>, PrivacyError> {
    let joined = tx.created_at().await?;
    let rows = store::unacknowledged_material(tx, joined).await?;
    Ok(rows
        .into_iter()
        .map(|(document, version, published_at, summary)| PolicyNotice {
            title: title(&document).unwrap_or("Policy").to_owned(),
            document,
            version,
            published: date(published_at),
            summary,
        })
        .collect())
}

/// Records that the person has seen `version` of `document`, with a security-log event.
pub async fn acknowledge(me: &SignedIn, document: &str, version: i32) -> Result<(), PrivacyError> {
    let title = title(document)?;
    let mut tx = me.begin_own().await?;
    let recorded = store::acknowledge(&mut tx, document, version, me.now())
        .await?
        .ok_or(PrivacyError::UnknownVersion)?;
    if recorded {
        let detail = format!("{title}, version {version}");
        me.audit(&mut tx, POLICY_ACKNOWLEDGED, &detail).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// At sign-up: the new account has seen every version in force.
pub async fn acknowledge_current(tx: &mut TenantTx, now: OffsetDateTime) -> Result<(), InfraError> {
    Ok(store::acknowledge_current(tx, now).await?)
}

/// The cookie names the cookie policy in force lists: the first column of its tables, in
/// backticks.
pub fn listed_cookie_names(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|line| line.trim().strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_a_policy_is_shown_as_text() {
        let html = render("# Title\n\n<script>alert(1)</script>\n\nA <b>bold</b> claim.");
        assert!(html.contains("<h1>Title</h1>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn the_bundled_cookie_policy_lists_the_cookies_the_code_names() {
        let newest = BUNDLED
            .iter()
            .filter(|doc| doc.document == "cookies")
            .max_by_key(|doc| doc.version)
            .map_or("", |doc| doc.body);
        let listed = listed_cookie_names(newest);
        for https in [false, true] {
            for name in [
                super::super::consent::consent_cookie(https),
                super::super::consent::theme_cookie(https),
            ] {
                assert!(
                    listed.iter().any(|l| l == name),
                    "{name} missing from {listed:?}"
                );
            }
        }
        for name in ["custodian_session", "__Host-custodian_session"] {
            assert!(
                listed.iter().any(|l| l == name),
                "{name} missing from {listed:?}"
            );
        }
    }

    #[test]
    fn links_keep_only_web_mail_and_local_destinations() {
        let html = render(
            "[web](https://example.com) [mail](mailto:x@example.com) [here](/privacy) \
             [script](javascript:alert(1)) [shout](JavaScript:alert(1)) [data](data:text/html,x) \
             [away](//evil.example) ![picture](vbscript:x)",
        );
        assert!(
            html.contains("<a href=\"https://example.com\">web</a>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"mailto:x@example.com\">mail</a>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"/privacy\">here</a>"), "{html}");
        for gone in [
            "javascript",
            "JavaScript",
            "data:",
            "//evil",
            "vbscript",
            "<img",
        ] {
            assert!(!html.contains(gone), "{gone} in {html}");
        }
        // The refused links keep their text, without a link.
        for text in ["script", "shout", "data", "away", "picture"] {
            assert!(html.contains(&format!(" {text}")), "{text} in {html}");
            assert!(!html.contains(&format!(">{text}</a>")), "{text} in {html}");
        }
    }
}
