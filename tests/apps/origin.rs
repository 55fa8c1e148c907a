//! An app's own origin: content only there, only through a capability token bound to the app,
//! its viewer and ten minutes, with the sandbox's headers and never a cookie; and the site's
//! origin never serves app content.

use app::{
    apps::{
        model::LinkExpiry,
        service::{self, links},
    },
    platform::{clock::Clock, db::MIGRATOR, ids::AppId},
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use sqlx::PgPool;
use time::Duration;

use crate::{
    starter_app,
    support::{header, send, test_app, TestApp},
    ADA, BOB,
};

/// A GET of `url` (an app origin's), as a browser sends it, with the site's session cookie if
/// it had one.
fn get_url(url: &str, cookie: Option<&str>) -> Request<Body> {
    let url = url::Url::parse(url).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut request = Request::get(url.path()).header("host", host);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(Body::empty()).unwrap()
}

async fn owner_frame(w: &TestApp, owner: app::platform::ids::OwnerId, app: AppId) -> String {
    service::frame(&w.as_owner(owner), app).await.unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_owner_opens_the_app_on_its_own_sandboxed_origin(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let frame = owner_frame(&w, ada, app).await;
    assert!(frame.starts_with(&format!(
        "http://{}.apps.localhost:3000/_t/",
        app.as_uuid().simple()
    )));
    let router = w.router();
    let (response, body) = send(&router, get_url(&frame, Some("custodian_session=whatever"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("Hello from your app"));
    let csp = header(&response, "content-security-policy");
    assert!(
        csp.starts_with("sandbox allow-scripts allow-forms allow-popups;"),
        "{csp}"
    );
    assert!(!csp.contains("allow-same-origin"));
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert_eq!(header(&response, "referrer-policy"), "no-referrer");
    assert_eq!(
        header(&response, "content-type"),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(&response, "access-control-allow-origin"), "*");
    for never in [
        "set-cookie",
        "service-worker-allowed",
        "clear-site-data",
        "access-control-allow-credentials",
    ] {
        assert!(response.headers().get(never).is_none(), "{never}");
    }
    let script = frame.clone() + "app.js";
    let (response, body) = send(&router, get_url(&script, None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("clicks"));
    let (missing, _) = send(&router, get_url(&(frame.clone() + "nope.js"), None)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let (escape, _) = send(&router, get_url(&(frame.clone() + "..%2f..%2fetc"), None)).await;
    assert_eq!(escape.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_token_opens_only_its_app_for_ten_minutes_and_only_for_its_viewer(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let first = starter_app(&w, ada).await;
    let second = starter_app(&w, ada).await;
    let frame = owner_frame(&w, ada, first).await;
    let router = w.router();
    let token = frame.split("/_t/").nth(1).unwrap().trim_end_matches('/');
    let elsewhere = format!("{}/_t/{token}/", w.state.app_hosts.origin(second));
    let (response, body) = send(&router, get_url(&elsewhere, None)).await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "a token for app A does not open app B"
    );
    assert!(!body.contains("Hello"));
    let (response, _) = send(
        &router,
        get_url(
            &format!("{}/index.html", w.state.app_hosts.origin(first)),
            None,
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "no token, no app");

    w.clock.advance(Duration::minutes(10));
    let (response, body) = send(&router, get_url(&frame, None)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body.contains("expired"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn revoking_a_link_or_trashing_the_app_closes_frames_on_their_next_request(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let link = links::create(&w.as_owner(ada), app, "Team", LinkExpiry::SevenDays, None)
        .await
        .unwrap();
    let token = link.url.rsplit('/').next().unwrap().to_owned();
    let app::apps::model::SharedView::Open { frame, .. } =
        links::open(&w.visitor(), app, &token, None).await.unwrap()
    else {
        panic!("opens");
    };
    let router = w.router();
    assert_eq!(
        send(&router, get_url(&frame, None)).await.0.status(),
        StatusCode::OK
    );
    links::revoke(&w.as_owner(ada), app, None).await.unwrap();
    assert_eq!(
        send(&router, get_url(&frame, None)).await.0.status(),
        StatusCode::NOT_FOUND
    );

    let owners = owner_frame(&w, ada, app).await;
    assert_eq!(
        send(&router, get_url(&owners, None)).await.0.status(),
        StatusCode::OK
    );
    service::trash(&w.as_owner(ada), app).await.unwrap();
    assert_eq!(
        send(&router, get_url(&owners, None)).await.0.status(),
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_site_never_serves_app_content_and_app_hosts_never_serve_the_site(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let bob = w.sign_up(BOB).await;
    let app = starter_app(&w, ada).await;
    let frame = owner_frame(&w, ada, app).await;
    let router = w.router();
    let path = url::Url::parse(&frame).unwrap().path().to_owned();
    let (on_site, body) = send(
        &router,
        get_url(&format!("http://localhost:3000{path}"), None),
    )
    .await;
    assert_eq!(on_site.status(), StatusCode::NOT_FOUND);
    assert!(!body.contains("Hello from your app"));

    let origin = w.state.app_hosts.origin(app);
    for path in ["/", "/signin", "/api/apps/list", "/pkg/custodian.css"] {
        let (response, body) = send(&router, get_url(&format!("{origin}{path}"), None)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains("Custodian"), "{path}");
        assert!(response.headers().get("set-cookie").is_none());
    }
    let (bare, _) = send(&router, get_url("http://apps.localhost:3000/", None)).await;
    assert_eq!(bare.status(), StatusCode::NOT_FOUND);

    // Bob's capability for his own account does not open Ada's app.
    let bobs = app::apps::service::capability::Capability {
        app,
        viewer: app::apps::service::capability::Viewer::Owner(bob),
        expires_at: w.clock.now() + Duration::minutes(5),
    }
    .mint(&w.state.key_encryption_key);
    let (response, _) = send(&router, get_url(&format!("{origin}/_t/{bobs}/"), None)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let post = Request::post(url::Url::parse(&frame).unwrap().path())
        .header(
            "host",
            url::Url::parse(&frame)
                .unwrap()
                .host_str()
                .unwrap()
                .to_owned()
                + ":3000",
        )
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&router, post).await.0.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}
