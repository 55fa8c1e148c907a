//! A browser's consent records belong to whoever made them (issue 11 finding 9): the consent id
//! changes at every sign-in and sign-out, sign-out clears what the browser kept, and over https
//! the consent and theme cookies are bound to the site with the `__Host-` prefix.

use app::{platform::db::MIGRATOR, privacy::service::ledger};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{
    browser::{self, Browser},
    header, test_app, test_app_at,
};

fn consent_id(browser: &Browser) -> Option<Uuid> {
    browser
        .jar
        .iter()
        .find(|(k, _)| k == "custodian_consent")
        .and_then(|(_, v)| v.split('.').next())
        .and_then(|id| id.parse().ok())
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_shared_browser_links_each_persons_choices_to_them_alone(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let bob = w.sign_up("bob@example.com").await;
    let app = browser::router(&w.state);
    let mut shared = Browser::default();

    // Ada chooses on the shared browser, then signs in: her choice joins her history, and the
    // browser gets a new consent id (the choice stays).
    shared
        .post(&app, "/api/privacy/consent", "choice=reject&method=banner")
        .await;
    let before_ada = consent_id(&shared).unwrap();
    shared.sign_in(&app, "ada@example.com", false).await;
    let during_ada = consent_id(&shared).unwrap();
    assert_ne!(before_ada, during_ada, "signing in changes the consent id");

    // Signing out clears the browser: the cookies go, and the header asks the browser to drop
    // whatever else the site kept.
    let (response, _) = shared.post(&app, "/api/signout", "").await;
    let cleared = response
        .headers()
        .get("clear-site-data")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(cleared.as_deref(), Some("\"cookies\", \"storage\""));
    assert_eq!(consent_id(&shared), None);
    assert!(shared.session_id().is_none());

    // Bob uses the same browser next.
    shared
        .post(&app, "/api/privacy/consent", "choice=accept&method=banner")
        .await;
    let before_bob = consent_id(&shared).unwrap();
    shared.sign_in(&app, "bob@example.com", false).await;

    let browsers = |owner_id| {
        let visitor = w.visitor_as(Some(owner_id), None);
        async move {
            ledger::visible_records(&visitor, None)
                .await
                .unwrap()
                .into_iter()
                .filter_map(|r| r.subject.strip_prefix("browser:").map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    let adas = browsers(ada).await;
    let bobs = browsers(bob).await;
    assert_eq!(adas, [before_ada.to_string()]);
    assert_eq!(bobs, [before_bob.to_string()]);
    assert_eq!(header(&response, "location"), "/signin?notice=signed-out");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn over_https_the_consent_and_theme_cookies_are_bound_to_the_site(owner: PgPool) {
    let w = test_app_at(owner, "https://custodian.example").await;
    let app = browser::router(&w.state);
    let mut person = Browser::default();
    let (response, _) = person
        .post(&app, "/api/privacy/consent", "choice=accept&method=banner")
        .await;
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let consent = cookies
        .iter()
        .find(|c| c.starts_with("__Host-custodian_consent="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    let (response, _) = person.post(&app, "/api/privacy/theme", "theme=dark").await;
    let theme = header(&response, "set-cookie").to_owned();
    assert!(theme.starts_with("__Host-custodian_theme=dark"), "{theme}");
    for cookie in [consent.as_str(), theme.as_str()] {
        for flag in ["Secure", "Path=/", "HttpOnly"] {
            assert!(cookie.contains(flag), "{flag}: {cookie}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
}
