//! Rights requests (promise P15): each right's clock as the law counts it, on the injected
//! clock; operators' actions under the same rules; the closure receipt; bad input; the report.

use app::{
    data::rights::{
        answer::{self, Action, Answerer},
        model::{Regime, RequestForm, Right, Status},
        report,
        service::{self as rights, RightsError},
    },
    platform::{clock::Clock, db::MIGRATOR, ids::OwnerId, restriction},
    privacy::{model::ReceiptVerdict, service::receipts},
};
use sqlx::PgPool;
use time::{macros::datetime, OffsetDateTime};
use uuid::Uuid;

use crate::support::{tenant_tx, test_app, TestApp};

const ADA: &str = "ada@example.com";

/// Moves the test's clock to `at`.
pub(crate) fn set_clock(w: &TestApp, at: OffsetDateTime) {
    w.clock.advance(at - w.clock.now());
}

pub(crate) fn correction(regime: Regime) -> RequestForm {
    RequestForm {
        regime: regime.as_str().to_owned(),
        correction: true,
        correction_data: "My display name on old invoices".to_owned(),
        correction_wrong: "Ada Lovelance".to_owned(),
        correction_should: "Ada Lovelace".to_owned(),
        ..RequestForm::default()
    }
}

pub(crate) async fn make(
    w: &TestApp,
    owner: OwnerId,
    form: &RequestForm,
) -> Result<Uuid, RightsError> {
    rights::make(&w.as_owner(owner), form).await
}

