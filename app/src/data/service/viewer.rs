//! `README.html`: the archive's offline viewer. One self-contained file with no script and no
//! request of any kind (its content security policy forbids them), readable when opened from
//! the unzipped folder: what the archive holds, each file's records as a table, what is not
//! included and why, and how to check the archive is genuine.

use std::fmt::Write as _;

use serde_json::Value;
use time::OffsetDateTime;

use super::archive::VIEWER_ROWS;
use crate::platform::{clock::to_minute, portable::RecordKind};

/// One kind of record as the viewer shows it: the first records and how many there are.
pub struct Section {
    pub kind: &'static RecordKind,
    pub records: i64,
    pub preview: Vec<String>,
}

/// Text made safe to place in HTML, in an element or a quoted attribute.
fn escape(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => safe.push_str("&amp;"),
            '<' => safe.push_str("&lt;"),
            '>' => safe.push_str("&gt;"),
            '"' => safe.push_str("&quot;"),
            '\'' => safe.push_str("&#39;"),
            c => safe.push(c),
        }
    }
    safe
}

/// A value as a table cell reads it.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The anchor of a kind's section: its file path with letters and digits only.
fn anchor(kind: &RecordKind) -> String {
    kind.file
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#0f172a;line-height:1.5}\
table{border-collapse:collapse;margin:.5rem 0 2rem;font-size:.875rem;display:block;overflow-x:auto}\
th,td{border:1px solid #cbd5e1;padding:.25rem .5rem;text-align:left;vertical-align:top;max-width:32rem;overflow-wrap:anywhere}\
th{background:#eef2ff}code{background:#f1f5f9;padding:0 .25rem}.quiet{color:#475569}";

/// The whole viewer.
pub fn render(sections: &[Section], completeness: &[Value], snapshot_at: OffsetDateTime) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Your Custodian data</title><style>{STYLE}</style></head><body>\
         <h1>Your Custodian data</h1>\
         <p>A copy of everything Custodian holds about you, as it was at {}. Each kind of record \
         is a JSON file (described by the schema beside it in <code>schema/</code>); this page \
         shows them as tables, with no network and no script.</p>",
        escape(&to_minute(snapshot_at))
    );
    html.push_str("<nav aria-label=\"Files\"><h2>What is in this archive</h2><ul>");
    for section in sections {
        let _ = write!(
            html,
            "<li><a href=\"#{}\">{}</a>: {} records in <code>{}</code></li>",
            anchor(section.kind),
            escape(section.kind.title),
            section.records,
            escape(section.kind.file)
        );
    }
    html.push_str("</ul></nav>");
    for section in sections {
        render_section(&mut html, section);
    }
    render_completeness(&mut html, completeness);
    html.push_str(
        "<h2 id=\"checking\">Checking this archive</h2>\
         <p><code>manifest.json</code> lists every file with its size, record count and \
         SHA-256 (compare with <code>sha256sum</code>), and what is not included and why. \
         <code>manifest.sig</code> is an Ed25519 signature of the exact bytes of \
         <code>manifest.json</code>, made with the key the site publishes at the address the \
         manifest names: if it verifies, the files are the ones we wrote, complete.</p>\
         </body></html>\n",
    );
    html
}

fn render_section(html: &mut String, section: &Section) {
    let kind = section.kind;
    let _ = write!(
        html,
        "<section aria-labelledby=\"{id}\"><h2 id=\"{id}\">{}</h2><p>{}</p>",
        escape(kind.title),
        escape(kind.about),
        id = anchor(kind)
    );
    if section.records == 0 {
        html.push_str("<p class=\"quiet\">None.</p></section>");
        return;
    }
    if section.records > section.preview.len() as i64 {
        let _ = write!(
            html,
            "<p class=\"quiet\">The first {} of {} records; all of them are in <code>{}</code>.</p>",
            section.preview.len(),
            section.records,
            escape(kind.file)
        );
    }
    let rows: Vec<Value> = section
        .preview
        .iter()
        .filter_map(|row| serde_json::from_str(row).ok())
        .collect();
    // Columns: the declared fields, or a reshaped document's own keys.
    let columns: Vec<String> = match kind.documents {
        None => kind.fields.iter().map(|f| f.name.to_owned()).collect(),
        Some(_) => rows
            .first()
            .and_then(Value::as_object)
            .map(|first| first.keys().cloned().collect())
            .unwrap_or_default(),
    };
    let _ = write!(
        html,
        "<table><caption>{}</caption><thead><tr>",
        escape(kind.title)
    );
    for column in &columns {
        let _ = write!(html, "<th scope=\"col\">{}</th>", escape(column));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows.iter().take(VIEWER_ROWS) {
        html.push_str("<tr>");
        for column in &columns {
            let _ = write!(html, "<td>{}</td>", escape(&cell(&row[column.as_str()])));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></section>");
}

fn render_completeness(html: &mut String, completeness: &[Value]) {
    html.push_str(
        "<section aria-labelledby=\"completeness\"><h2 id=\"completeness\">What we hold, and what is here</h2>\
         <table><caption>Every kind of personal data Custodian holds</caption><thead><tr>\
         <th scope=\"col\">Data</th><th scope=\"col\">In this archive</th><th scope=\"col\">Where, or why not</th>\
         </tr></thead><tbody>",
    );
    for item in completeness {
        let included = item["status"] == "included";
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&cell(&item["data"])),
            if included { "Included" } else { "Not included" },
            escape(&cell(if included {
                &item["file"]
            } else {
                &item["because"]
            }))
        );
    }
    html.push_str("</tbody></table></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_record_is_shown_as_text_never_run() {
        let hostile = r#"<script>alert(1)</script><img src=x onerror="alert(2)">"#;
        let escaped = escape(hostile);
        assert!(!escaped.contains('<') && !escaped.contains('"'));
        assert_eq!(cell(&Value::String(hostile.to_owned())), hostile);
    }

    #[test]
    fn lists_read_as_text_and_nulls_as_a_dash() {
        assert_eq!(cell(&serde_json::json!(["functional", "analytics"])), "functional, analytics");
        assert_eq!(cell(&Value::Null), "—");
    }
}
