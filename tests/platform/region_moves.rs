//! Moving a tenant between regions (promise P11): copied, verified, switched and purged, and
//! an interrupted move finished by running the command again.

use app::{
    mfa::service::enrolment,
    platform::region::Region,
    signin::service::{password_step, second_step, SignInError},
};
use custodian::cli::{
    tenant::{move_tenant, move_tenant_until, StopAfter, Whom},
    CliError,
};
use sqlx::PgPool;
use time::Duration;

use crate::support::{
    regions::{cells, rows_mentioning, Cells},
    PASSWORD,
};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// Ada in US-East with the authenticator app on; the phone that holds its secret.
async fn ada_with_totp(w: &Cells) -> (app::platform::ids::OwnerId, totp_rs::TOTP) {
    let ada = w.join(ADA, Region::UsEast).await;
    enrolment::start_totp(&w.app.as_owner(ada)).await.unwrap();
    let phone = w.app.phone(ada).await;
    enrolment::confirm_totp(&w.app.as_owner(ada), &w.app.code(&phone, 0))
        .await
        .unwrap();
    w.app.clock.advance(Duration::seconds(30));
    (ada, phone)
}

/// Signs in with the password and the authenticator code, through the services.
async fn sign_in_with_totp(w: &Cells, phone: &totp_rs::TOTP) -> Result<(), SignInError> {
    let session = w.app.session();
    password_step::sign_in(&w.app.visitor_on(&session), ADA, PASSWORD, false).await?;
    w.app.clock.advance(Duration::seconds(30));
    second_step::totp_sign_in(&w.app.visitor_on(&session), &w.app.code(phone, 0)).await
}

