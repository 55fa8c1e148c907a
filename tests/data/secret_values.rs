//! Promise P9's "never shown, never logged": a recognisable secret value goes through every path
//! (added and replaced through the site's forms, used through egress in a header and in the
//! query, a host that repeats it or redirects with it or hangs, an export, the account's deletion) with every log at TRACE, and then appears nowhere: not in the
//! logs, the security log, any mail, the export's files, any page, or any row in clear.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration as StdDuration,
};

use app::{
    apps::service as apps,
    data::service::deletion,
    platform::{
        db::MIGRATOR,
        outbound::{Outbound, OutboundSettings},
    },
};
use axum::{body::Body, http::Request};
use sqlx::PgPool;
use time::Duration;

use crate::{
    archive_path, exported,
    support::{browser::Browser, send, tenant_tables, test_app, upstream, PASSWORD},
    unzip, Worker,
};

const ADA: &str = "ada@example.com";
const FIRST: &str = "sk-first-91c0ffee-RECOGNISABLE-0001";
const SECOND: &str = "sk-second-5ca1ab1e-RECOGNISABLE-0002";

/// Where every log line of this test process goes, at TRACE, the `log` crate's included.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test process");
    captured
}

fn holds_a_value(text: &str) -> bool {
    text.contains(FIRST) || text.contains(SECOND) || text.contains("RECOGNISABLE")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_secret_value_appears_nowhere_but_at_its_host(owner: PgPool) {
    let logs = capture_logs();
    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    w.state.outbound = Outbound::new(&OutboundSettings {
        allow_private: true,
        extra_ca_file: Some(upstream.ca_file.clone()),
        timeout: StdDuration::from_secs(1),
    })
    .unwrap();
    let ada = w.sign_up(ADA).await;
    let app = apps::create(
        &w.as_owner(ada),
        apps::Details::parse("My app", "").unwrap(),
        apps::Start::Starter,
    )
    .await
    .unwrap();
    let router = w.router();
    let mut browser = Browser::default();
    let password = PASSWORD.replace(' ', "+");
    let (signed_in, _) = browser
        .post(
            &router,
            "/api/signin",
            &format!("email=ada%40example.com&password={password}"),
        )
        .await;
    assert!(signed_in.status().is_redirection(), "{signed_in:?}");

    // Added and replaced through the site's own forms.
    let hosts = upstream.origin.replace(':', "%3A").replace('/', "%2F");
    let form = format!(
        "id={app}&name=API_KEY&value={FIRST}&hosts={hosts}&placement=bearer&placement_name="
    );
    let (added, body) = browser.post(&router, "/api/apps/secrets/add", &form).await;
    assert!(added.status().is_redirection(), "{added:?} {body}");
    let form = format!("id={app}&name=API_KEY&value={SECOND}");
    let (replaced, body) = browser
        .post(&router, "/api/apps/secrets/replace", &form)
        .await;
    assert!(replaced.status().is_redirection(), "{replaced:?} {body}");
    let form = format!(
        "id={app}&name=QUERY_KEY&value={SECOND}&hosts={hosts}&placement=query&placement_name=api_key"
    );
    let (added, body) = browser.post(&router, "/api/apps/secrets/add", &form).await;
    assert!(added.status().is_redirection(), "{added:?} {body}");
    let refused = format!("id={app}&name=API_KEY&value={FIRST}%0A{FIRST}");
    let (_, body) = browser
        .post(&router, "/api/apps/secrets/replace", &refused)
        .await;
    assert!(!holds_a_value(&body), "a refusal repeats nothing: {body}");

    // Used, once well and once against a host that hangs.
    let frame = apps::frame(&w.as_owner(ada), app).await.unwrap();
    let mut answers = String::new();
    // In a header, in the query (whose address a redirect would repeat), and to a host that
    // hangs.
    for path in [
        "_egress/API_KEY/ok",
        "_egress/QUERY_KEY/ok?page=1",
        "_egress/QUERY_KEY/redirect?page=2",
        "_egress/API_KEY/echo-auth",
        "_egress/API_KEY/hang",
    ] {
        let url = url::Url::parse(&format!("{frame}{path}")).unwrap();
        let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let request = Request::get(target)
            .header(
                "host",
                format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()),
            )
            .body(Body::empty())
            .unwrap();
        let (response, body) = send(&router, request).await;
        answers.push_str(&format!("{response:?}\n{body}\n"));
    }
    let seen = upstream.seen();
    assert_eq!(
        seen[0].headers["authorization"],
        format!("Bearer {SECOND}").as_str(),
        "the host received the current value"
    );
    assert!(
        seen[1].target.contains("RECOGNISABLE"),
        "the query carried the value"
    );

    let mut pages = answers;
    for page in [
        format!("/apps/{app}"),
        "/security".to_owned(),
        "/data".to_owned(),
    ] {
        let (response, body) = browser.page(&router, &page).await;
        assert!(response.status().is_success(), "{page}: {response:?}");
        pages.push_str(&body);
    }
    assert!(
        pages.contains("API_KEY") && pages.contains("0002"),
        "the page lists the secret"
    );

    let archive = exported(&w, ada).await;
    let files = unzip(&archive_path(&w, ada, archive));
    assert!(files.contains_key("apps/secrets.json"));
    for (name, bytes) in &files {
        assert!(
            !holds_a_value(&String::from_utf8_lossy(bytes)),
            "the export's {name}"
        );
    }

    let mut rows = String::new();
    let mut tables = tenant_tables(&w.owner).await;
    tables.extend(["jobs".to_owned(), "mail_outbox".to_owned()]);
    for table in tables {
        let text: Option<String> = sqlx::query_scalar(&format!(
            "SELECT string_agg(to_jsonb(t)::text, '\n') FROM {table} t"
        ))
        .fetch_one(&w.owner)
        .await
        .unwrap();
        rows.push_str(&text.unwrap_or_default());
    }
    assert!(rows.contains("API_KEY"), "the rows were read");
    assert!(!holds_a_value(&rows), "no row holds a value in clear");

    deletion::request(&w.as_owner(ada), ADA).await.unwrap();
    w.clock.advance(Duration::days(30));
    let worker = Worker::new(&w);
    worker.run().await;
    let mail = format!(
        "{}\n{}",
        worker.delivered(),
        w.mail_to(ADA).await.join("\n")
    );
    assert!(!mail.is_empty());
    assert!(!holds_a_value(&mail), "no mail holds a value");

    let logged = logs.text();
    assert!(
        logged.contains("egress could not reach the host"),
        "the logs were captured at TRACE"
    );
    assert!(!holds_a_value(&logged), "no log line holds a value");
}
