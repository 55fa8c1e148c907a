//! App secrets (promise P9): write-only through every server function, names only for
//! collaborators, bound to their owner, app and name, and used only through the app's egress
//! endpoint: to the secret's hosts, never a private address unless the operator allows it,
//! bounded in time and size, each use counted.

use std::time::Duration as StdDuration;

use app::{
    apps::{
        model::{AppPageData, MemberRole, APP_SECRET_ADDED, APP_SECRET_DELETED, APP_SECRET_USED},
        secrets::{
            model::Placement,
            service::{self as secrets, parse_hosts, SecretName, SecretValue, SecretsError},
        },
        service::{self, AppsError},
    },
    platform::{
        db::MIGRATOR,
        ids::{AppId, OwnerId},
        outbound::{Outbound, OutboundSettings},
    },
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use sqlx::PgPool;
use time::Duration;

use crate::{
    events,
    members::shared_with_bob,
    starter_app,
    support::{
        header, send, test_app,
        upstream::{self, Upstream},
        TestApp,
    },
    ADA,
};

pub(crate) const VALUE: &str = "sk-test-4f1c9a7e2b8d-RECOGNISABLE-WXYZ";

pub(crate) async fn add(
    w: &TestApp,
    owner: OwnerId,
    app: AppId,
    name: &str,
    hosts: &str,
    placement: Placement,
) {
    secrets::add(
        &w.as_owner(owner),
        app,
        SecretName::parse(name).unwrap(),
        SecretValue::parse(VALUE).unwrap(),
        parse_hosts(hosts).unwrap(),
        placement,
    )
    .await
    .unwrap();
}

/// Lets egress reach the local upstream (a private address), trusting its certificate.
pub(crate) fn reach(w: &mut TestApp, upstream: &Upstream, timeout: StdDuration) {
    w.state.outbound = Outbound::new(&OutboundSettings {
        allow_private: true,
        extra_ca_file: Some(upstream.ca_file.clone()),
        timeout,
    })
    .unwrap();
}

/// A request from the app's page to `path` under its view (`frame`), on the app's origin.
pub(crate) fn call(frame: &str, path: &str, method: &str) -> axum::http::request::Builder {
    let url = url::Url::parse(&format!("{frame}{path}")).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    Request::builder()
        .method(method)
        .uri(target)
        .header("host", host)
        .header("origin", "null")
}

pub(crate) async fn egress(
    w: &TestApp,
    frame: &str,
    path: &str,
) -> (axum::http::Response<Body>, String) {
    send(
        &w.router(),
        call(frame, path, "GET").body(Body::empty()).unwrap(),
    )
    .await
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn secrets_are_write_only_and_collaborators_see_their_names_only(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, bob, app) = shared_with_bob(&w, MemberRole::Editor).await;
    add(
        &w,
        ada,
        app,
        "API_KEY",
        "https://api.example.com",
        Placement::Bearer,
    )
    .await;

    let AppPageData::Own(detail) = service::page(&w.as_owner(ada), app).await.unwrap() else {
        panic!("the owner's view");
    };
    let shown = serde_json::to_string(&detail).unwrap();
    assert!(
        !shown.contains(VALUE) && !shown.contains("RECOGNISABLE"),
        "{shown}"
    );
    assert_eq!(detail.secrets.len(), 1);
    assert_eq!(detail.secrets[0].hint, "WXYZ");
    assert_eq!(detail.secrets[0].hosts, ["https://api.example.com"]);
    assert_eq!(events(&w, ada, APP_SECRET_ADDED).await, 1);

    let AppPageData::Shared(shared) = service::page(&w.as_owner(bob), app).await.unwrap() else {
        panic!("the collaborator's view");
    };
    assert_eq!(shared.secret_names, ["API_KEY"]);
    let shown = serde_json::to_string(&shared).unwrap();
    assert!(
        !shown.contains("WXYZ") && !shown.contains("api.example.com"),
        "{shown}"
    );

    // An editor changes nothing of them, and their rows are out of the editor's reach.
    let name = || SecretName::parse("API_KEY").unwrap();
    let bob_acts = w.as_owner(bob);
    let refused = |result: Result<(), SecretsError>| {
        assert!(
            matches!(result, Err(SecretsError::Apps(AppsError::NoSuchApp))),
            "{result:?}"
        )
    };
    refused(secrets::replace(&bob_acts, app, name(), SecretValue::parse("other").unwrap()).await);
    refused(
        secrets::change_hosts(
            &bob_acts,
            app,
            name(),
            parse_hosts("https://evil.example.com").unwrap(),
        )
        .await,
    );
    refused(secrets::delete(&bob_acts, app, name()).await);
    refused(
        secrets::add(
            &bob_acts,
            app,
            SecretName::parse("MINE").unwrap(),
            SecretValue::parse("x").unwrap(),
            parse_hosts("https://evil.example.com").unwrap(),
            Placement::Bearer,
        )
        .await,
    );
    let mut tx = crate::support::tenant_tx(&w.state.pool, bob).await;
    let reachable: i64 = sqlx::query_scalar("SELECT count(*) FROM app_secrets")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(reachable, 0, "no policy lets a member read a secret's row");

    // One name per app; at most 100 per app.
    let again = secrets::add(
        &w.as_owner(ada),
        app,
        name(),
        SecretValue::parse("x").unwrap(),
        parse_hosts("https://api.example.com").unwrap(),
        Placement::Bearer,
    )
    .await;
    assert!(matches!(again, Err(SecretsError::Taken)), "{again:?}");
    sqlx::query(
        "INSERT INTO app_secrets (owner_id, app_id, name, hosts, placement, sealed_value, hint, created_at, rotated_at) \
         SELECT $1, $2, 'FILLER_' || n, '{https://api.example.com}', 'bearer', '\\x00', '', now(), now() \
         FROM generate_series(1, 99) AS n",
    )
    .bind(ada)
    .bind(app)
    .execute(&w.owner)
    .await
    .unwrap();
    let over = secrets::add(
        &w.as_owner(ada),
        app,
        SecretName::parse("ONE_MORE").unwrap(),
        SecretValue::parse("x").unwrap(),
        parse_hosts("https://api.example.com").unwrap(),
        Placement::Bearer,
    )
    .await;
    assert!(matches!(over, Err(SecretsError::TooMany)), "{over:?}");

    secrets::delete(&w.as_owner(ada), app, name())
        .await
        .unwrap();
    assert_eq!(events(&w, ada, APP_SECRET_DELETED).await, 1);
    let gone = secrets::delete(&w.as_owner(ada), app, name()).await;
    assert!(matches!(gone, Err(SecretsError::NoSuchSecret)), "{gone:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn egress_sends_the_secret_to_its_host_alone_and_passes_the_answer_back(owner: PgPool) {
    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    reach(&mut w, &upstream, StdDuration::from_secs(10));
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let hosts = format!("{}\nhttps://second.example.com", upstream.origin);
    add(&w, ada, app, "API_KEY", &hosts, Placement::Bearer).await;
    add(
        &w,
        ada,
        app,
        "HEADER_KEY",
        &upstream.origin,
        Placement::Header("X-Api-Key".into()),
    )
    .await;
    add(
        &w,
        ada,
        app,
        "QUERY_KEY",
        &upstream.origin,
        Placement::Query("api_key".into()),
    )
    .await;
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();

    let request = call(&frame, "_egress/API_KEY/v1/things?q=1", "POST")
        .header("content-type", "application/json")
        .header("x-custom", "kept")
        .header("cookie", "custodian_session=stolen")
        .header("authorization", "Bearer from-the-app")
        .body(Body::from("{\"ask\":1}"))
        .unwrap();
    let (response, body) = send(&w.router(), request).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    assert_eq!(body, "hello from upstream");
    assert_eq!(header(&response, "x-upstream"), "yes");
    assert!(
        response.headers().get("set-cookie").is_none(),
        "the host's cookie stays out"
    );
    assert_eq!(header(&response, "access-control-allow-origin"), "*");
    let seen = upstream.seen().pop().unwrap();
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/v1/things?q=1")
    );
    assert_eq!(
        seen.headers["authorization"],
        format!("Bearer {VALUE}").as_str()
    );
    assert_eq!(seen.headers["x-custom"], "kept");
    assert_eq!(seen.headers["content-type"], "application/json");
    assert!(seen.headers.get("cookie").is_none());
    assert_eq!(seen.body, b"{\"ask\":1}");

    egress(&w, &frame, "_egress/HEADER_KEY/h").await;
    assert_eq!(upstream.seen().pop().unwrap().headers["x-api-key"], VALUE);
    egress(&w, &frame, "_egress/QUERY_KEY/q?a=1&api_key=spoofed").await;
    let target = upstream.seen().pop().unwrap().target;
    assert!(
        target.starts_with("/q?a=1&api_key=") && !target.contains("spoofed"),
        "{target}"
    );

    // A host that hands the header back: the copy never reaches the browser.
    let (response, body) = egress(&w, &frame, "_egress/API_KEY/echo-auth").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("x-echo").is_none());
    assert_eq!(body, "you sent: Bearer [secret]");
    // A redirect could carry a key sent in the query back to the app: it is not passed on.
    let (response, body) = egress(&w, &frame, "_egress/QUERY_KEY/redirect").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(body.contains("redirect") && !body.contains(VALUE), "{body}");
    // The app's own header of the secret's name is replaced, never passed on beside it.
    let request = call(&frame, "_egress/HEADER_KEY/h", "GET")
        .header("x-api-key", "from-the-app")
        .body(Body::empty())
        .unwrap();
    send(&w.router(), request).await;
    let sent: Vec<_> = upstream
        .seen()
        .pop()
        .unwrap()
        .headers
        .get_all("x-api-key")
        .iter()
        .cloned()
        .collect();
    assert_eq!(sent, [VALUE]);

    let seen_before = upstream.seen().len();
    for (path, host, status) in [
        ("_egress/NOPE/x", None, StatusCode::NOT_FOUND),
        ("_egress/lower_case/x", None, StatusCode::NOT_FOUND),
        (
            "_egress/API_KEY/x",
            Some("https://evil.example.com"),
            StatusCode::FORBIDDEN,
        ),
        (
            "_egress/API_KEY/x",
            Some("not a host"),
            StatusCode::FORBIDDEN,
        ),
        (
            "_egress/HEADER_KEY/x",
            Some("https://second.example.com"),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let mut request = call(&frame, path, "GET");
        if let Some(host) = host {
            request = request.header("x-egress-host", host);
        }
        let (response, body) = send(&w.router(), request.body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), status, "{path} {host:?}: {body}");
        assert!(!body.contains(VALUE));
    }
    assert_eq!(
        upstream.seen().len(),
        seen_before,
        "nothing refused was sent"
    );

    let (preflight, _) = send(
        &w.router(),
        call(&frame, "_egress/API_KEY/x", "OPTIONS")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert!(header(&preflight, "access-control-allow-methods").contains("POST"));
    let (put, _) = send(
        &w.router(),
        call(&frame, "_egress/API_KEY/x", "CONNECT")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Without a view, with another app's view, or after the view expired: nothing is sent.
    let other = starter_app(&w, ada).await;
    let other_frame = service::frame(&w.as_owner(ada), other).await.unwrap();
    let token = other_frame.split("/_t/").nth(1).unwrap();
    let borrowed = format!("{}/_t/{token}", w.state.app_hosts.origin(app));
    assert_eq!(
        egress(&w, &borrowed, "_egress/API_KEY/x").await.0.status(),
        StatusCode::NOT_FOUND
    );
    w.clock.advance(Duration::minutes(10));
    assert_eq!(
        egress(&w, &frame, "_egress/API_KEY/x").await.0.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(upstream.seen().len(), seen_before);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn egress_refuses_private_addresses_hanging_hosts_and_huge_answers(owner: PgPool) {
    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    add(&w, ada, app, "API_KEY", &upstream.origin, Placement::Bearer).await;
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();

    // The default: localhost is a loopback address, refused before any connection.
    let (response, body) = egress(&w, &frame, "_egress/API_KEY/x").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("private address"), "{body}");
    assert!(upstream.seen().is_empty());

    reach(&mut w, &upstream, StdDuration::from_secs(1));
    let (response, body) = egress(&w, &frame, "_egress/API_KEY/hang").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(body.contains("did not answer in time"), "{body}");
    let (response, body) = egress(&w, &frame, "_egress/API_KEY/huge").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(body.contains("larger than 10 MB"), "{body}");
    assert!(body.len() < 100);
    // Without a length, the answer is cut off once it passes the limit.
    let request = call(&frame, "_egress/API_KEY/huge-stream", "GET")
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(w.router(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let read = http_body_util::BodyExt::collect(response.into_body()).await;
    assert!(read.is_err(), "the stream stops with an error past 10 MB");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn egress_works_for_everyone_the_app_runs_for_until_their_access_ends(owner: PgPool) {
    use app::{
        apps::{
            model::{LinkExpiry, SharedView},
            service::{links, publish},
        },
        discover::service as discover,
    };

    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    reach(&mut w, &upstream, StdDuration::from_secs(10));
    let (ada, bob, app) = shared_with_bob(&w, MemberRole::Viewer).await;
    add(&w, ada, app, "API_KEY", &upstream.origin, Placement::Bearer).await;
    let link = links::create(&w.as_owner(ada), app, "Team", LinkExpiry::SevenDays, None)
        .await
        .unwrap();
    let token = link.url.rsplit('/').next().unwrap().to_owned();
    let SharedView::Open { frame: by_link, .. } =
        links::open(&w.visitor(), app, &token, None).await.unwrap()
    else {
        panic!("the link opens");
    };
    let by_member = service::frame(&w.as_owner(bob), app).await.unwrap();
    publish::publish(
        &w.as_owner(ada),
        app,
        "My app",
        publish::Author::parse("Ada").unwrap(),
        false,
        None,
    )
    .await
    .unwrap();
    let by_anyone = discover::public_app(&w.state, app, false)
        .await
        .unwrap()
        .frame;
    for frame in [&by_link, &by_member, &by_anyone] {
        let (response, body) = egress(&w, frame, "_egress/API_KEY/x").await;
        assert_eq!(response.status(), StatusCode::CREATED, "{frame}: {body}");
    }
    assert_eq!(upstream.seen().len(), 3);

    // Trashing the app ends every view of it (and its publication) from the next call on.
    service::trash(&w.as_owner(ada), app).await.unwrap();
    for frame in [&by_link, &by_member, &by_anyone] {
        let (response, body) = egress(&w, frame, "_egress/API_KEY/x").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{frame}: {body}");
    }
    assert_eq!(upstream.seen().len(), 3, "nothing more was sent");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_use_is_counted_and_logged_once_an_hour(owner: PgPool) {
    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    reach(&mut w, &upstream, StdDuration::from_secs(10));
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    add(&w, ada, app, "API_KEY", &upstream.origin, Placement::Bearer).await;
    for _ in 0..3 {
        let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
        assert_eq!(
            egress(&w, &frame, "_egress/API_KEY/x").await.0.status(),
            StatusCode::CREATED
        );
    }
    assert_eq!(
        events(&w, ada, APP_SECRET_USED).await,
        1,
        "one event for the hour"
    );
    w.clock.advance(Duration::hours(1));
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
    egress(&w, &frame, "_egress/API_KEY/x").await;
    assert_eq!(events(&w, ada, APP_SECRET_USED).await, 2);
    let AppPageData::Own(detail) = service::page(&w.as_owner(ada), app).await.unwrap() else {
        panic!("the owner's view");
    };
    assert_eq!(detail.secrets[0].uses_last_day, 4);
    assert!(detail.secrets[0].last_used.is_some());
    assert_eq!(w.chain_break(ada).await, None, "the log's chain holds");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_sealed_value_moved_to_another_name_or_app_does_not_open(owner: PgPool) {
    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    reach(&mut w, &upstream, StdDuration::from_secs(10));
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let other = starter_app(&w, ada).await;
    add(&w, ada, app, "API_KEY", &upstream.origin, Placement::Bearer).await;
    for (to_app, to_name) in [(app, "MOVED"), (other, "API_KEY")] {
        sqlx::query(
            "INSERT INTO app_secrets (owner_id, app_id, name, hosts, placement, placement_name, sealed_value, hint, created_at, rotated_at) \
             SELECT owner_id, $2, $3, hosts, placement, placement_name, sealed_value, hint, created_at, rotated_at \
             FROM app_secrets WHERE owner_id = $1 AND app_id = $4 AND name = 'API_KEY'",
        )
        .bind(ada)
        .bind(to_app)
        .bind(to_name)
        .bind(app)
        .execute(&w.owner)
        .await
        .unwrap();
        let frame = service::frame(&w.as_owner(ada), to_app).await.unwrap();
        let (response, body) = egress(&w, &frame, &format!("_egress/{to_name}/x")).await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{body}");
        assert!(
            body.contains("could not be opened") && !body.contains(VALUE),
            "{body}"
        );
    }
    assert!(upstream.seen().is_empty(), "nothing was sent");
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
    assert_eq!(
        egress(&w, &frame, "_egress/API_KEY/x").await.0.status(),
        StatusCode::CREATED
    );
}
