//! Discover (promise P10): publishing is checked, confirmed and reversible with signed
//! receipts; the gallery and a published app's origin read through the database's policy over
//! published apps alone; remixing copies files only; searches match their wildcards literally.

use app::{
    apps::{
        model::{
            LinkExpiry, MemberRole, PublishOutcome, UploadProblem, APP_PUBLISHED, APP_UNPUBLISHED,
        },
        service::{self, links, members, publish, upload, AppsError},
        store::published,
    },
    data::service::deletion,
    discover::service::{self as discover, DiscoverError, Search},
    platform::{
        db::{self, MIGRATOR},
        ids::{AppId, OwnerId},
        publication,
        signed::Unverified,
    },
};
use axum::http::StatusCode;
use sqlx::PgPool;

use crate::{
    events, file, rows, starter_app,
    support::{get, header, send, test_app, TestApp},
    ADA, BOB,
};

const CAROL: &str = "carol@example.com";

/// The author name the tests publish under: not the account's display name.
fn author() -> publish::Author {
    publish::Author::parse("Ada the maker").unwrap()
}

/// Publishes `app` of `owner` with its name typed right, expecting it to pass.
async fn publish_app(w: &TestApp, owner: OwnerId, app: AppId, remix: bool) {
    let outcome = publish::publish(&w.as_owner(owner), app, "My app", author(), remix, None).await;
    assert_eq!(outcome.unwrap(), PublishOutcome::Published);
}

/// A published app named `name`, published a minute after the last one.
async fn named_app(w: &TestApp, owner: OwnerId, name: &str) -> AppId {
    w.clock.advance(time::Duration::minutes(1));
    let app = starter_app(w, owner).await;
    let me = w.as_owner(owner);
    let details = service::Details::parse(name, "About it").unwrap();
    service::update(&me, app, details, Vec::new())
        .await
        .unwrap();
    publish::publish(&me, app, name, author(), false, None)
        .await
        .unwrap();
    app
}