async fn region_in_directory(w: &Cells, owner: app::platform::ids::OwnerId) -> (String, i64) {
    sqlx::query_as(
        "SELECT region, (SELECT count(*) FROM tenant_moves) FROM address_routes WHERE tenant_id = $1",
    )
    .bind(owner)
    .fetch_one(&w.directory)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn a_move_copies_verifies_switches_and_purges_the_source(directory: PgPool) {
    let w = cells(directory).await;
    let (ada, phone) = ada_with_totp(&w).await;
    let bob = w.join(BOB, Region::UsEast).await;
    let events_before = w.app.kinds(ada).await.len();

    move_tenant(
        &w.settings(),
        Whom::Email(" ADA@example.com ".to_owned()),
        Region::EuWest,
    )
    .await
    .unwrap();

    let ada_id = ada.to_string();
    for needle in [ada_id.as_str(), ADA] {
        assert_eq!(
            rows_mentioning(&w.us, needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    assert_eq!(
        region_in_directory(&w, ada).await,
        ("eu-west".to_owned(), 0)
    );
    assert_eq!(
        region_in_directory(&w, bob).await.0,
        "us-east",
        "others stay"
    );
    // Her sealed authenticator secret opens in EU-West: the data key moved, re-wrapped.
    sign_in_with_totp(&w, &phone).await.unwrap();
    // The security log came along, still verifies, and says what happened.
    let mut tx = app::platform::db::TenantTx::begin(
        &w.app.state.regions,
        app::platform::region::Tenant::new(ada, Region::EuWest),
    )
    .await
    .unwrap();
    let log = app::platform::audit::page(&mut tx, None, None, 100)
        .await
        .unwrap();
    assert!(log.len() > events_before);
    assert!(log
        .iter()
        .any(|e| e.kind == "region_moved" && e.detail == "from US-East to EU-West"));
    assert!(
        app::platform::audit::verify(&mut tx, &w.app.state.key_encryption_key)
            .await
            .unwrap()
            .is_ok()
    );
    drop(tx);
    let receipt: String = sqlx::query_scalar(
        "SELECT body FROM mail_outbox WHERE subject = 'Your data moved to another region'",
    )
    .fetch_one(&w.eu)
    .await
    .unwrap();
    assert!(receipt.contains("\"to\": \"eu-west\""), "{receipt}");

    // Moving again to where it is now is refused, and so is an unknown address.
    assert!(matches!(
        move_tenant(&w.settings(), Whom::Email(ADA.to_owned()), Region::EuWest).await,
        Err(CliError::AlreadyInRegion(_))
    ));
    assert!(matches!(
        move_tenant(
            &w.settings(),
            Whom::Email("nobody@example.com".to_owned()),
            Region::EuWest
        )
        .await,
        Err(CliError::NoSuchAccount(_))
    ));
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn a_move_killed_after_the_copy_is_frozen_in_the_source_and_finished_by_a_rerun(
    directory: PgPool,
) {
    let w = cells(directory).await;
    let (ada, phone) = ada_with_totp(&w).await;
    move_tenant_until(
        &w.settings(),
        Whom::Tenant(ada),
        Region::EuWest,
        StopAfter::Copy,
    )
    .await
    .unwrap();
    // Killed here: the route still names US-East, which holds everything; the tenant is frozen.
    assert_eq!(
        region_in_directory(&w, ada).await,
        ("us-east".to_owned(), 1)
    );
    assert!(!rows_mentioning(&w.us, &ada.to_string()).await.is_empty());
    // Frozen: its address answers sign-in as an unknown one would (nothing to enumerate).
    assert!(matches!(
        sign_in_with_totp(&w, &phone).await,
        Err(SignInError::BadCredentials)
    ));

    // Asking for another target while this move is under way is refused.
    assert!(matches!(
        move_tenant(&w.settings(), Whom::Tenant(ada), Region::UsEast).await,
        Err(CliError::MoveUnderWay(_))
    ));
    move_tenant(&w.settings(), Whom::Tenant(ada), Region::EuWest)
        .await
        .unwrap();
    assert_eq!(
        region_in_directory(&w, ada).await,
        ("eu-west".to_owned(), 0)
    );
    assert_eq!(
        rows_mentioning(&w.us, &ada.to_string()).await,
        Vec::<String>::new()
    );
    let receipts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE subject = 'Your data moved to another region'",
    )
    .fetch_one(&w.eu)
    .await
    .unwrap();
    assert_eq!(receipts, 1, "exactly one copy, one receipt");
    sign_in_with_totp(&w, &phone).await.unwrap();
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn a_move_killed_after_the_switch_lives_in_the_target_and_a_rerun_purges_the_source(
    directory: PgPool,
) {
    let w = cells(directory).await;
    let (ada, phone) = ada_with_totp(&w).await;
    move_tenant_until(
        &w.settings(),
        Whom::Tenant(ada),
        Region::EuWest,
        StopAfter::Switch,
    )
    .await
    .unwrap();
    assert_eq!(
        region_in_directory(&w, ada).await,
        ("eu-west".to_owned(), 1)
    );
    move_tenant(&w.settings(), Whom::Tenant(ada), Region::EuWest)
        .await
        .unwrap();
    assert_eq!(
        region_in_directory(&w, ada).await,
        ("eu-west".to_owned(), 0)
    );
    assert_eq!(
        rows_mentioning(&w.us, &ada.to_string()).await,
        Vec::<String>::new()
    );
    sign_in_with_totp(&w, &phone).await.unwrap();
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn a_move_request_is_checked_listed_for_the_operator_and_settled_by_the_move(
    directory: PgPool,
) {
    use app::{
        account::service::{request_region_move, AccountError},
        platform::directory,
    };

    let w = cells(directory).await;
    let ada = w.join(ADA, Region::UsEast).await;
    let me = w.app.as_owner(ada);
    assert!(matches!(
        request_region_move(&me, "us-east").await,
        Err(AccountError::SameRegion)
    ));
    for junk in ["mars", "", "EU-West", "eu-west'; --"] {
        assert!(matches!(
            request_region_move(&me, junk).await,
            Err(AccountError::NotARegion)
        ));
    }
    request_region_move(&me, "eu-west").await.unwrap();
    request_region_move(&me, "eu-west").await.unwrap();
    let requests = directory::move_requests(w.app.state.regions.directory())
        .await
        .unwrap();
    assert_eq!(requests.len(), 1, "one request per account");
    assert_eq!((requests[0].0, requests[0].1), (ada, Region::EuWest));
    assert!(w
        .app
        .kinds(ada)
        .await
        .contains(&"region_move_requested:to EU-West".to_owned()));

    move_tenant(&w.settings(), Whom::Tenant(requests[0].0), requests[0].1)
        .await
        .unwrap();
    assert!(directory::move_requests(w.app.state.regions.directory())
        .await
        .unwrap()
        .is_empty());
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn two_runs_at_once_make_one_move_and_lose_nothing(directory: PgPool) {
    let w = cells(directory).await;
    let (ada, phone) = ada_with_totp(&w).await;
    let settings = w.settings();
    let (first, second) = tokio::join!(
        move_tenant(&settings, Whom::Tenant(ada), Region::EuWest),
        move_tenant(&settings, Whom::Tenant(ada), Region::EuWest),
    );
    let outcomes = [first, second];
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Err(CliError::MoveRunning | CliError::AlreadyInRegion(_)))));
    assert_eq!(
        region_in_directory(&w, ada).await,
        ("eu-west".to_owned(), 0)
    );
    assert_eq!(
        rows_mentioning(&w.us, &ada.to_string()).await,
        Vec::<String>::new()
    );
    sign_in_with_totp(&w, &phone).await.unwrap();
}

#[sqlx::test(migrator = "app::platform::db::MIGRATOR")]
async fn regions_configured_onto_one_database_refuse_a_move_and_keep_the_data(directory: PgPool) {
    let w = cells(directory).await;
    let (ada, phone) = ada_with_totp(&w).await;
    let us = w.settings().region_urls().unwrap()[0].1.clone();
    let mut settings = w.settings();
    // The same database under two names: the URL differs, the database does not.
    settings.region_database_urls = Some(format!(
        "us-east={us},eu-west={}",
        us.replace("127.0.0.1", "localhost")
    ));
    assert!(matches!(
        move_tenant(&settings, Whom::Tenant(ada), Region::EuWest).await,
        Err(CliError::SameDatabase)
    ));
    assert_eq!(
        region_in_directory(&w, ada).await,
        ("us-east".to_owned(), 0)
    );
    sign_in_with_totp(&w, &phone).await.unwrap();
}
