//! Connections (promise P9): an OAuth 2.0 access token used through egress like any secret,
//! refreshed by the server a minute before it expires (never twice at once), and revoked at the
//! service when its owner disconnects it; the sealed tokens go at once either way.

use std::time::Duration as StdDuration;

use app::{
    apps::{
        model::{AppPageData, APP_CONNECTION_REVOKED},
        secrets::{
            connections::{self, Connection, Revocation},
            service::{parse_hosts, SecretName, SecretValue, SecretsError},
        },
        service,
    },
    platform::{
        clock::Clock,
        db::MIGRATOR,
        ids::{AppId, OwnerId},
    },
};
use axum::http::StatusCode;
use sqlx::PgPool;
use time::Duration;

use crate::{
    events,
    secrets::{egress, reach},
    starter_app,
    support::{
        test_app,
        upstream::{self, Upstream, CLIENT_ID, CLIENT_SECRET},
        TestApp,
    },
    ADA,
};

const ACCESS: &str = "access-token-1-abcdefghijklmnop";
const REFRESH: &str = "refresh-token-1";

pub(crate) async fn connect(
    w: &TestApp,
    owner: OwnerId,
    app: AppId,
    upstream: &Upstream,
    minutes: &str,
    revocation: bool,
) {
    let base = &upstream.origin;
    let revocation_url = if revocation {
        format!("{base}/oauth/revoke")
    } else {
        String::new()
    };
    let connection = Connection::parse(
        REFRESH,
        CLIENT_SECRET,
        &format!("{base}/oauth/token"),
        &revocation_url,
        CLIENT_ID,
        minutes,
        w.clock.now(),
    )
    .unwrap();
    connections::add(
        &w.as_owner(owner),
        app,
        SecretName::parse("SERVICE").unwrap(),
        SecretValue::parse(ACCESS).unwrap(),
        parse_hosts(base).unwrap(),
        connection,
    )
    .await
    .unwrap();
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_connection_refreshes_its_token_before_it_expires_and_revokes_on_disconnect(
    owner: PgPool,
) {
    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    reach(&mut w, &upstream, StdDuration::from_secs(10));
    let oauth = upstream.oauth(ACCESS, REFRESH);
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    connect(&w, ada, app, &upstream, "10", true).await;

    // Still valid: sent as it is.
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
    let (response, body) = egress(&w, &frame, "_egress/SERVICE/api/me").await;
    assert_eq!(
        (response.status(), body.as_str()),
        (StatusCode::OK, "authorized")
    );
    assert_eq!(oauth.lock().unwrap().refreshes, 0);

    // A minute before it expires: a call refused before it goes anywhere refreshes nothing;
    // the next is refreshed first, once, and the new tokens are kept.
    w.clock.advance(Duration::minutes(9) + Duration::seconds(1));
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
    let request = crate::secrets::call(&frame, "_egress/SERVICE/api/me", "GET")
        .header("x-egress-host", "https://elsewhere.example.com")
        .body(axum::body::Body::empty())
        .unwrap();
    let (refused, _) = crate::support::send(&w.router(), request).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(oauth.lock().unwrap().refreshes, 0);
    let (first, second) = futures::join!(
        egress(&w, &frame, "_egress/SERVICE/api/me"),
        egress(&w, &frame, "_egress/SERVICE/api/me")
    );
    for (response, body) in [first, second] {
        assert_eq!(
            (response.status(), body.as_str()),
            (StatusCode::OK, "authorized")
        );
    }
    assert_eq!(
        oauth.lock().unwrap().refreshes,
        1,
        "two calls at once, one refresh"
    );
    let AppPageData::Own(detail) = service::page(&w.as_owner(ada), app).await.unwrap() else {
        panic!("the owner's view");
    };
    let shown = serde_json::to_string(&detail).unwrap();
    assert!(
        !shown.contains("access-token") && !shown.contains("refresh-token"),
        "{shown}"
    );
    assert!(detail.secrets[0]
        .connection
        .as_ref()
        .unwrap()
        .expires
        .is_some());

    // An hour later, with the rotated refresh token.
    w.clock.advance(Duration::hours(1));
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
    assert_eq!(
        egress(&w, &frame, "_egress/SERVICE/api/me").await.1,
        "authorized"
    );
    assert_eq!(oauth.lock().unwrap().refreshes, 2);

    // Disconnected: gone here at once, revoked there (the current refresh and access tokens).
    let revocation =
        connections::disconnect(&w.as_owner(ada), app, SecretName::parse("SERVICE").unwrap())
            .await
            .unwrap();
    assert_eq!(revocation, Revocation::Confirmed);
    let revoked = oauth.lock().unwrap().revoked.clone();
    assert_eq!(
        revoked,
        ["refresh-token-3", "access-token-3-abcdefghijklmnop"]
    );
    assert_eq!(crate::rows(&w, "app_secrets", ada).await, 0);
    assert_eq!(
        egress(&w, &frame, "_egress/SERVICE/api/me")
            .await
            .0
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(events(&w, ada, APP_CONNECTION_REVOKED).await, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_refused_refresh_or_an_unreachable_service_answers_plainly_and_loses_nothing(
    owner: PgPool,
) {
    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    reach(&mut w, &upstream, StdDuration::from_secs(10));
    let oauth = upstream.oauth(ACCESS, "another-refresh-token");
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    connect(&w, ada, app, &upstream, "1", false).await;

    // The service refuses the refresh token: a plain 502, and the connection stays as it was.
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
    let (response, body) = egress(&w, &frame, "_egress/SERVICE/api/me").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        body.contains("could not be refreshed") && !body.contains("token-"),
        "{body}"
    );
    assert_eq!(oauth.lock().unwrap().refreshes, 0);
    assert!(upstream.seen().is_empty());
    // Nothing was lost: once the service takes the refresh token again, calls go through.
    oauth.lock().unwrap().refresh = REFRESH.to_owned();
    let (response, body) = egress(&w, &frame, "_egress/SERVICE/api/me").await;
    assert_eq!(
        (response.status(), body.as_str()),
        (StatusCode::OK, "authorized")
    );

    // Disconnecting a connection without a revocation endpoint deletes it and says so; keys
    // and connections are each removed their own way.
    let name = || SecretName::parse("SERVICE").unwrap();
    let deleted = app::apps::secrets::service::delete(&w.as_owner(ada), app, name()).await;
    assert!(
        matches!(deleted, Err(SecretsError::NoSuchSecret)),
        "{deleted:?}"
    );
    let revocation = connections::disconnect(&w.as_owner(ada), app, name())
        .await
        .unwrap();
    assert_eq!(revocation, Revocation::NotOffered);
    assert_eq!(crate::rows(&w, "app_secrets", ada).await, 0);
}

#[test]
fn a_connection_names_https_endpoints_a_client_and_a_sane_expiry() {
    let now = time::OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
    let parse = |token_url: &str, client: &str, minutes: &str| {
        Connection::parse("refresh", "", token_url, "", client, minutes, now).map(drop)
    };
    assert!(parse("https://auth.example.com/oauth/token", "client", "60").is_ok());
    for (token_url, client, minutes, field) in [
        ("http://auth.example.com/token", "client", "", "token_url"),
        ("https://10.0.0.1/token", "client", "", "token_url"),
        (
            "https://user:pass@auth.example.com/token",
            "client",
            "",
            "token_url",
        ),
        ("https://auth.example.com/token", "", "", "client_id"),
        (
            "https://auth.example.com/token",
            "client",
            "0",
            "expires_in",
        ),
        (
            "https://auth.example.com/token",
            "client",
            "soon",
            "expires_in",
        ),
    ] {
        let error = parse(token_url, client, minutes).unwrap_err();
        let app::ui::FormError::Field { field: named, .. } = app::ui::FormError::from(error) else {
            panic!("a field's error");
        };
        assert_eq!(named, field, "{token_url} {client:?} {minutes:?}");
    }
    assert!(
        Connection::parse("", "", "https://a.example/t", "", "c", "", now).is_err(),
        "a refresh token is needed"
    );
}
