//! Account deletion (promise P8): day 0 locks the account and ends every session, the grace
//! period can be cancelled, reminders come 7 and 1 days before, and the purge erases every row,
//! the data keys and the files, once, whatever interrupts it, with a receipt that verifies.

use app::{
    data::{
        model::{DELETION_CANCELLED, DELETION_REQUESTED},
        service::{
            self,
            deletion::{self, DeletionError},
            purge::{self, Step},
        },
    },
    platform::{
        clock::Clock,
        crypto::{self, Purpose},
        db::MIGRATOR,
        erasure,
        ids::OwnerId,
        jobs::Job,
        mail::Mailer,
        region::{Region, Tenant},
    },
    privacy::{model::ReceiptVerdict, service::receipts},
};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use crate::{
    files_of,
    support::{tenant_tx, test_app, TestApp, PASSWORD},
    Worker,
};

const ADA: &str = "ada@example.com";
const GRACE: Duration = Duration::days(14);

/// The time of the tenant's scheduled hard delete, read as the migration role.
async fn due_of(w: &TestApp, owner: OwnerId) -> Option<OffsetDateTime> {
    sqlx::query_scalar("SELECT deletion_due_at FROM tenants WHERE owner_id = $1")
        .bind(owner.as_uuid())
        .fetch_optional(&w.owner)
        .await
        .unwrap()
        .flatten()
}

/// Ada, verified, with an authenticator (a sealed secret and a data key), an invite she made,
/// an export under way, and two signed-in sessions.
async fn ada_with_everything(w: &TestApp) -> OwnerId {
    let (ada, _, _) = w.with_totp(ADA).await;
    app::auth::service::invites::create(&w.owner, 7, Some(ada))
        .await
        .unwrap();
    service::request(&w.as_owner(ada)).await.unwrap();
    ada
}

