//! Uploads through the site, as the page's form sends them: a multipart post of an app's worth
//! of files from a signed-in browser on the site; refused from another site, without a session,
//! and above the limits, each with the page's own message.

use app::platform::db::MIGRATOR;
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use sqlx::PgPool;

use crate::support::{
    browser::{site, Browser, FIREFOX, ORIGIN},
    header, send,
};

const BOUNDARY: &str = "----custodian-test-boundary";

fn multipart(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn upload(browser: &Browser, app: &str, site_header: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(format!("/apps/{app}/files"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("sec-fetch-site", site_header)
        .header("referer", format!("{ORIGIN}/apps/{app}"))
        .header("user-agent", FIREFOX)
        .header("cookie", browser.cookie_header())
        .body(Body::from(body))
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_app_worth_of_files_uploads_through_the_form_and_nothing_else_does(owner: PgPool) {
    let (router, _state, _dir) = site(&owner).await;
    let mut ada = Browser::default();
    ada.join_as_ada(&router, &owner, false).await;
    let (response, id) = ada
        .post_json(
            &router,
            "/api/apps/create",
            "name=Big&description=&start=empty",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{id}");
    let app = id.trim_matches('"').to_owned();

    let big = vec![b'x'; 9 << 20];
    let request = upload(
        &ada,
        &app,
        "same-origin",
        multipart(&[("big.txt", &big), ("index.html", b"<p>hi")]),
    );
    let (response, _) = send(&router, request).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&response, "location"),
        format!("/apps/{app}?notice=files-uploaded")
    );

    let too_big = vec![b'y'; 2 << 20];
    let request = upload(
        &ada,
        &app,
        "same-origin",
        multipart(&[("more.txt", &too_big)]),
    );
    let (response, _) = send(&router, request).await;
    assert_eq!(
        header(&response, "location"),
        format!("/apps/{app}?upload_error=app-too-large")
    );
    let (page, html) = ada
        .page(&router, &format!("/apps/{app}?upload_error=app-too-large"))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        html.contains("An app&#x27;s files may weigh 10 MB together at most")
            || html.contains("An app's files may weigh 10 MB together at most")
    );
    assert!(html.contains("big.txt") && !html.contains("more.txt"));

    // An address can only name one of the fixed messages: anything else shows none.
    let crafted = ada
        .page(
            &router,
            &format!("/apps/{app}?upload_error=%3Cb%3Eyou+were+hacked"),
        )
        .await
        .1;
    assert!(!crafted.contains("nothing was uploaded") && !crafted.contains("<b>you"));

    let cross_site = upload(&ada, &app, "cross-site", multipart(&[("x.txt", b"x")]));
    assert_eq!(
        send(&router, cross_site).await.0.status(),
        StatusCode::FORBIDDEN
    );

    let stranger = Browser::default();
    let anonymous = upload(
        &stranger,
        &app,
        "same-origin",
        multipart(&[("x.txt", &big)]),
    );
    assert_eq!(
        send(&router, anonymous).await.0.status(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "without a session, no upload-sized body is read"
    );
    let small_anonymous = upload(
        &stranger,
        &app,
        "same-origin",
        multipart(&[("x.txt", b"x")]),
    );
    let (response, _) = send(&router, small_anonymous).await;
    assert_ne!(response.status(), StatusCode::SEE_OTHER);
    assert!(!header(&response, "location").contains("files-uploaded"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_share_link_that_does_not_work_answers_404_and_no_link_page_is_indexed(owner: PgPool) {
    let (router, _state, _dir) = site(&owner).await;
    let mut ada = Browser::default();
    ada.join_as_ada(&router, &owner, false).await;
    let (_, id) = ada
        .post_json(
            &router,
            "/api/apps/create",
            "name=Zebra+Garden&description=&start=starter",
        )
        .await;
    let app = id.trim_matches('"').to_owned();
    let (_, link) = ada
        .post_json(
            &router,
            "/api/apps/link/create",
            &format!("id={app}&label=All&expiry=7&password="),
        )
        .await;
    let url: serde_json::Value = serde_json::from_str(&link).unwrap();
    let path = url["url"]
        .as_str()
        .unwrap()
        .split("3000")
        .nth(1)
        .unwrap()
        .to_owned();

    let mut stranger = Browser::default();
    let (response, html) = stranger.page(&router, &path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("Zebra Garden"));
    assert_eq!(header(&response, "x-robots-tag"), "noindex, nofollow");
    assert_eq!(header(&response, "referrer-policy"), "no-referrer");
    assert!(html.contains("sandbox=\"allow-scripts allow-forms allow-popups\""));
    assert!(!html.contains("srcdoc"));

    ada.post_json(&router, "/api/apps/link/revoke", &format!("id={app}"))
        .await;
    let (response, html) = stranger.page(&router, &path).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(html.contains("This link does not work"));
    assert!(
        !html.contains("Zebra Garden"),
        "nothing of the app is shown"
    );
    let guessed = format!("/s/{app}/{}", "A".repeat(43));
    assert_eq!(
        stranger.page(&router, &guessed).await.0.status(),
        StatusCode::NOT_FOUND
    );
}
