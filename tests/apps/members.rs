//! Collaborators: an invitation bound to the verified address it was sent to; viewers read and
//! editors also write, through the database's policies; a non-member reaches nothing, even by
//! SQL as the app role; removal and leaving hold from the next request; a deleted member's
//! memberships go with the account.

use app::{
    apps::{
        model::{AppPageData, MemberRole, APP_FILES_CHANGED, APP_MEMBER_JOINED},
        service::{self, members, upload, AppsError, Details},
    },
    platform::{
        db::MIGRATOR,
        ids::{AppId, OwnerId},
    },
};
use axum::http::StatusCode;
use sqlx::PgPool;
use time::Duration;

use crate::{
    events, file, starter_app,
    support::{send, tenant_tx, test_app, TestApp},
    ADA, BOB,
};

const CAROL: &str = "carol@example.com";

/// The token of the last invitation mailed to `to` (the clock moves on a minute, so that the
/// next one is later).
async fn invitation_to(w: &TestApp, to: &str) -> String {
    w.clock.advance(Duration::minutes(1));
    let body: String = sqlx::query_scalar(
        "SELECT body FROM mail_outbox WHERE recipient = $1 AND subject = 'An app was shared with you' \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&w.owner)
    .await
    .unwrap();
    body.split("/apps/join/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, token)| token.to_owned())
        .expect("an invitation link")
}

/// Ada's app shared with verified Bob as `role`, accepted.
pub(crate) async fn shared_with_bob(w: &TestApp, role: MemberRole) -> (OwnerId, OwnerId, AppId) {
    let ada = w.sign_up_verified(ADA).await;
    let bob = w.sign_up_verified(BOB).await;
    let app = starter_app(w, ada).await;
    members::invite(&w.as_owner(ada), app, BOB, role)
        .await
        .unwrap();
    let token = invitation_to(w, BOB).await;
    members::accept(&w.as_owner(bob), app, &token)
        .await
        .unwrap();
    (ada, bob, app)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_viewer_opens_the_app_and_its_files_and_changes_nothing(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, bob, app) = shared_with_bob(&w, MemberRole::Viewer).await;
    let me = w.as_owner(bob);
    let shared = members::shared_with_me(&me).await.unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!((shared[0].id, shared[0].role), (app, MemberRole::Viewer));
    let AppPageData::Shared(detail) = service::page(&me, app).await.unwrap() else {
        panic!("Bob sees Ada's app as shared");
    };
    assert_eq!(detail.files.len(), 3);
    let frame = service::frame(&me, app).await.unwrap();
    let router = w.router();
    let (response, body) = send(&router, get_frame(&frame)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("Hello from your app"));

    let write = upload::upload(&me, app, vec![file("index.html", "defaced")]).await;
    assert!(matches!(write, Err(AppsError::NotEditor)), "{write:?}");
    assert!(matches!(
        upload::delete_file(&me, app, "app.js").await,
        Err(AppsError::NotEditor)
    ));
    let rename = service::update_shared(&me, app, Details::parse("Mine now", "").unwrap()).await;
    assert!(matches!(rename, Err(AppsError::NotEditor)));
    for owner_only in [
        service::trash(&me, app).await.err(),
        service::links::create(&me, app, "Leak", Default::default(), None)
            .await
            .err(),
        members::invite(&me, app, CAROL, MemberRole::Editor)
            .await
            .err(),
        service::update(&me, app, Details::parse("x", "").unwrap(), vec![])
            .await
            .err(),
    ] {
        assert!(
            matches!(owner_only, Some(AppsError::NoSuchApp)),
            "{owner_only:?}"
        );
    }

    // The database itself refuses a viewer's write, whatever the code above does.
    let mut tx = tenant_tx(&w.state.pool, bob).await;
    let refused = sqlx::query(
        "INSERT INTO app_files (owner_id, app_id, path, content_type, content, size_bytes, updated_at) \
         VALUES ($1, $2, 'evil.js', 'text/javascript', 'x', 1, now())",
    )
    .bind(ada)
    .bind(app)
    .execute(&mut *tx)
    .await;
    assert!(refused.is_err(), "a viewer cannot insert a file");
    drop(tx);
    let mut tx = tenant_tx(&w.state.pool, bob).await;
    let changed = sqlx::query("UPDATE apps SET name = 'pwned' WHERE owner_id = $1 AND id = $2")
        .bind(ada)
        .bind(app)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 0, "no member updates an app's row directly");
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM app_share_links WHERE owner_id = $1")
        .bind(ada)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(links, 0, "a member sees none of the owner's links");
    assert_eq!(events(&w, ada, APP_MEMBER_JOINED).await, 1);
}

fn get_frame(url: &str) -> axum::http::Request<axum::body::Body> {
    let url = url::Url::parse(url).unwrap();
    axum::http::Request::get(url.path())
        .header(
            "host",
            format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()),
        )
        .body(axum::body::Body::empty())
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_editor_changes_files_and_details_recorded_in_the_owners_log(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, bob, app) = shared_with_bob(&w, MemberRole::Editor).await;
    let me = w.as_owner(bob);
    upload::upload(&me, app, vec![file("index.html", "<h1>Edited</h1>")])
        .await
        .unwrap();
    upload::delete_file(&me, app, "app.js").await.unwrap();
    service::update_shared(&me, app, Details::parse("Renamed", "by Bob").unwrap())
        .await
        .unwrap();
    let detail = service::detail(&w.as_owner(ada), app).await.unwrap();
    assert_eq!(detail.summary.name, "Renamed");
    assert_eq!(detail.files.len(), 2);
    assert_eq!(
        events(&w, ada, APP_FILES_CHANGED).await,
        2,
        "the editor's changes are in Ada's log"
    );
    let logged = w.kinds(ada).await;
    let by_bob = format!("by {BOB}");
    assert!(
        logged
            .iter()
            .any(|event| event.starts_with("app_files_changed:") && event.ends_with(&by_bob)),
        "the owner's log names the editor: {logged:?}"
    );
    assert!(w.chain_break(ada).await.is_none());
    assert!(w.chain_break(bob).await.is_none());
    let over = upload::upload(&me, app, vec![file("big.bin", vec![0u8; 11 << 20])]).await;
    assert!(
        matches!(over, Err(AppsError::Upload(_))),
        "the owner's limits hold for editors"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_invitation_opens_only_for_its_verified_address_and_only_once(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified(ADA).await;
    let bob = w.sign_up_verified(BOB).await;
    let carol = w.sign_up(CAROL).await;
    let app = starter_app(&w, ada).await;
    assert!(matches!(
        members::invite(&w.as_owner(ada), app, "not an address", MemberRole::Viewer).await,
        Err(AppsError::InviteAddress)
    ));
    assert!(matches!(
        members::invite(&w.as_owner(ada), app, ADA, MemberRole::Viewer).await,
        Err(AppsError::InviteSelf)
    ));
    members::invite(&w.as_owner(ada), app, CAROL, MemberRole::Viewer)
        .await
        .unwrap();
    let token = invitation_to(&w, CAROL).await;
    assert!(matches!(
        members::accept(&w.as_owner(bob), app, &token).await,
        Err(AppsError::InviteOtherAddress)
    ));
    assert!(matches!(
        members::accept(&w.as_owner(carol), app, &token).await,
        Err(AppsError::InviteUnverified)
    ));
    assert!(matches!(
        members::accept(&w.as_owner(ada), app, &token).await,
        Err(AppsError::InviteSelf)
    ));
    members::invite(&w.as_owner(ada), app, BOB, MemberRole::Viewer)
        .await
        .unwrap();
    let first = invitation_to(&w, BOB).await;
    members::invite(&w.as_owner(ada), app, BOB, MemberRole::Editor)
        .await
        .unwrap();
    let again = invitation_to(&w, BOB).await;
    assert!(matches!(
        members::accept(&w.as_owner(bob), app, &first).await,
        Err(AppsError::InviteGone)
    ));
    w.clock.advance(Duration::days(7));
    assert!(matches!(
        members::accept(&w.as_owner(bob), app, &again).await,
        Err(AppsError::InviteGone)
    ));
    members::invite(&w.as_owner(ada), app, BOB, MemberRole::Editor)
        .await
        .unwrap();
    let fresh = invitation_to(&w, BOB).await;
    members::accept(&w.as_owner(bob), app, &fresh)
        .await
        .unwrap();
    assert!(matches!(
        members::accept(&w.as_owner(bob), app, &fresh).await,
        Err(AppsError::InviteGone)
    ));
    let detail = service::detail(&w.as_owner(ada), app).await.unwrap();
    let bob_row = detail.members.iter().find(|m| m.email == BOB).unwrap();
    assert_eq!(bob_row.role, MemberRole::Editor);
    assert!(bob_row.joined.is_some());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn removal_and_leaving_hold_from_the_next_request(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, bob, app) = shared_with_bob(&w, MemberRole::Viewer).await;
    let frame = service::frame(&w.as_owner(bob), app).await.unwrap();
    let router = w.router();
    assert_eq!(
        send(&router, get_frame(&frame)).await.0.status(),
        StatusCode::OK
    );
    let member = service::detail(&w.as_owner(ada), app)
        .await
        .unwrap()
        .members[0]
        .id;
    members::remove(&w.as_owner(ada), app, member)
        .await
        .unwrap();
    assert_eq!(
        send(&router, get_frame(&frame)).await.0.status(),
        StatusCode::NOT_FOUND
    );
    assert!(matches!(
        service::page(&w.as_owner(bob), app).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(members::shared_with_me(&w.as_owner(bob))
        .await
        .unwrap()
        .is_empty());

    members::invite(&w.as_owner(ada), app, BOB, MemberRole::Viewer)
        .await
        .unwrap();
    let token = invitation_to(&w, BOB).await;
    members::accept(&w.as_owner(bob), app, &token)
        .await
        .unwrap();
    members::leave(&w.as_owner(bob), app).await.unwrap();
    assert!(matches!(
        service::page(&w.as_owner(bob), app).await,
        Err(AppsError::NoSuchApp)
    ));

    // A trashed app is out of a member's reach too.
    members::invite(&w.as_owner(ada), app, BOB, MemberRole::Viewer)
        .await
        .unwrap();
    let token = invitation_to(&w, BOB).await;
    members::accept(&w.as_owner(bob), app, &token)
        .await
        .unwrap();
    service::trash(&w.as_owner(ada), app).await.unwrap();
    assert!(matches!(
        service::page(&w.as_owner(bob), app).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(members::shared_with_me(&w.as_owner(bob))
        .await
        .unwrap()
        .is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_non_member_reaches_nothing_even_by_sql(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, _bob, app) = shared_with_bob(&w, MemberRole::Editor).await;
    let carol = w.sign_up_verified(CAROL).await;
    assert!(matches!(
        service::page(&w.as_owner(carol), app).await,
        Err(AppsError::NoSuchApp)
    ));
    let mut tx = tenant_tx(&w.state.pool, carol).await;
    for table in ["apps", "app_files", "app_members", "app_share_links"] {
        let seen: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE owner_id = $1"))
                .bind(ada)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!(seen, 0, "{table}");
    }
    let role: Option<String> = sqlx::query_scalar("SELECT custodian_app_role($1, $2)")
        .bind(ada)
        .bind(app)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(role, None);
    let edited: bool =
        sqlx::query_scalar("SELECT custodian_edit_shared_app($1, $2, 'x', '', now())")
            .bind(ada)
            .bind(app)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert!(!edited);
    let bytes: Option<i64> = sqlx::query_scalar("SELECT custodian_owner_app_bytes($1, $2)")
        .bind(ada)
        .bind(app)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(bytes, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_deleted_members_memberships_go_with_the_account(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, bob, _app) = shared_with_bob(&w, MemberRole::Viewer).await;
    let removed: serde_json::Value =
        sqlx::query_scalar("SELECT custodian_erase_tenant_everywhere($1, '{}', NULL)")
            .bind(bob)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(removed["public.app_members (as member)"], 1);
    let named: i64 = sqlx::query_scalar("SELECT count(*) FROM app_members WHERE member_id = $1")
        .bind(bob)
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(named, 0);
    let invited: i64 = sqlx::query_scalar("SELECT count(*) FROM app_members WHERE owner_id = $1")
        .bind(ada)
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(invited, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_owner_locked_for_deletion_closes_the_app_to_members_and_a_member_joins_once(
    owner: PgPool,
) {
    let w = test_app(owner).await;
    let (ada, bob, app) = shared_with_bob(&w, MemberRole::Editor).await;
    members::invite(&w.as_owner(ada), app, BOB, MemberRole::Viewer)
        .await
        .unwrap();
    let role_only: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE recipient = $1 AND subject = 'An app was shared with you'",
    )
    .bind(BOB)
    .fetch_one(&w.owner)
    .await
    .unwrap();
    assert_eq!(
        role_only, 1,
        "a member's role changes without another invitation"
    );
    let AppPageData::Shared(detail) = service::page(&w.as_owner(bob), app).await.unwrap() else {
        panic!("shared");
    };
    assert_eq!(detail.app.role, MemberRole::Viewer);

    let frame = service::frame(&w.as_owner(bob), app).await.unwrap();
    sqlx::query("UPDATE tenants SET deletion_requested_at = now(), deletion_due_at = now() + interval '14 days' WHERE owner_id = $1")
        .bind(ada)
        .execute(&w.owner)
        .await
        .unwrap();
    assert!(matches!(
        service::page(&w.as_owner(bob), app).await,
        Err(AppsError::NoSuchApp)
    ));
    assert_eq!(
        send(&w.router(), get_frame(&frame)).await.0.status(),
        StatusCode::NOT_FOUND
    );
}
