//! Retention that enforces itself (promise P16): the daily sweep removes exactly what the
//! schedule says, counted by the database's clock (so the records are made in the past here),
//! refuses to remove anything younger whatever the app role asks, and leaves a security log
//! that still verifies from the signed cut.

use app::{
    data::rights::{
        answer::Action,
        model::{Regime, RequestForm, Right},
    },
    platform::{
        audit,
        clock::Clock,
        db::MIGRATOR,
        ids::OwnerId,
        mail::Mailer,
        retention::{self, Applied},
    },
    security::model::DATA_KEY_ROTATED,
};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use super::rights::{correction, make, operator, set_clock};
use crate::support::{tenant_tx, test_app, TestApp};

async fn count(owner: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(owner).await.unwrap()
}

async fn sweep(w: &TestApp) {
    let mail = tempfile::tempdir().unwrap();
    let context = w.job_context(Mailer::Directory(mail.path().to_owned()));
    retention::run(&context, w.clock.now()).await.unwrap();
}

/// One more event in the owner's log, at the clock's time.
async fn event(w: &TestApp, owner: OwnerId) {
    let mut tx = tenant_tx(&w.state.pool, owner).await;
    audit::record_unattributed(
        &mut tx,
        &w.state.key_encryption_key,
        DATA_KEY_ROTATED,
        "",
        w.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Rows of every swept kind for `owner`, dated `at`, each tagged `tag`.
async fn rows_at(owner: &PgPool, who: OwnerId, at: OffsetDateTime, tag: &str) {
    for statement in [
        "INSERT INTO account_sessions (owner_id, id, store_id, created_at, last_seen_at, expires_at, remember, user_agent, ip_prefix) \
         VALUES ($1, gen_random_uuid(), $3, $2, $2, $2, false, 'ua', '')",
        "INSERT INTO mail_outbox (id, account, recipient, subject, body, created_at, sent_at, essential) \
         VALUES (gen_random_uuid(), $1, 'ada@example.com', $3, '', $2, $2, true)",
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($3 || '-' || $1::text, $2, 1)",
        "INSERT INTO anonymous_consents (id, consent_id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
         VALUES (gen_random_uuid(), gen_random_uuid(), '{essential}', '{}', 1, 'banner', false, $2, $3)",
        "INSERT INTO page_views (path, day, views) VALUES ('/' || $3, $2::date, 3)",
    ] {
        sqlx::query(statement).bind(who).bind(at).bind(tag).execute(owner).await.unwrap();
    }
}

/// Which tags of a kind are left.
async fn left(owner: &PgPool, sql: &str) -> Vec<String> {
    let mut tags: Vec<String> = sqlx::query_scalar(sql).fetch_all(owner).await.unwrap();
    tags.sort();
    tags
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_sweep_removes_exactly_what_the_schedule_says_and_the_log_still_verifies(
    owner: PgPool,
) {
    let w = test_app(owner.clone()).await;
    let now = w.clock.now();
    let at = |days: i64| now - Duration::days(days);

    set_clock(&w, at(1100));
    let ada = w.sign_up("ada@example.com").await;
    let old = make(&w, ada, &correction(Regime::Gdpr)).await.unwrap();
    operator(
        &w,
        ada,
        old,
        Right::Correction,
        Action::Complete { partly: None },
    )
    .await
    .unwrap();
    // A granted restriction is in force until lifted, however old.
    let restrict = RequestForm {
        regime: "gdpr".to_owned(),
        restriction: true,
        ..RequestForm::default()
    };
    let granted = make(&w, ada, &restrict).await.unwrap();
    operator(
        &w,
        ada,
        granted,
        Right::Restriction,
        Action::Complete { partly: None },
    )
    .await
    .unwrap();
    let bob = w.sign_up("bob@example.com").await;
    rows_at(&owner, ada, at(1100), "tag-d1100").await;
    rows_at(&owner, ada, at(1090), "tag-d1090").await;
    set_clock(&w, at(729));
    event(&w, ada).await;
    let recent = make(&w, ada, &correction(Regime::Gdpr)).await.unwrap();
    operator(
        &w,
        ada,
        recent,
        Right::Correction,
        Action::Complete { partly: None },
    )
    .await
    .unwrap();
    rows_at(&owner, ada, at(729), "tag-d729").await;
    rows_at(&owner, ada, at(89), "tag-d89").await;
    rows_at(&owner, ada, now - Duration::hours(1), "tag-d0").await;
    set_clock(&w, now);
    let ada_events = count(
        &owner,
        &format!("SELECT count(*) FROM audit_events WHERE owner_id = '{ada}'"),
    )
    .await;
    let old_events = count(&owner, &format!(
        "SELECT count(*) FROM audit_events WHERE owner_id = '{ada}' AND occurred_at < now() - interval '730 days'"
    )).await;
    assert!(old_events > 0);

    sweep(&w).await;
    let tags = |table: &str, column: &str| {
        format!(
            "SELECT {column} FROM {table} WHERE {column} LIKE 'tag-%' OR {column} LIKE '/tag-%'"
        )
    };
    assert_eq!(
        left(&owner, &tags("account_sessions", "store_id")).await,
        ["tag-d0", "tag-d89"],
        "ended 90 days ago"
    );
    assert_eq!(
        left(&owner, &tags("mail_outbox", "subject")).await,
        ["tag-d0", "tag-d89"],
        "delivered 90 days ago"
    );
    assert_eq!(
        left(&owner, "SELECT split_part(bucket, '-', 1) || '-' || split_part(bucket, '-', 2) FROM rate_limits WHERE bucket LIKE 'tag-%'").await,
        ["tag-d0"],
        "rate-limit windows: 1 day"
    );
    assert_eq!(
        left(&owner, &tags("anonymous_consents", "user_agent")).await,
        ["tag-d0", "tag-d1090", "tag-d729", "tag-d89"],
        "3 years"
    );
    assert_eq!(
        left(&owner, &tags("page_views", "path")).await,
        ["/tag-d0", "/tag-d729", "/tag-d89"],
        "2 years"
    );
    let requests = left(&owner, "SELECT id::text FROM rights_requests").await;
    assert!(
        !requests.contains(&old.to_string()),
        "closed more than 2 years ago"
    );
    assert!(requests.contains(&recent.to_string()));
    assert!(
        requests.contains(&granted.to_string()),
        "a restriction in force is kept"
    );

    let events_left = count(
        &owner,
        &format!("SELECT count(*) FROM audit_events WHERE owner_id = '{ada}'"),
    )
    .await;
    assert_eq!(
        events_left,
        ada_events - old_events,
        "exactly the events older than 2 years"
    );
    assert_eq!(
        w.chain_break(ada).await,
        None,
        "the rest verifies from the signed cut"
    );
    event(&w, ada).await;
    assert_eq!(w.chain_break(ada).await, None, "and goes on from it");
    // A log older than two years throughout is cut to nothing; the next event follows the cut.
    assert_eq!(
        count(
            &owner,
            &format!("SELECT count(*) FROM audit_events WHERE owner_id = '{bob}'")
        )
        .await,
        0
    );
    let cut_at: i64 = count(
        &owner,
        &format!("SELECT seq FROM audit_cuts WHERE owner_id = '{bob}'"),
    )
    .await;
    event(&w, bob).await;
    assert_eq!(w.chain_break(bob).await, None);
    assert_eq!(
        count(
            &owner,
            &format!("SELECT max(seq) FROM audit_events WHERE owner_id = '{bob}'")
        )
        .await,
        cut_at + 1
    );

    // A forged cut does not verify.
    sqlx::query(
        "UPDATE audit_cuts SET signature = decode(repeat('00', 64), 'hex') WHERE owner_id = $1",
    )
    .bind(ada)
    .execute(&owner)
    .await
    .unwrap();
    assert!(matches!(
        w.chain_break(ada).await,
        Some(audit::ChainBreak::Checkpoint { .. })
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_database_refuses_to_remove_anything_younger_than_the_schedule(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let ada = w.sign_up("ada@example.com").await;
    let app_role = &w.state.pool;
    for entry in retention::SCHEDULE {
        let key = match entry.applied {
            Applied::Sweep(key) => key,
            Applied::AuditCut => "security_log",
            Applied::OwnJob(_) => continue,
        };
        let floor: Option<i32> = sqlx::query_scalar("SELECT custodian_retention_floor($1)")
            .bind(key)
            .fetch_one(app_role)
            .await
            .unwrap();
        assert_eq!(
            floor.map(i64::from),
            Some(entry.days),
            "{key}: the database's floor is the schedule's"
        );
        if let Applied::Sweep(key) = entry.applied {
            let shorter = sqlx::query("SELECT custodian_retention_sweep($1, $2)")
                .bind(key)
                .bind(entry.days as i32 - 1)
                .execute(app_role)
                .await;
            assert!(shorter.is_err(), "{key} swept younger than its schedule");
        }
    }
    assert!(sqlx::query("SELECT * FROM custodian_audit_cut_heads(729)")
        .execute(app_role)
        .await
        .is_err());
    assert!(
        sqlx::query("SELECT custodian_retention_sweep('tenants', 10000)")
            .execute(app_role)
            .await
            .is_err()
    );
    // A recent event cannot be cut, even with its hash.
    let (seq, hash): (i64, Vec<u8>) = sqlx::query_as(
        "SELECT seq, hash FROM audit_events WHERE owner_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(ada)
    .fetch_one(&owner)
    .await
    .unwrap();
    let mut tx = tenant_tx(app_role, ada).await;
    let cut: bool =
        sqlx::query_scalar("SELECT custodian_audit_cut($1, $2, $3, 730, now(), '\\x00')")
            .bind(ada)
            .bind(seq)
            .bind(&hash)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert!(!cut);
    tx.commit().await.unwrap();
    assert_eq!(w.chain_break(ada).await, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_privacy_page_shows_the_schedule_the_sweep_runs(owner: PgPool) {
    let (app, _, _dir) = crate::support::browser::site(&owner).await;
    let (_, html) = crate::support::browser::Browser::default()
        .page(&app, "/privacy")
        .await;
    for entry in retention::SCHEDULE {
        assert!(html.contains(entry.what), "{} missing", entry.what);
        assert!(html.contains(&entry.period()), "{} missing", entry.period());
    }
}
