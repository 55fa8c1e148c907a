//! Consent receipts (promise P6) against PostgreSQL and the real router: they verify, any change
//! is detected, and one downloads only for its subject.

use app::{
    platform::db::MIGRATOR,
    privacy::{
        model::ReceiptVerdict,
        service::{ledger, receipts},
    },
};
use axum::http::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{
    browser::{site, Browser},
    header, test_app, SITE,
};

#[sqlx::test(migrator = "MIGRATOR")]
async fn receipts_verify_and_any_change_is_detected(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let ada = w.sign_up("ada@example.com").await;
    let record = ledger::visible_records(&w.visitor_as(Some(ada), None), None)
        .await
        .unwrap()
        .remove(0);
    let receipt = receipts::build(&w.state, &record);
    let text = serde_json::to_string_pretty(&receipt).unwrap();

    match receipts::verify(&w.state, &text) {
        ReceiptVerdict::Genuine {
            receipt_id,
            subject,
            ..
        } => {
            assert_eq!(receipt_id, record.id.to_string());
            // The subject is named by a keyed digest, never by the account's id.
            assert!(subject.starts_with("account:"), "{subject}");
            assert!(!subject.contains(&ada.to_string()), "{subject}");
            assert!(
                !subject.contains(&ada.as_uuid().simple().to_string()),
                "{subject}"
            );
        }
        other => panic!("expected genuine, got {other:?}"),
    }
    // Reformatting is not tampering.
    let compact = serde_json::to_string(&receipt).unwrap();
    assert!(matches!(
        receipts::verify(&w.state, &compact),
        ReceiptVerdict::Genuine { .. }
    ));

    let mut edited = receipt.clone();
    edited["receipt"]["services"][0]["purposes"][0]["consentGiven"] = serde_json::json!(false);
    let edited = serde_json::to_string(&edited).unwrap();
    assert_eq!(
        receipts::verify(&w.state, &edited),
        ReceiptVerdict::Tampered
    );
    let mut added = receipt.clone();
    added["receipt"]["extra"] = serde_json::json!("x");
    assert_eq!(
        receipts::verify(&w.state, &added.to_string()),
        ReceiptVerdict::Tampered
    );

    // Another server's key does not verify it.
    let (elsewhere, _dir) = crate::support::state(
        w.state.pool.clone(),
        SITE,
        std::sync::Arc::new(app::platform::clock::ManualClock::starting_now()),
    );
    assert_eq!(
        receipts::verify(&elsewhere, &text),
        ReceiptVerdict::Tampered
    );

    for broken in [
        &text[..text.len() / 2],
        "",
        "[]",
        r#"{"receipt": {}}"#,
        r#"{"receipt": {}, "signature": {"alg": "Ed25519", "value": "not base64!"}}"#,
        r#"{"receipt": {}, "signature": {"alg": "RS256", "value": ""}}"#,
    ] {
        assert!(
            matches!(
                receipts::verify(&w.state, broken),
                ReceiptVerdict::Malformed(_)
            ),
            "{broken}"
        );
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_receipt_downloads_only_for_its_subject(owner: PgPool) {
    let (app, _state, _dir) = site(&owner).await;
    let mut browser = Browser::default();
    browser
        .post(
            &app,
            "/api/privacy/consent",
            "choice=accept&method=banner&back=%2F",
        )
        .await;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM anonymous_consents")
        .fetch_one(&owner)
        .await
        .unwrap();
    let (response, body) = browser.page(&app, &format!("/privacy/receipts/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-disposition").starts_with("attachment"));
    let receipt: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receipt["receipt"]["consentReceiptID"], id.to_string());
    assert_eq!(receipt["signature"]["alg"], "Ed25519");

    let mut stranger = Browser::default();
    stranger
        .post(
            &app,
            "/api/privacy/consent",
            "choice=reject&method=banner&back=%2F",
        )
        .await;
    let (response, _) = stranger
        .page(&app, &format!("/privacy/receipts/{id}"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (response, _) = stranger.page(&app, "/privacy/receipts/not-a-uuid").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let (response, body) = browser
        .page(&app, "/.well-known/consent-receipt-key.json")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("\"crv\":\"Ed25519\""), "{body}");
    let (response, body) = browser.page(&app, "/.well-known/gpc.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("\"gpc\":true"), "{body}");
}
