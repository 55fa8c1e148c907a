//! One strict redirect rule (issue 11 finding 2): no `next` or `back` leads to another site, and
//! none makes the server fail after the action committed.

use app::platform::db::MIGRATOR;
use axum::http::StatusCode;
use sqlx::PgPool;

use crate::support::{browser, browser::Browser, header, test_app, PASSWORD};

/// What a person might be sent back to: tricks that browsers resolve to another site, and
/// values no HTTP header may carry.
const TRICKS: [&str; 14] = [
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0D%0ASet-Cookie:%20x=1",
    "//evil.example",
    "///evil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/%C3%A9t%C3%A9",
    "/%00",
    "%20/evil.example",
    "/account%0A",
    "/%E2%80%A8",
];

/// A Location a browser follows to this site only.
fn stays_here(location: &str) -> bool {
    location.starts_with('/')
        && !location.starts_with("//")
        && location.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn no_return_path_leads_off_the_site_or_breaks_the_answer(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let app = browser::router(&w.state);
    let password = PASSWORD.replace(' ', "+");

    for trick in TRICKS {
        // After a sign-in that succeeded.
        let mut person = Browser::default();
        let (response, _) = person
            .post(
                &app,
                "/api/signin",
                &format!("email=ada%40example.com&password={password}&next={trick}"),
            )
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{trick}");
        let location = header(&response, "location");
        assert!(
            stays_here(location),
            "sign-in with next={trick} went to {location:?}"
        );

        // After a consent choice, a theme and a policy acknowledgment.
        for (path, body) in [
            ("/api/privacy/consent", "choice=reject&method=banner"),
            ("/api/privacy/theme", "theme=dark"),
            ("/api/policies/acknowledge", "document=terms&version=1"),
        ] {
            let (response, _) = person
                .post(&app, path, &format!("{body}&back={trick}"))
                .await;
            assert!(
                response.status().is_redirection(),
                "{path} back={trick}: {}",
                response.status()
            );
            let location = header(&response, "location");
            assert!(
                stays_here(location),
                "{path} back={trick} went to {location:?}"
            );
        }
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_second_step_returns_only_to_this_site(owner: PgPool) {
    let w = test_app(owner).await;
    let (_, phone, _) = w.with_totp("eve@example.com").await;
    let app = browser::router(&w.state);
    for trick in ["/%09/evil.example", "/%0D%0Ax", "//evil.example"] {
        let mut person = Browser::default();
        let next = person.sign_in(&app, "eve@example.com", false).await;
        assert!(next.starts_with("/signin/verify"), "{next}");
        w.clock.advance(time::Duration::seconds(30));
        let (response, _) = person
            .post(
                &app,
                "/api/mfa/verify-code",
                &format!("code={}&next={trick}", w.code(&phone, 0)),
            )
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{trick}");
        let location = header(&response, "location");
        assert_eq!(location, "/account", "next={trick}");
    }
}
