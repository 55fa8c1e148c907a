//! Data regions (promise P11): a tenant's rows live only in its region's database, the
//! directory holds routing alone, and a region that is down fails closed.

use app::platform::{
    db::TenantTx,
    region::{Region, Tenant},
};
use axum::http::StatusCode;
use sqlx::PgPool;

use crate::support::{
    browser::Browser,
    regions::{cells, rows_mentioning, with_directory_down, with_region_down},
    PASSWORD,
};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// Signs `email` in through the site and returns the browser.
async fn signed_in(app: &axum::Router, email: &str) -> Browser {
    let mut browser = Browser::default();
    let password = PASSWORD.replace(' ', "+");
    let body = format!("email={}&password={password}", email.replace('@', "%40"));
    let (response, _) = browser.post(app, "/api/signin", &body).await;
    assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
    browser
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn an_eu_tenant_leaves_nothing_outside_its_region_but_its_route(directory: PgPool) {
    let w = cells(directory).await;
    let ada = w.join(ADA, Region::EuWest).await;
    let app = w.router();
    let mut browser = signed_in(&app, ADA).await;
    let (page, _) = browser.page(&app, "/account").await;
    assert_eq!(page.status(), StatusCode::OK);
    let (_, sessions) = browser.page(&app, "/security/sessions").await;
    assert!(sessions.contains("This device"), "{sessions}");
    let (saved, _) = browser
        .post(
            &app,
            "/api/privacy/consent",
            "choice=reject&method=settings",
        )
        .await;
    assert!(saved.status().is_redirection() || saved.status().is_success());

    let ada = ada.to_string();
    for needle in [ada.as_str(), ADA] {
        assert_eq!(rows_mentioning(&w.us, needle).await, Vec::<String>::new());
        assert!(!rows_mentioning(&w.eu, needle).await.is_empty());
    }
    // The directory knows the tenant's id and region, never the address.
    assert_eq!(
        rows_mentioning(&w.directory, &ada).await,
        vec!["public.address_routes: 1".to_owned()]
    );
    assert_eq!(
        rows_mentioning(&w.directory, ADA).await,
        Vec::<String>::new()
    );
    assert_eq!(
        rows_mentioning(&w.directory, "example.com").await,
        Vec::<String>::new()
    );
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn tenants_of_two_regions_cannot_reach_each_other(directory: PgPool) {
    let w = cells(directory).await;
    let ada = w.join(ADA, Region::EuWest).await;
    let bob = w.join(BOB, Region::UsEast).await;
    let regions = &w.app.state.regions;
    for (owner, wrong) in [(ada, Region::UsEast), (bob, Region::EuWest)] {
        // A transaction routed to the wrong region finds no account: the rows are not there.
        let mut tx = TenantTx::begin(regions, Tenant::new(owner, wrong))
            .await
            .unwrap();
        let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(accounts, 0);
    }
    let mut tx = TenantTx::begin(regions, Tenant::new(bob, Region::UsEast))
        .await
        .unwrap();
    let others: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE owner_id = $1")
        .bind(ada)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(others, 0);
    tx.commit().await.unwrap();

    // A session cookie names its region; the same id with the other region's tag is no one.
    let app = w.router();
    let mut browser = signed_in(&app, ADA).await;
    let cookie = browser
        .jar
        .iter_mut()
        .find(|(name, _)| name == "custodian_session")
        .unwrap();
    let id: tower_sessions::session::Id = cookie.1.parse().unwrap();
    assert_eq!(id.0 & 0xff, i128::from(Region::EuWest.tag()));
    cookie.1 =
        tower_sessions::session::Id((id.0 & !0xff) | i128::from(Region::UsEast.tag())).to_string();
    let (page, _) = browser.page(&app, "/account").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "signed out: {page:?}");
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn a_region_that_is_down_fails_closed_and_the_other_goes_on(directory: PgPool) {
    let mut w = cells(directory).await;
    w.join(ADA, Region::EuWest).await;
    w.join(BOB, Region::UsEast).await;
    let app = w.router();
    let mut ada = signed_in(&app, ADA).await;
    let mut bob = signed_in(&app, BOB).await;

    // EU-West's database stops answering (its pool now points at a closed port).
    w.app.state.regions = with_region_down(&w.app.state.regions, Region::EuWest);
    let app = w.router();

    let (page, body) = ada.page(&app, "/account").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("Your data region is unavailable"), "{body}");
    let (page, body) = bob.page(&app, "/account").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(body.contains(BOB));

    // Signing in to an EU account is refused, never served from US-East.
    let mut stranger = Browser::default();
    let password = PASSWORD.replace(' ', "+");
    let (response, _) = stranger
        .post(
            &app,
            "/api/signin",
            &format!("email=ada%40example.com&password={password}"),
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.contains("__err"), "refused: {location}");
    assert!(!stranger.has("custodian_session"), "no session was made");
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn one_address_gets_one_account_across_regions_even_all_at_once(directory: PgPool) {
    let w = cells(directory).await;
    let mut attempts = Vec::new();
    for i in 0..8 {
        let region = if i % 2 == 0 {
            Region::UsEast
        } else {
            Region::EuWest
        };
        let mut sign_up = w.app.sign_up_as(ADA, w.invite().await);
        sign_up.region = region;
        let visitor = w.app.visitor();
        attempts.push(tokio::spawn(async move {
            app::auth::service::accounts::sign_up(&visitor, sign_up).await
        }));
    }
    let mut created = 0;
    for attempt in attempts {
        if attempt.await.unwrap().unwrap().is_some() {
            created += 1;
        }
    }
    assert_eq!(created, 1, "exactly one sign-up made an account");
    let mut accounts = 0;
    for owner in [&w.us, &w.eu] {
        let here: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE email = $1")
            .bind(ADA)
            .fetch_one(owner)
            .await
            .unwrap();
        accounts += here;
    }
    assert_eq!(accounts, 1);
    let routes: i64 = sqlx::query_scalar("SELECT count(*) FROM address_routes")
        .fetch_one(&w.directory)
        .await
        .unwrap();
    assert_eq!(routes, 1);
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn an_invite_from_another_region_is_spent_there_and_learns_no_address(directory: PgPool) {
    let w = cells(directory).await;
    let bob = w.join(BOB, Region::UsEast).await;
    let me = w.app.signed_in_as(BOB).await;
    let (link, _) = app::account::service::create_invite(&me).await.unwrap();
    let link = url::Url::parse(&link).unwrap();
    let query = |key: &str| {
        link.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    // The link presets the inviter's region; the person may choose another.
    assert_eq!(query("region").as_deref(), Some("us-east"));
    let code = query("invite").unwrap();

    let mut sign_up = w.app.sign_up_as(ADA, code.clone());
    sign_up.region = Region::EuWest;
    let ada = app::auth::service::accounts::sign_up(&w.app.visitor(), sign_up)
        .await
        .unwrap()
        .expect("an account");
    let used: (Option<String>, bool) = sqlx::query_as(
        "SELECT used_by_email, used_at IS NOT NULL FROM invites WHERE invited_by = $1",
    )
    .bind(bob)
    .fetch_one(&w.us)
    .await
    .unwrap();
    assert_eq!(used, (Some("someone in EU-West".to_owned()), true));
    assert_eq!(rows_mentioning(&w.us, ADA).await, Vec::<String>::new());
    assert_eq!(
        rows_mentioning(&w.us, &ada.to_string()).await,
        Vec::<String>::new()
    );
    assert!(w
        .app
        .kinds(bob)
        .await
        .contains(&"invite_used:by someone in EU-West".to_owned()));

    // Spent once: a second sign-up with it is refused, wherever it asks to live.
    for region in Region::ALL {
        let mut again = w.app.sign_up_as("cy@example.com", code.clone());
        again.region = region;
        let refused = app::auth::service::accounts::sign_up(&w.app.visitor(), again).await;
        assert!(refused.is_err());
    }
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn a_sign_up_its_region_cannot_take_leaves_the_address_free(directory: PgPool) {
    let mut w = cells(directory).await;
    let live = w.app.state.regions.clone();
    w.app.state.regions = with_region_down(&live, Region::EuWest);
    let mut sign_up = w.app.sign_up_as(ADA, w.invite().await);
    sign_up.region = Region::EuWest;
    assert!(
        app::auth::service::accounts::sign_up(&w.app.visitor(), sign_up)
            .await
            .is_err()
    );
    let routes: i64 = sqlx::query_scalar("SELECT count(*) FROM address_routes")
        .fetch_one(&w.directory)
        .await
        .unwrap();
    assert_eq!(routes, 0, "the claim was released");

    w.app.state.regions = live;
    w.join(ADA, Region::EuWest).await;
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn a_browsers_consent_follows_it_into_its_accounts_region(directory: PgPool) {
    let w = cells(directory).await;
    let app = w.router();
    let mut browser = Browser::default();
    browser.page(&app, "/").await;
    let (saved, _) = browser
        .post(&app, "/api/privacy/consent", "choice=reject&method=banner")
        .await;
    assert!(saved.status().is_redirection(), "{saved:?}");
    let kept = |owner: &PgPool| {
        let owner = owner.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM anonymous_consents")
                .fetch_one(&owner)
                .await
                .unwrap()
        }
    };
    assert_eq!((kept(&w.us).await, kept(&w.eu).await), (1, 0));

    // Signing up and in with EU-West brings the browser's record there and takes it out of
    // US-East; the history says where it came from.
    browser.join_as_ada(&app, &w.us, false).await;
    assert_eq!((kept(&w.us).await, kept(&w.eu).await), (0, 1));
    let moved: Option<String> = sqlx::query_scalar("SELECT moved_from FROM anonymous_consents")
        .fetch_one(&w.eu)
        .await
        .unwrap();
    assert_eq!(moved.as_deref(), Some("us-east"));
    let (_, privacy) = browser.page(&app, "/privacy").await;
    assert!(
        privacy.contains("Cookie banner (moved here from US-East)"),
        "{privacy}"
    );
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn the_residency_attestation_names_the_region_and_fails_when_edited(directory: PgPool) {
    use app::privacy::{model::ReceiptVerdict, service::receipts};

    let w = cells(directory).await;
    w.join(ADA, Region::EuWest).await;
    let app = w.router();
    let mut browser = signed_in(&app, ADA).await;
    let (account, page) = browser.page(&app, "/account").await;
    assert_eq!(account.status(), StatusCode::OK);
    assert!(page.contains("Your data region: EU-West"), "{page}");
    let (_, privacy) = browser.page(&app, "/privacy").await;
    assert!(
        privacy.contains("Only in your region, EU-West"),
        "{privacy}"
    );

    let (download, text) = browser.page(&app, "/account/residency-attestation").await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let eu_database: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&w.eu)
        .await
        .unwrap();
    match receipts::verify(&w.app.state, &text) {
        ReceiptVerdict::Residency {
            region,
            database,
            key_id,
            ..
        } => {
            assert_eq!(region, "EU-West");
            assert!(database.starts_with(&eu_database), "{database}");
            let kek = &w.app.state.key_encryption_key;
            assert_eq!(key_id, kek.region_key_id(Region::EuWest));
            assert_ne!(key_id, kek.region_key_id(Region::UsEast));
        }
        other => panic!("not verified: {other:?}"),
    }
    let edited = text.replace("eu-west", "us-east");
    assert_eq!(
        receipts::verify(&w.app.state, &edited),
        ReceiptVerdict::Tampered
    );

    // Signed out, there is nothing to download.
    let (anonymous, _) = Browser::default()
        .page(&app, "/account/residency-attestation")
        .await;
    assert!(anonymous.status().is_redirection());
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn a_data_key_copied_into_another_region_does_not_open_there(directory: PgPool) {
    use app::platform::crypto::{self, Purpose};

    let w = cells(directory).await;
    let ada = w.join(ADA, Region::EuWest).await;
    let kek = w.app.state.key_encryption_key.clone();
    let regions = &w.app.state.regions;
    let now = app::platform::clock::Clock::now(&w.app.clock);
    let mut tx = TenantTx::begin(regions, Tenant::new(ada, Region::EuWest))
        .await
        .unwrap();
    crypto::seal(&mut tx, &kek, Purpose::TotpSecret, b"secret", now)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Someone copies the tenant and its wrapped key into US-East's database.
    let (region, wrapped): (String, Vec<u8>) = sqlx::query_as(
        "SELECT t.region, k.wrapped_key FROM tenants t JOIN data_keys k USING (owner_id) \
         WHERE owner_id = $1",
    )
    .bind(ada)
    .fetch_one(&w.eu)
    .await
    .unwrap();
    sqlx::query("INSERT INTO tenants (owner_id, region) VALUES ($1, $2)")
        .bind(ada)
        .bind(region)
        .execute(&w.us)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO data_keys (owner_id, version, wrapped_key, created_at) VALUES ($1, 1, $2, now())",
    )
    .bind(ada)
    .bind(wrapped)
    .execute(&w.us)
    .await
    .unwrap();
    let mut tx = TenantTx::begin(regions, Tenant::new(ada, Region::UsEast))
        .await
        .unwrap();
    let sealed = crypto::seal(&mut tx, &kek, Purpose::TotpSecret, b"secret", now).await;
    assert!(
        sealed.is_err(),
        "US-East's key must not open EU-West's data key"
    );
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn the_tenant_isolation_checks_hold_in_each_regions_database(directory: PgPool) {
    use crate::tenant_isolation::{every_table_is_protected, no_tenant_reaches_another};

    let w = cells(directory).await;
    for owner in [&w.us, &w.eu] {
        every_table_is_protected(owner).await;
        no_tenant_reaches_another(owner).await;
    }
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn health_says_which_region_is_down_and_fails_only_without_the_shared_ones(
    directory: PgPool,
) {
    let mut w = cells(directory).await;
    let health = |app: axum::Router| async move {
        let request = axum::http::Request::get("/healthz")
            .body(axum::body::Body::empty())
            .unwrap();
        let (response, body) = crate::support::send(&app, request).await;
        (response.status(), body)
    };
    assert_eq!(health(w.router()).await, (StatusCode::OK, "ok".to_owned()));

    let live = w.app.state.regions.clone();
    w.app.state.regions = with_region_down(&live, Region::EuWest);
    assert_eq!(
        health(w.router()).await,
        (StatusCode::OK, "degraded: EU-West unavailable".to_owned())
    );
    w.app.state.regions = with_region_down(&live, Region::UsEast);
    assert_eq!(health(w.router()).await.0, StatusCode::SERVICE_UNAVAILABLE);
    w.app.state.regions = with_directory_down(&live);
    assert_eq!(
        health(w.router()).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "directory unavailable".to_owned()
        )
    );
}