/// What an operator does, as `custodian requests` does it.
pub(crate) async fn operator(
    w: &TestApp,
    owner: OwnerId,
    id: Uuid,
    right: Right,
    action: Action,
) -> Result<String, RightsError> {
    let mut tx = tenant_tx(&w.state.pool, owner).await;
    let by = Answerer {
        key: &w.state.key_encryption_key,
        now: w.clock.now(),
        site: &w.state.public_url,
    };
    let told = answer::act(&mut tx, &by, id, right, action).await?;
    tx.commit().await.unwrap();
    Ok(told)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_right_is_due_as_its_law_counts_and_the_receipt_is_confirmed_by_mail(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    // 31 January: one GDPR month ends on the last day of February.
    set_clock(&w, datetime!(2027-01-31 10:00 UTC));
    make(&w, ada, &correction(Regime::Gdpr)).await.unwrap();
    // A Friday under the CCPA: ten business days, and 45 calendar days.
    set_clock(
        &w,
        datetime!(2027-01-01 09:00 UTC) + time::Duration::days(365),
    );
    let ccpa = RequestForm {
        regime: "ccpa".to_owned(),
        access: true,
        ..RequestForm::default()
    };
    make(&w, ada, &ccpa).await.unwrap();
    let overview = rights::overview(&w.as_owner(ada)).await.unwrap();
    let [newest, first] = &overview.requests[..] else {
        panic!("two requests: {overview:?}")
    };
    let ccpa_access = &newest.rights[0];
    assert_eq!(ccpa_access.right, Right::Access);
    assert_eq!(ccpa_access.confirm_by.as_deref(), Some("2028-01-14"));
    assert_eq!(ccpa_access.due_on, "2028-02-15");
    assert_eq!(ccpa_access.days_left, Some(45));
    let gdpr = &first.rights[0];
    assert_eq!(
        (gdpr.right, gdpr.status),
        (Right::Correction, Status::Received)
    );
    assert_eq!(gdpr.due_on, "2027-02-28");
    assert_eq!(
        gdpr.confirm_by, None,
        "GDPR has no separate confirmation clock"
    );
    assert!(
        gdpr.days_left.unwrap() < 0,
        "long overdue by the second request's day"
    );
    let mail = w.mail_to(ADA).await;
    assert_eq!(
        mail.iter()
            .filter(|m| m.starts_with("We received your request"))
            .count(),
        2
    );
    assert!(mail.iter().any(|m| m.contains("2027-02-28")), "{mail:?}");
    assert!(w
        .kinds(ada)
        .await
        .iter()
        .any(|k| k == "rights_requested:Correction"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_extension_comes_once_with_its_reason_and_only_inside_the_first_period(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    set_clock(&w, datetime!(2027-03-10 12:00 UTC));
    let id = make(&w, ada, &correction(Regime::Both)).await.unwrap();
    let late = make(&w, ada, &correction(Regime::Gdpr)).await;
    // A second correction while the first is open is fine: it is not a restriction request.
    let late = late.unwrap();

    set_clock(&w, datetime!(2027-04-10 23:00 UTC));
    let told = operator(
        &w,
        ada,
        id,
        Right::Correction,
        Action::Extend {
            reason: "The invoices are archived offsite.".to_owned(),
        },
    )
    .await
    .unwrap();
    // Both regimes: three GDPR months (10 June) against 90 days (8 June).
    assert!(told.contains("2027-06-08"), "{told}");
    let again = operator(
        &w,
        ada,
        id,
        Right::Correction,
        Action::Extend {
            reason: "More".to_owned(),
        },
    )
    .await;
    assert!(
        matches!(again, Err(RightsError::NoExtension(_, ref why)) if why.contains("one extension")),
        "{again:?}"
    );

    set_clock(&w, datetime!(2027-04-11 00:01 UTC));
    let too_late = operator(
        &w,
        ada,
        late,
        Right::Correction,
        Action::Extend {
            reason: "Busy".to_owned(),
        },
    )
    .await;
    assert!(
        matches!(too_late, Err(RightsError::NoExtension(_, ref why)) if why.contains("2027-04-10")),
        "{too_late:?}"
    );
    let without_reason = operator(
        &w,
        ada,
        late,
        Right::Correction,
        Action::Refuse {
            reason: " ".to_owned(),
        },
    )
    .await;
    assert!(matches!(without_reason, Err(RightsError::ReasonNeeded)));

    let overview = rights::overview(&w.as_owner(ada)).await.unwrap();
    let extended = overview.requests.iter().find(|r| r.id == id).unwrap();
    assert_eq!(extended.rights[0].due_on, "2027-06-08");
    assert_eq!(extended.rights[0].status, Status::InProgress);
    assert_eq!(
        extended.rights[0].extension_reason.as_deref(),
        Some("The invoices are archived offsite.")
    );
    assert!(w
        .mail_to(ADA)
        .await
        .iter()
        .any(|m| m.contains("needs more time") && m.contains("archived offsite")));
    assert!(w
        .kinds(ada)
        .await
        .iter()
        .any(|k| k.starts_with("right_extended:")));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn closing_every_right_signs_a_receipt_that_verifies_and_a_changed_one_does_not(
    owner: PgPool,
) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let bob = w.sign_up("bob@example.com").await;
    let form = RequestForm {
        restriction: true,
        objection: true,
        objection_purpose: "product_analytics".to_owned(),
        ..correction(Regime::Gdpr)
    };
    let id = make(&w, ada, &form).await.unwrap();
    operator(
        &w,
        ada,
        id,
        Right::Correction,
        Action::Complete { partly: None },
    )
    .await
    .unwrap();
    let closed = operator(
        &w,
        ada,
        id,
        Right::Correction,
        Action::Complete { partly: None },
    )
    .await;
    assert!(
        matches!(closed, Err(RightsError::Closed("Correction", "Done"))),
        "{closed:?}"
    );
    assert!(
        matches!(
            rights::receipt(&w.as_owner(ada), id).await,
            Err(RightsError::NoSuchRequest)
        ),
        "no receipt while a right is open"
    );
    operator(
        &w,
        ada,
        id,
        Right::Objection,
        Action::Refuse {
            reason: "Counting page views needs no personal data.".to_owned(),
        },
    )
    .await
    .unwrap();
    w.clock.advance(time::Duration::days(40));
    operator(
        &w,
        ada,
        id,
        Right::Restriction,
        Action::Complete { partly: None },
    )
    .await
    .unwrap();

    // Another tenant cannot reach it, by any id.
    assert!(operator(
        &w,
        bob,
        id,
        Right::Access,
        Action::Complete { partly: None }
    )
    .await
    .is_err());
    assert!(rights::receipt(&w.as_owner(bob), id).await.is_err());

    let receipt = rights::receipt(&w.as_owner(ada), id).await.unwrap();
    let text = receipt.to_string();
    match receipts::verify(&w.state, &text) {
        ReceiptVerdict::RightsClosure {
            request_id, rights, ..
        } => {
            assert_eq!(request_id, id.to_string());
            assert!(
                rights.contains(&"Correction: Done (within the due date)".to_owned()),
                "{rights:?}"
            );
            assert!(
                rights.contains(&"Objection: Refused (within the due date)".to_owned()),
                "{rights:?}"
            );
            assert!(
                rights.contains(&"Restriction of processing: Done (after the due date)".to_owned()),
                "{rights:?}"
            );
        }
        other => panic!("not verified: {other:?}"),
    }
    let changed = text
        .replace("after the due", "within the due")
        .replace("\"withinDueDate\":false", "\"withinDueDate\":true");
    assert_eq!(
        receipts::verify(&w.state, &changed),
        ReceiptVerdict::Tampered
    );
    // A granted restriction stays until the person lifts it.
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    assert!(restriction::of(&mut tx, ada).await.unwrap().is_some());
    drop(tx);
    rights::lift(&w.as_owner(ada)).await.unwrap();
    assert!(matches!(
        rights::lift(&w.as_owner(ada)).await,
        Err(RightsError::NothingToLift)
    ));
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    assert!(restriction::of(&mut tx, ada).await.unwrap().is_none());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_requests_are_refused_with_a_reason_and_write_nothing(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let ada = w.sign_up(ADA).await;
    let nothing = RequestForm {
        regime: "gdpr".to_owned(),
        ..RequestForm::default()
    };
    assert!(matches!(
        make(&w, ada, &nothing).await,
        Err(RightsError::NothingAsked)
    ));
    let unknown_regime = RequestForm {
        regime: "mars".to_owned(),
        ..correction(Regime::Gdpr)
    };
    assert!(matches!(
        make(&w, ada, &unknown_regime).await,
        Err(RightsError::UnknownRegime)
    ));
    let empty = RequestForm {
        correction_wrong: "  ".to_owned(),
        ..correction(Regime::Gdpr)
    };
    assert!(matches!(
        make(&w, ada, &empty).await,
        Err(RightsError::Field {
            field: "correction_wrong",
            ..
        })
    ));
    let overlong = RequestForm {
        correction_should: "x".repeat(2_001),
        ..correction(Regime::Gdpr)
    };
    assert!(matches!(
        make(&w, ada, &overlong).await,
        Err(RightsError::Field {
            field: "correction_should",
            ..
        })
    ));
    let purpose = RequestForm {
        regime: "gdpr".to_owned(),
        objection: true,
        objection_purpose: "'; DROP TABLE rights_items; --".to_owned(),
        ..RequestForm::default()
    };
    assert!(matches!(
        make(&w, ada, &purpose).await,
        Err(RightsError::Field {
            field: "objection_purpose",
            ..
        })
    ));
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM rights_requests")
            .fetch_one(&owner)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 0);

    let restrict = RequestForm {
        regime: "gdpr".to_owned(),
        restriction: true,
        ..RequestForm::default()
    };
    make(&w, ada, &restrict).await.unwrap();
    assert!(matches!(
        make(&w, ada, &restrict).await,
        Err(RightsError::AlreadyRestricted(_))
    ));
    for _ in 0..4 {
        make(&w, ada, &correction(Regime::Gdpr)).await.unwrap();
    }
    assert!(matches!(
        make(&w, ada, &correction(Regime::Gdpr)).await,
        Err(RightsError::DailyLimit)
    ));
    assert_eq!(count().await, 5);
    w.clock.advance(time::Duration::days(1));

    app::data::service::deletion::request(&w.as_owner(ada), ADA)
        .await
        .unwrap();
    assert!(matches!(
        make(&w, ada, &correction(Regime::Gdpr)).await,
        Err(RightsError::ScheduledForDeletion)
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn many_requests_at_once_stop_at_the_daily_limit(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let ada = w.sign_up(ADA).await;
    let attempts = (0..12).map(|_| {
        let w = &w;
        async move { make(w, ada, &correction(Regime::Gdpr)).await }
    });
    let outcomes = futures::future::join_all(attempts).await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 5);
    assert!(outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .all(|e| matches!(e, RightsError::DailyLimit)));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn objection_to_marketing_and_do_not_sell_take_effect_at_once(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let ada = w.sign_up(ADA).await;
    rights::set_product_news(&w.as_owner(ada), true)
        .await
        .unwrap();
    let form = RequestForm {
        regime: "ccpa".to_owned(),
        objection: true,
        objection_purpose: "direct_marketing".to_owned(),
        opt_out: true,
        ..RequestForm::default()
    };
    let id = make(&w, ada, &form).await.unwrap();
    let overview = rights::overview(&w.as_owner(ada)).await.unwrap();
    assert!(!overview.product_news);
    assert_eq!(
        overview.restriction, None,
        "an objection to marketing needs no restriction"
    );
    let request = &overview.requests[0];
    assert!(
        request.rights.iter().all(|r| r.status == Status::Done),
        "{request:?}"
    );
    assert!(
        request.closed.is_some(),
        "nothing left open: closed with its receipt"
    );
    assert!(rights::receipt(&w.as_owner(ada), id).await.is_ok());
    let denied: Vec<String> = sqlx::query_scalar(
        "SELECT denied FROM consent_records WHERE owner_id = $1 AND method = 'request'",
    )
    .bind(ada)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert!(denied.contains(&"sale_share".to_owned()));
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    assert!(
        !rights::queue_product_news(&mut tx, "News", "Body", w.clock.now())
            .await
            .unwrap()
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_report_counts_each_right_per_year_with_the_median_days(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let bob = w.sign_up("bob@example.com").await;
    set_clock(&w, datetime!(2027-05-03 08:00 UTC));
    let first = make(&w, ada, &correction(Regime::Gdpr)).await.unwrap();
    let second = make(&w, bob, &correction(Regime::Gdpr)).await.unwrap();
    let third = make(
        &w,
        bob,
        &RequestForm {
            correction: false,
            access: true,
            ..correction(Regime::Gdpr)
        },
    )
    .await
    .unwrap();
    w.clock.advance(time::Duration::days(4));
    operator(
        &w,
        ada,
        first,
        Right::Correction,
        Action::Complete { partly: None },
    )
    .await
    .unwrap();
    w.clock.advance(time::Duration::days(6));
    operator(
        &w,
        bob,
        second,
        Right::Correction,
        Action::Refuse {
            reason: "Not ours".to_owned(),
        },
    )
    .await
    .unwrap();
    let _ = third;

    let rows = report::report(&w.state.regions).await.unwrap();
    let correction_2027 = rows
        .iter()
        .find(|r| r.right == Right::Correction && r.year == 2027)
        .unwrap();
    assert_eq!(
        (
            correction_2027.received,
            correction_2027.done,
            correction_2027.refused
        ),
        (2, 1, 1)
    );
    assert_eq!(correction_2027.median_days, Some(7.0), "4 and 10 days");
    let access = rows.iter().find(|r| r.right == Right::Access).unwrap();
    assert_eq!(
        (access.received, access.done, access.median_days),
        (1, 0, None)
    );
}