/// Requests Ada's deletion as she would: in sudo mode, typing her address.
async fn request_deletion(w: &TestApp, owner: OwnerId) -> OffsetDateTime {
    deletion::request(&w.as_owner(owner), " Ada@Example.com ")
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn day_zero_locks_the_account_ends_every_session_and_says_when(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = ada_with_everything(&w).await;
    // A sign-in waiting for its second step, and a signed-in session (with the code).
    let (waiting, _) = w.password_step(ADA).await;
    let (laptop, _) = w.password_step(ADA).await;
    let phone = w.phone(ada).await;
    app::signin::service::second_step::totp_sign_in(&w.visitor_on(&laptop), &w.code(&phone, 0))
        .await
        .unwrap();
    assert!(w.visitor_of(&laptop).await.user().is_some());
    let bob = w.sign_up_verified("bob@example.com").await;
    let bobs_session = w.sign_in("bob@example.com", PASSWORD).await.unwrap();

    let wrong = deletion::request(&w.as_owner(ada), "bob@example.com").await;
    assert!(matches!(wrong, Err(DeletionError::WrongAddress)));
    assert_eq!(
        due_of(&w, ada).await,
        None,
        "a wrong address changes nothing"
    );

    let due = request_deletion(&w, ada).await;
    assert_eq!(due - w.clock.now(), GRACE);
    assert_eq!(due_of(&w, ada).await, Some(due));

    let again = deletion::request(&w.as_owner(ada), ADA).await;
    assert!(matches!(again, Err(DeletionError::AlreadyScheduled(_))));

    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM account_sessions WHERE owner_id = $1")
            .bind(ada.as_uuid())
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(sessions, 0, "every session of the account ended");
    assert!(w.visitor_of(&laptop).await.user().is_none());
    assert!(
        app::signin::service::second_step::totp_sign_in(
            &w.visitor_on(&waiting),
            &w.code(&phone, 1)
        )
        .await
        .is_err(),
        "the waiting sign-in cannot finish"
    );
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pending_sign_ins WHERE owner_id = $1")
            .bind(ada.as_uuid())
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(
        pending, 0,
        "the sign-in waiting for its second step ended too"
    );
    let export_state: String =
        sqlx::query_scalar("SELECT state FROM data_exports WHERE owner_id = $1")
            .bind(ada.as_uuid())
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(export_state, "deleted", "the export under way is cancelled");
    assert!(w.kinds(ada).await[0].starts_with(DELETION_REQUESTED.code));
    let mail = w.mail_to(ADA).await.pop().unwrap();
    assert!(
        mail.contains(&app::platform::clock::to_minute(due)),
        "{mail}"
    );
    assert!(mail.contains("Cancel deletion"));
    let jobs: Vec<String> = sqlx::query_scalar(
        "SELECT kind || '@' || (run_at - $2)::text FROM jobs WHERE dedupe_key LIKE $1 ORDER BY run_at",
    )
    .bind(format!("deletion:{ada}:%"))
    .bind(w.clock.now())
    .fetch_all(&w.owner)
    .await
    .unwrap();
    assert_eq!(
        jobs,
        [
            "remind_deletion@7 days",
            "remind_deletion@13 days",
            "purge_account@14 days"
        ]
    );

    // Another account is untouched.
    assert!(w.visitor_of(&bobs_session).await.user().is_some());
    assert_eq!(due_of(&w, bob).await, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cancel_restores_the_account_within_the_grace_period_only(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified(ADA).await;
    let nothing = deletion::cancel(&w.as_owner(ada)).await;
    assert!(matches!(nothing, Err(DeletionError::NotScheduled)));

    request_deletion(&w, ada).await;
    w.clock.advance(Duration::days(13));
    deletion::cancel(&w.as_owner(ada)).await.unwrap();
    assert_eq!(due_of(&w, ada).await, None, "unlocked");
    assert!(w.kinds(ada).await[0].starts_with(DELETION_CANCELLED.code));
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE dedupe_key LIKE $1")
        .bind(format!("deletion:{ada}:%"))
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(jobs, 0, "the purge and its reminders are called off");
    // Nothing is purged when the day comes.
    w.clock.advance(Duration::days(2));
    Worker::new(&w).run().await;
    assert!(w.signed_in_as(ADA).await.user().deletion_due().is_none());

    let due = request_deletion(&w, ada).await;
    // An operator runs the purge early (`deletion run-due`): once it has begun, cancelling is
    // too late, even within the grace period.
    let mut early = w.job_context(Mailer::Directory(tempfile::tempdir().unwrap().keep()));
    let operator_clock = app::platform::clock::ManualClock::starting_now();
    operator_clock.advance(due - operator_clock.now());
    early.clock = std::sync::Arc::new(operator_clock);
    let tenant = Tenant::new(ada, Region::DEFAULT);
    purge::purge(&early, uuid::Uuid::new_v4(), tenant, due, Step::Ledger)
        .await
        .unwrap();
    let begun = deletion::cancel(&w.as_owner(ada)).await;
    assert!(matches!(begun, Err(DeletionError::TooLate)), "{begun:?}");
    w.clock.advance(GRACE);
    let late = deletion::cancel(&w.as_owner(ada)).await;
    assert!(matches!(late, Err(DeletionError::TooLate)));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_scheduled_account_signs_in_to_a_locked_session(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified(ADA).await;
    let due = request_deletion(&w, ada).await;
    let me = w.signed_in_as(ADA).await;
    assert_eq!(
        me.user().deletion_due(),
        Some(due),
        "signing in still works, locked"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reminders_come_seven_days_and_one_day_before(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified(ADA).await;
    request_deletion(&w, ada).await;
    // Reminders only: they stay in the outbox, readable.
    let worker = Worker::with_kinds(&w, vec![&purge::REMIND]);
    w.clock.advance(Duration::days(7) - Duration::minutes(1));
    worker.run().await;
    assert_eq!(reminders(&w).await, 0);
    w.clock.advance(Duration::minutes(1));
    worker.run().await;
    assert_eq!(reminders(&w).await, 1);
    w.clock.advance(Duration::days(6));
    worker.run().await;
    assert_eq!(reminders(&w).await, 2);
    let bodies = w.mail_to(ADA).await;
    assert!(bodies[bodies.len() - 2].contains("in about 7 days)"));
    assert!(bodies[bodies.len() - 1].contains("in about 1 day)"));
}

async fn reminders(w: &TestApp) -> usize {
    w.subjects_to(ADA)
        .await
        .into_iter()
        .filter(|s| s.starts_with("Reminder"))
        .count()
}

/// Every table naming the tenant's id or address in any column, as the migration role sees it.
pub(crate) async fn traces(owner: &PgPool, needles: &[String]) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables \
         WHERE table_schema IN ('public', 'tower_sessions') AND table_type = 'BASE TABLE' \
           AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(owner)
    .await
    .unwrap();
    let mut found = Vec::new();
    for table in tables {
        for needle in needles {
            let hits: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {table} t WHERE strpos(lower(t::text), lower($1)) > 0 \
                 OR strpos(encode(convert_to(t::text, 'UTF8'), 'escape'), $1) > 0"
            ))
            .bind(needle)
            .fetch_one(owner)
            .await
            .unwrap();
            if hits > 0 {
                found.push(format!("{table}: {hits} naming {needle}"));
            }
        }
    }
    found
}

/// The tenant tables' rows of `owner_id`, by table, as the migration role counts them.
pub(crate) async fn rows_of(owner: &PgPool, owner_id: OwnerId) -> Vec<String> {
    let mut found = Vec::new();
    for table in crate::support::tenant_tables(owner).await {
        let n: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE owner_id = $1"))
                .bind(owner_id.as_uuid())
                .fetch_one(owner)
                .await
                .unwrap();
        if n > 0 {
            found.push(format!("{table}: {n}"));
        }
    }
    found
}

/// The session blobs, which hold the owner id in binary: searched as bytes.
async fn sessions_naming(owner: &PgPool, owner_id: OwnerId) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM tower_sessions.session \
         WHERE position($1::bytea IN data) > 0 OR position(convert_to($2, 'UTF8') IN data) > 0",
    )
    .bind(owner_id.as_uuid().as_bytes().as_slice())
    .bind(owner_id.to_string())
    .fetch_one(owner)
    .await
    .unwrap()
}

/// The deletion receipt in the mail queued for `to`, before it is delivered.
async fn queued_receipt(w: &TestApp, to: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body FROM mail_outbox WHERE recipient = $1 AND subject LIKE 'Your account is deleted%'",
    )
    .bind(to)
    .fetch_one(&w.owner)
    .await
    .unwrap();
    let start = body.find('{').unwrap();
    let end = body.rfind('}').unwrap();
    body[start..=end].to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_purge_erases_every_trace_and_the_receipt_verifies(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = ada_with_everything(&w).await;
    let bob = w.sign_up_verified("bob@example.com").await;
    let sealed = {
        let mut tx = tenant_tx(&w.state.pool, ada).await;
        let sealed = crypto::seal(
            &mut tx,
            &w.state.key_encryption_key,
            Purpose::TotpSecret,
            b"kept",
            w.clock.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        sealed
    };
    let worker = Worker::new(&w);
    // The export is built before the request (which would cancel it), so its archive is there.
    worker.run().await;
    assert!(!files_of(&w, ada).is_empty());
    // A sign-in left waiting for its second step: its stored session names Ada until it expires.
    let (waiting, _) = w.password_step(ADA).await;
    waiting.save().await.unwrap();
    request_deletion(&w, ada).await;
    assert!(
        sessions_naming(&w.owner, ada).await > 0,
        "the waiting sign-in's session names her"
    );
    w.clock.advance(GRACE - Duration::minutes(1));
    worker.run().await;
    assert!(
        !rows_of(&w.owner, ada).await.is_empty(),
        "nothing goes before the day"
    );

    w.clock.advance(Duration::minutes(1));
    let without_mail = Worker::with_kinds(&w, vec![&purge::PURGE]);
    without_mail.run().await;
    let receipt = queued_receipt(&w, ADA).await;
    worker.run().await;
    assert!(worker
        .delivered()
        .contains("Subject: Your account is deleted"));
    assert_eq!(rows_of(&w.owner, ada).await, Vec::<String>::new());
    let needles = [ada.to_string(), ADA.to_owned()];
    assert_eq!(traces(&w.owner, &needles).await, Vec::<String>::new());
    assert_eq!(sessions_naming(&w.owner, ada).await, 0);
    assert!(files_of(&w, ada).is_empty(), "the export's files are gone");
    assert!(
        !rows_of(&w.owner, bob).await.is_empty(),
        "another account is untouched"
    );

    // Crypto-shredding: what was sealed before cannot be opened, even as the same tenant.
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    let opened = crypto::open(
        &mut tx,
        &w.state.key_encryption_key,
        Purpose::TotpSecret,
        &sealed,
    )
    .await;
    assert!(opened.is_err(), "a sealed copy opens no more");
    drop(tx);

    // The ledger proves it, without naming anyone; the file ledger has it too.
    let entries = erasure::entries(&w.owner).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].complete());
    assert!(entries[0].data_keys_destroyed >= 1);
    let file = erasure::read_file(&w.state.data_dir).await.unwrap();
    assert_eq!(file.len(), 1);
    assert_eq!(file[0].id, entries[0].id);

    // The receipt was the last mail, and its outbox row is gone (no trace above).
    match receipts::verify(&w.state, &receipt) {
        ReceiptVerdict::Deletion {
            ledger_entry,
            data_key_destroyed,
            rows_removed,
            ..
        } => {
            assert_eq!(ledger_entry, entries[0].id.to_string());
            assert!(data_key_destroyed);
            assert!(rows_removed > 5);
        }
        other => panic!("not a genuine deletion receipt: {other:?}"),
    }
    let edited = receipt.replacen(
        "\"dataKeyDestroyed\": true",
        "\"dataKeyDestroyed\": false",
        1,
    );
    assert_ne!(edited, receipt);
    assert_eq!(
        receipts::verify(&w.state, &edited),
        ReceiptVerdict::Tampered
    );

    // The address is free to sign up again, as a new account (with an invite that outlived
    // the grace period).
    let invite = app::auth::service::invites::create(&w.owner, 30, None)
        .await
        .unwrap();
    let again = app::auth::service::accounts::sign_up(&w.visitor(), w.sign_up_as(ADA, invite.code))
        .await
        .unwrap()
        .expect("the address is free");
    assert_ne!(again, ada);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_purge_killed_at_any_step_finishes_once(owner: PgPool) {
    let w = test_app(owner).await;
    let steps = [Step::Ledger, Step::Routes, Step::Files, Step::Rows];
    let mut people = Vec::new();
    for n in 0..steps.len() {
        let email = format!("person{n}@example.com");
        people.push((w.sign_up_verified(&email).await, email));
    }
    for ((person, email), step) in people.into_iter().zip(steps) {
        let due = deletion::request(&w.as_owner(person), &email)
            .await
            .unwrap();
        w.clock.advance(GRACE);
        let context = w.job_context(Mailer::Directory(tempfile::tempdir().unwrap().keep()));
        let tenant = Tenant::new(person, Region::DEFAULT);
        let job: Job = sqlx::query_as::<_, (uuid::Uuid, serde_json::Value)>(
            "SELECT id, payload FROM jobs WHERE dedupe_key = $1",
        )
        .bind(purge::key(person, due, None))
        .fetch_one(&w.owner)
        .await
        .map(|(id, payload)| Job {
            id,
            kind: purge::PURGE.name.to_owned(),
            payload,
            attempt: 1,
            holder: String::new(),
        })
        .unwrap();
        purge::purge(&context, job.id, tenant, due, step)
            .await
            .unwrap();
        // The process died there; the job runs again and finishes.
        let worker = Worker::new(&w);
        worker.run().await;
        assert_eq!(
            rows_of(&w.owner, person).await,
            Vec::<String>::new(),
            "{step:?}"
        );
        assert_eq!(
            traces(&w.owner, &[person.to_string(), email.clone()]).await,
            Vec::<String>::new(),
            "{step:?}"
        );
        let receipts = worker
            .delivered()
            .matches("Subject: Your account is deleted")
            .count();
        assert_eq!(receipts, 1, "one receipt after a stop at {step:?}");
        // A further run finds the purge done and does nothing more.
        assert!(purge::purge(&context, job.id, tenant, due, Step::End)
            .await
            .unwrap()
            .is_some_and(|entry| entry.complete()));
    }
    let entries = erasure::entries(&w.owner).await.unwrap();
    assert_eq!(entries.len(), 4, "each account purged once");
    assert!(entries.iter().all(erasure::Entry::complete));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_app_role_cannot_purge_what_is_not_due_nor_erase_at_will(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified(ADA).await;
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    let refused =
        crate::support::refusal(&mut tx, "SELECT custodian_purge_tenant(now(), '{}', NULL)").await;
    assert_eq!(refused.as_deref(), Some("42501"), "not due: refused");
    drop(tx);
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    let refused = crate::support::refusal(
        &mut tx,
        &format!("SELECT custodian_erase_tenant_everywhere('{ada}', '{{}}', NULL)"),
    )
    .await;
    assert_eq!(
        refused.as_deref(),
        Some("42501"),
        "not the app role's to call"
    );
    drop(tx);
    assert!(!rows_of(&w.owner, ada).await.is_empty());
}