async fn gallery_ids(w: &TestApp, search: &str) -> Vec<AppId> {
    discover::gallery(&w.state, &Search::parse(search).unwrap(), 1)
        .await
        .unwrap()
        .listings
        .into_iter()
        .map(|listing| listing.id)
        .collect()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn only_published_apps_of_unlocked_accounts_are_readable_without_a_tenant(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, bob, carol) = (
        w.sign_up(ADA).await,
        w.sign_up(BOB).await,
        w.sign_up(CAROL).await,
    );
    let public = starter_app(&w, ada).await;
    publish_app(&w, ada, public, false).await;
    let private = starter_app(&w, ada).await;
    let trashed = starter_app(&w, ada).await;
    publish_app(&w, ada, trashed, false).await;
    service::trash(&w.as_owner(ada), trashed).await.unwrap();
    let unpublished = starter_app(&w, ada).await;
    publish_app(&w, ada, unpublished, false).await;
    publish::unpublish(&w.as_owner(ada), unpublished)
        .await
        .unwrap();
    let locked = starter_app(&w, bob).await;
    publish_app(&w, bob, locked, false).await;
    deletion::request(&w.as_owner(bob), BOB).await.unwrap();

    assert_eq!(gallery_ids(&w, "").await, vec![public]);
    // Published, and published then trashed or unpublished: a receipt for each step.
    assert_eq!(rows(&w, "app_publications", ada).await, 5);
    // The database decides, not a filter: every row the app role reads without a tenant.
    let mut tx = db::begin_public(&w.state.pool).await.unwrap();
    let readable: Vec<AppId> = sqlx::query_scalar("SELECT id FROM apps")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(readable, vec![public]);
    let files: Vec<AppId> = sqlx::query_scalar("SELECT DISTINCT app_id FROM app_files")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(files, vec![public]);
    let receipts: i64 = sqlx::query_scalar("SELECT count(*) FROM app_publications")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(receipts, 0);
    drop(tx);
    // Another tenant reaches the same published app and nothing else of Ada's.
    let mut theirs = w.as_owner(carol).begin_own().await.unwrap();
    let seen: Vec<AppId> = sqlx::query_scalar("SELECT id FROM apps WHERE owner_id <> $1")
        .bind(carol)
        .fetch_all(&mut *theirs)
        .await
        .unwrap();
    assert_eq!(seen, vec![public]);
    drop(theirs);
    for hidden in [private, trashed, unpublished, locked] {
        assert!(matches!(
            discover::public_app(&w.state, hidden, false).await,
            Err(DiscoverError::NoSuchApp)
        ));
    }
    // Cancelling the deletion brings the app back as it was published.
    deletion::cancel(&w.as_owner(bob)).await.unwrap();
    let mut back = gallery_ids(&w, "").await;
    back.sort();
    let mut both = vec![locked, public];
    both.sort();
    assert_eq!(back, both);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_publish_check_blocks_until_the_files_are_fixed_or_a_reason_is_given(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let me = w.as_owner(ada);
    let leaky = "const a = 1;\nconst key = 'sk-proj-abcdefghijklmnopqrstuvwx';\n\
                 fetch('http://localhost:3000/account');\nconst aws = 'AKIAIOSFODNN7EXAMPLE';\n";
    upload::upload(&me, app, vec![file("app.js", leaky)])
        .await
        .unwrap();
    let blocked = publish::publish(&me, app, "My app", author(), false, None)
        .await
        .unwrap();
    let PublishOutcome::Blocked(findings) = blocked else {
        panic!("published despite the findings");
    };
    let found: Vec<(&str, usize)> = findings.iter().map(|f| (f.path.as_str(), f.line)).collect();
    assert_eq!(found, vec![("app.js", 2), ("app.js", 3), ("app.js", 4)]);
    assert!(findings.iter().all(|f| !f.what.contains("abcdefghij")));
    assert!(gallery_ids(&w, "").await.is_empty());
    assert_eq!(rows(&w, "app_publications", ada).await, 0);
    assert_eq!(events(&w, ada, APP_PUBLISHED).await, 0);

    let too_short = publish::Reason::parse("ok");
    assert!(matches!(too_short, Err(AppsError::Reason)));
    let reason = publish::Reason::parse("These are revoked test keys for the demo").unwrap();
    let outcome = publish::publish(&me, app, "My app", author(), false, reason)
        .await
        .unwrap();
    assert_eq!(outcome, PublishOutcome::Published);
    assert_eq!(gallery_ids(&w, "").await, vec![app]);
    assert_eq!(events(&w, ada, APP_PUBLISHED).await, 1);
    let detail = w.kinds(ada).await.join("\n");
    assert!(detail.contains(
        "published despite 3 finding(s) of the check, because: These are revoked test keys"
    ));
    let receipt = latest_receipt(&w, ada, app).await;
    let verified = publication::verify_receipt(&w.state.key_encryption_key, &receipt).unwrap();
    assert_eq!(
        verified.override_reason.as_deref(),
        Some("These are revoked test keys for the demo")
    );
    assert_eq!(verified.files, 3, "the starter's three, app.js replaced");

    // Once published, a change that brings a secret back is refused; a clean one is taken.
    let again = upload::upload(
        &me,
        app,
        vec![file(
            "more.js",
            "const k = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';",
        )],
    )
    .await;
    assert!(
        matches!(again, Err(AppsError::Upload(UploadProblem::Published))),
        "{again:?}"
    );
    assert_eq!(rows(&w, "app_files", ada).await, 3);
    upload::upload(&me, app, vec![file("more.js", "const k = 1;")])
        .await
        .unwrap();
    assert_eq!(rows(&w, "app_files", ada).await, 4);

    // Fixed files publish without a reason.
    let clean = starter_app(&w, ada).await;
    let outcome = publish::publish(&me, clean, "My app", author(), false, None)
        .await
        .unwrap();
    assert_eq!(outcome, PublishOutcome::Published);
}

async fn latest_receipt(w: &TestApp, owner: OwnerId, app: AppId) -> serde_json::Value {
    let mut tx = w.as_owner(owner).begin_own().await.unwrap();
    let (id, _, _) = published::receipts(&mut tx, app).await.unwrap().remove(0);
    published::receipt(&mut tx, app, id).await.unwrap().unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn publishing_needs_the_typed_name_a_live_app_with_files_and_its_owner(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, bob) = (w.sign_up(ADA).await, w.sign_up(BOB).await);
    let app = starter_app(&w, ada).await;
    let me = w.as_owner(ada);
    for typed in ["my app", "My app!", "", "Other"] {
        let refused = publish::publish(&me, app, typed, author(), false, None).await;
        assert!(matches!(refused, Err(AppsError::ConfirmName)), "{typed}");
    }
    assert!(matches!(
        publish::Author::parse(" "),
        Err(AppsError::Author)
    ));
    assert!(matches!(
        publish::Author::parse(&"a".repeat(101)),
        Err(AppsError::Author)
    ));
    let theirs = publish::publish(&w.as_owner(bob), app, "My app", author(), false, None).await;
    assert!(matches!(theirs, Err(AppsError::NoSuchApp)));
    let empty = service::create(
        &me,
        service::Details::parse("Empty", "").unwrap(),
        service::Start::Empty,
    )
    .await
    .unwrap();
    assert!(matches!(
        publish::publish(&me, empty, "Empty", author(), false, None).await,
        Err(AppsError::NothingToPublish)
    ));
    service::trash(&me, empty).await.unwrap();
    assert!(matches!(
        publish::publish(&me, empty, "Empty", author(), false, None).await,
        Err(AppsError::Trashed)
    ));
    publish_app(&w, ada, app, false).await;
    assert!(matches!(
        publish::publish(&me, app, "My app", author(), false, None).await,
        Err(AppsError::AlreadyPublished)
    ));
    assert!(matches!(
        publish::unpublish(&w.as_owner(bob), app).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(matches!(
        publish::set_remix(&w.as_owner(bob), app, true).await,
        Err(AppsError::NoSuchApp)
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unpublishing_closes_the_gallery_and_the_public_origin_at_once(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    publish_app(&w, ada, app, false).await;
    let router = w.router();
    let page = discover::public_app(&w.state, app, false).await.unwrap();
    let frame = url::Url::parse(&page.frame).unwrap();
    let host = format!("{}:{}", frame.host_str().unwrap(), frame.port().unwrap());
    let request = || {
        axum::http::Request::get(frame.path())
            .header("host", &host)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let (response, body) = send(&router, request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("Hello from your app"));

    w.clock.advance(time::Duration::minutes(1));
    publish::unpublish(&w.as_owner(ada), app).await.unwrap();
    let (response, body) = send(&router, request()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!body.contains("Hello from your app"));
    assert!(gallery_ids(&w, "").await.is_empty());
    assert_eq!(events(&w, ada, APP_UNPUBLISHED).await, 1);
    assert!(matches!(
        publish::unpublish(&w.as_owner(ada), app).await,
        Err(AppsError::NotPublished)
    ));

    // Two receipts: each verifies, and an edited one does not.
    assert_eq!(rows(&w, "app_publications", ada).await, 2);
    let withdrawal = latest_receipt(&w, ada, app).await;
    let key = &w.state.key_encryption_key;
    assert_eq!(
        publication::verify_receipt(key, &withdrawal)
            .unwrap()
            .action,
        "unpublished"
    );
    let mut edited = withdrawal.clone();
    edited["publication"]["at"] = serde_json::json!("2020-01-01T00:00:00Z");
    assert_eq!(
        publication::verify_receipt(key, &edited),
        Err(Unverified::Tampered)
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_remix_copies_the_files_and_nothing_else(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, bob) = (w.sign_up(ADA).await, w.sign_up(BOB).await);
    let app = starter_app(&w, ada).await;
    let me = w.as_owner(ada);
    links::create(&me, app, "Friends", LinkExpiry::SevenDays, None)
        .await
        .unwrap();
    members::invite(&me, app, CAROL, MemberRole::Editor)
        .await
        .unwrap();
    publish_app(&w, ada, app, false).await;
    assert!(matches!(
        discover::remix(&w.as_owner(bob), app).await,
        Err(DiscoverError::NoRemix)
    ));
    publish::set_remix(&me, app, true).await.unwrap();
    let copy = discover::remix(&w.as_owner(bob), app).await.unwrap();

    let copied = |owner: OwnerId, id: AppId| {
        let owner_pool = w.owner.clone();
        async move {
            sqlx::query_as::<_, (String, Vec<u8>)>(
                "SELECT path, content FROM app_files WHERE owner_id = $1 AND app_id = $2 ORDER BY path",
            )
            .bind(owner)
            .bind(id)
            .fetch_all(&owner_pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(copied(bob, copy).await, copied(ada, app).await);
    assert_eq!(rows(&w, "app_share_links", bob).await, 0);
    assert_eq!(rows(&w, "app_members", bob).await, 0);
    assert_eq!(rows(&w, "app_publications", bob).await, 0);
    let (name, from, published_at): (String, String, Option<time::OffsetDateTime>) =
        sqlx::query_as(
            "SELECT name, remixed_from, published_at FROM apps WHERE owner_id = $1 AND id = $2",
        )
        .bind(bob)
        .bind(copy)
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(name, "My app (remix)");
    assert!(
        from.starts_with("\u{201c}My app\u{201d}, /discover/"),
        "{from}"
    );
    assert!(
        !from.contains("Ada"),
        "the author's name stays theirs: {from}"
    );
    assert!(from.contains(&format!("/discover/{app}")), "{from}");
    assert_eq!(published_at, None, "a remix starts private");

    // Unpublishing keeps the copy, and no further one can be made.
    publish::unpublish(&me, app).await.unwrap();
    assert_eq!(copied(bob, copy).await.len(), 3);
    assert!(matches!(
        discover::remix(&w.as_owner(bob), app).await,
        Err(DiscoverError::NoSuchApp)
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_search_matches_its_wildcards_literally_and_pages_are_bounded(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let percent = named_app(&w, ada, "100% juice").await;
    let underscore = named_app(&w, ada, "snake_case").await;
    let plain = named_app(&w, ada, "Plain weather").await;
    assert_eq!(gallery_ids(&w, "%").await, vec![percent]);
    assert_eq!(gallery_ids(&w, "_").await, vec![underscore]);
    assert_eq!(gallery_ids(&w, "WEATHER").await, vec![plain]);
    assert_eq!(gallery_ids(&w, "about it").await.len(), 3);
    assert!(gallery_ids(&w, "' OR 1=1 --").await.is_empty());
    assert!(gallery_ids(&w, "\\").await.is_empty());
    assert_eq!(gallery_ids(&w, "").await, vec![plain, underscore, percent]);
    let past = discover::gallery(&w.state, &Search::parse("").unwrap(), 2)
        .await
        .unwrap();
    assert!(past.listings.is_empty() && !past.has_next);
    assert!(matches!(
        Search::parse(&"x".repeat(101)),
        Err(DiscoverError::Search)
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn gallery_pages_are_public_briefly_cacheable_and_unknown_apps_answer_404(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let public = named_app(&w, ada, "Public weather").await;
    let private = starter_app(&w, ada).await;
    let router = w.router();

    let (response, html) = send(&router, get("/discover")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("Public weather"));
    assert!(html.contains("By Ada the maker"));
    assert!(!html.contains(ADA), "no address on a public page");
    assert_eq!(header(&response, "cache-control"), "private, max-age=60");
    assert_eq!(header(&response, "x-robots-tag"), "");
    assert!(!html.contains("noindex"));

    let (response, html) = send(&router, get(&format!("/discover/{public}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("sandbox=\"allow-scripts allow-forms allow-popups\""));
    assert!(html.contains(".apps.localhost:3000/_t/"));

    let with_cookie = axum::http::Request::get("/discover")
        .header("cookie", "custodian_session=whatever")
        .body(axum::body::Body::empty())
        .unwrap();
    let (response, _) = send(&router, with_cookie).await;
    assert_eq!(header(&response, "cache-control"), "no-store");

    for path in [
        format!("/discover/{private}"),
        format!("/discover/{}", AppId::random()),
        "/discover/not-an-id".to_owned(),
    ] {
        let (response, html) = send(&router, get(&path)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("There is no such app on Discover"), "{path}");
        assert!(!html.contains("My app"), "{path}");
    }
    for query in ["?page=0", "?page=101", "?q=%25&page=x"] {
        let (response, html) = send(&router, get(&format!("/discover{query}"))).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        assert!(html.contains("Pages are numbered from 1 to 100"), "{query}");
    }
    let long = "x".repeat(300);
    let (response, html) = send(&router, get(&format!("/discover?q={long}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("Search with 100 characters or fewer"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn publishing_waits_while_processing_is_restricted(owner: PgPool) {
    use app::data::rights::{model::RequestForm, service as rights};

    let w = test_app(owner.clone()).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let restrict = RequestForm {
        regime: "gdpr".to_owned(),
        restriction: true,
        ..RequestForm::default()
    };
    rights::make(&w.as_owner(ada), &restrict).await.unwrap();
    let refused = publish::publish(&w.as_owner(ada), app, "My app", author(), false, None).await;
    assert!(
        matches!(refused, Err(AppsError::Restricted(ref why)) if why.contains("you asked for restriction")),
        "{refused:?}"
    );
    // The database refuses it too.
    let forced =
        sqlx::query("UPDATE apps SET published_at = now(), published_author = 'x' WHERE id = $1")
            .bind(app)
            .execute(&owner)
            .await;
    assert!(forced.is_err());
    assert_eq!(rows(&w, "app_publications", ada).await, 0);
}
