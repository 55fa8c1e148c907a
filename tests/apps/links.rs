//! Share links: shown once and stored as a hash; counted when used; expiring, revocable, and
//! locked after three wrong passwords, even when the guesses race.

use app::{
    apps::{
        model::{LinkExpiry, LinkState, SharedView, SHARE_LINK_LOCKED},
        service::{links, AppsError},
    },
    platform::{
        db::MIGRATOR,
        ids::{AppId, OwnerId},
    },
};
use sqlx::PgPool;
use time::Duration;

use crate::{
    events, starter_app,
    support::{test_app, TestApp},
    ADA,
};

/// The app and token of a link's address.
fn parts(url: &str) -> (AppId, String) {
    let rest = url.split("/s/").nth(1).unwrap();
    let (app, token) = rest.split_once('/').unwrap();
    (app.parse().unwrap(), token.to_owned())
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_link_opens_the_app_until_it_expires_and_only_its_hash_is_kept(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let link = links::create(&w.as_owner(ada), app, "Friends", LinkExpiry::OneDay, None)
        .await
        .unwrap();
    let (in_url, token) = parts(&link.url);
    assert_eq!(in_url, app);
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_sha256 FROM app_share_links")
        .fetch_all(&w.owner)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(
        stored[0],
        token.as_bytes(),
        "the token itself is never stored"
    );

    let opened = links::open(&w.visitor(), app, &token, None).await.unwrap();
    let SharedView::Open { name, frame, .. } = opened else {
        panic!("the link opens the app");
    };
    assert_eq!(name, "My app");
    assert!(frame.contains("/_t/"));
    links::open(&w.visitor(), app, &token, None).await.unwrap();
    let row = &app::apps::service::detail(&w.as_owner(ada), app)
        .await
        .unwrap()
        .links[0];
    assert_eq!(row.uses, 2);
    assert_eq!(row.last_network.as_deref(), Some("203.0.113.0/24"));

    let mut wrong = token.clone();
    wrong.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    assert!(matches!(
        links::open(&w.visitor(), app, &wrong, None).await,
        Err(AppsError::LinkGone)
    ));
    let other_app = starter_app(&w, ada).await;
    assert!(matches!(
        links::open(&w.visitor(), other_app, &token, None).await,
        Err(AppsError::LinkGone)
    ));

    w.clock.advance(Duration::days(1));
    assert!(matches!(
        links::open(&w.visitor(), app, &token, None).await,
        Err(AppsError::LinkGone)
    ));
    let row = &app::apps::service::detail(&w.as_owner(ada), app)
        .await
        .unwrap()
        .links[0];
    assert_eq!(row.state, LinkState::Expired);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_revoked_link_stops_at_once_and_revoking_all_stops_every_one(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let me = w.as_owner(ada);
    let first = links::create(&me, app, "One", LinkExpiry::Never, None)
        .await
        .unwrap();
    let second = links::create(&me, app, "Two", LinkExpiry::SevenDays, None)
        .await
        .unwrap();
    let (_, first_token) = parts(&first.url);
    let (_, second_token) = parts(&second.url);
    let listed = app::apps::service::detail(&me, app).await.unwrap().links;
    let one = listed.iter().find(|l| l.label == "One").unwrap().id;
    links::revoke(&me, app, Some(one)).await.unwrap();
    assert!(matches!(
        links::open(&w.visitor(), app, &first_token, None).await,
        Err(AppsError::LinkGone)
    ));
    assert!(links::open(&w.visitor(), app, &second_token, None)
        .await
        .is_ok());
    assert!(matches!(
        links::revoke(&me, app, Some(one)).await,
        Err(AppsError::NoSuchLink)
    ));
    links::revoke(&me, app, None).await.unwrap();
    assert!(matches!(
        links::open(&w.visitor(), app, &second_token, None).await,
        Err(AppsError::LinkGone)
    ));
}

/// Ada's app and the token of its link that asks for "open sesame".
async fn guarded_link(w: &TestApp) -> (OwnerId, AppId, String) {
    let ada = w.sign_up(ADA).await;
    let app = starter_app(w, ada).await;
    let link = links::create(
        &w.as_owner(ada),
        app,
        "Guarded",
        LinkExpiry::SevenDays,
        Some("open sesame"),
    )
    .await
    .unwrap();
    let (_, token) = parts(&link.url);
    (ada, app, token)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn three_wrong_passwords_lock_the_link_for_30_minutes(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, app, token) = guarded_link(&w).await;
    assert_eq!(
        links::open(&w.visitor(), app, &token, None).await.unwrap(),
        SharedView::Password
    );
    for _ in 0..2 {
        let wrong = links::open(&w.visitor(), app, &token, Some("guess")).await;
        assert!(matches!(wrong, Err(AppsError::WrongPassword)), "{wrong:?}");
    }
    let third = links::open(&w.visitor(), app, &token, Some("guess")).await;
    assert!(matches!(third, Err(AppsError::LinkLocked(_))), "{third:?}");
    let right_but_locked = links::open(&w.visitor(), app, &token, Some("open sesame")).await;
    assert!(matches!(right_but_locked, Err(AppsError::LinkLocked(_))));
    assert_eq!(events(&w, ada, SHARE_LINK_LOCKED).await, 1);

    w.clock.advance(Duration::minutes(30));
    let opened = links::open(&w.visitor(), app, &token, Some("open sesame"))
        .await
        .unwrap();
    assert!(matches!(opened, SharedView::Open { .. }));
    assert!(matches!(
        links::create(
            &w.as_owner(ada),
            app,
            "Weak",
            LinkExpiry::OneDay,
            Some("short")
        )
        .await,
        Err(AppsError::LinkPassword)
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn racing_guesses_get_three_tries_and_no_more(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, app, token) = guarded_link(&w).await;
    let guesses = (0..8).map(|_| {
        let visitor = w.visitor();
        let token = token.clone();
        async move { links::open(&visitor, app, &token, Some("guess")).await }
    });
    let answers = futures::future::join_all(guesses).await;
    let wrong = answers
        .iter()
        .filter(|a| matches!(a, Err(AppsError::WrongPassword)))
        .count();
    let locked = answers
        .iter()
        .filter(|a| matches!(a, Err(AppsError::LinkLocked(_))))
        .count();
    assert_eq!((wrong, locked), (2, 6), "{answers:?}");
    assert_eq!(events(&w, ada, SHARE_LINK_LOCKED).await, 1);
}
