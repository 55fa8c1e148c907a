//! The security log's chain is keyed and checkpointed (issue 11 finding 9): rows rewritten with
//! plain hashes, or cut off after a signed checkpoint, do not verify, and `custodian audit verify`
//! checks one account's log or every one.

use app::platform::clock::Clock;
use app::platform::{
    audit::{ChainBreak, CHECKPOINT_EVERY},
    config::Settings,
    db::MIGRATOR,
    ids::OwnerId,
};
use custodian::cli::{audit, CliError};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::support::{refusal, tenant_tx, test_app, PASSWORD};

/// Rewrites a tenant's whole chain with the unkeyed SHA-256 construction anyone can compute, as
/// someone with write access to the table would after editing a row.
async fn rehash_without_the_key(owner: &PgPool, owner_id: OwnerId) {
    let rows: Vec<(i64, OffsetDateTime, String, String, String, String)> = sqlx::query_as(
        "SELECT seq, occurred_at, kind, detail, ip_prefix, user_agent FROM audit_events \
         WHERE owner_id = $1 ORDER BY seq",
    )
    .bind(owner_id)
    .fetch_all(owner)
    .await
    .unwrap();
    let mut prev = vec![0u8; 32];
    for (seq, at, kind, detail, ip, agent) in rows {
        let mut hasher = Sha256::new();
        hasher.update(&prev);
        hasher.update(seq.to_be_bytes());
        hasher.update(at.unix_timestamp_nanos().to_be_bytes());
        for field in [&kind, &detail, &ip, &agent] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        let hash = hasher.finalize().to_vec();
        sqlx::query(
            "UPDATE audit_events SET prev_hash = $3, hash = $4 WHERE owner_id = $1 AND seq = $2",
        )
        .bind(owner_id)
        .bind(seq)
        .bind(&prev)
        .bind(&hash)
        .execute(owner)
        .await
        .unwrap();
        prev = hash;
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_edit_rehashed_without_the_servers_key_is_detected(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    w.sign_up("bob@example.com").await;
    assert_eq!(w.chain_break(ada).await, None);
    sqlx::query(
        "UPDATE audit_events SET detail = 'nothing happened' WHERE owner_id = $1 AND seq = 1",
    )
    .bind(ada)
    .execute(&w.owner)
    .await
    .unwrap();
    rehash_without_the_key(&w.owner, ada).await;
    assert_eq!(
        w.chain_break(ada).await,
        Some(ChainBreak::Altered { seq: 1 })
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn events_cut_off_after_a_signed_checkpoint_or_a_forged_checkpoint_are_detected(
    owner: PgPool,
) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    for i in 0..CHECKPOINT_EVERY + 3 {
        app::account::service::change_display_name(&w.as_owner(ada), &format!("Ada {i}"))
            .await
            .unwrap();
    }
    let checkpoints: Vec<i64> =
        sqlx::query_scalar("SELECT seq FROM audit_checkpoints WHERE owner_id = $1 ORDER BY seq")
            .bind(ada)
            .fetch_all(&w.owner)
            .await
            .unwrap();
    assert_eq!(checkpoints, [1, 1 + CHECKPOINT_EVERY]);
    assert_eq!(w.chain_break(ada).await, None);

    // The newest events are deleted, down to before the last checkpoint: the chain itself is
    // intact, but the checkpoint says it was longer.
    sqlx::query("DELETE FROM audit_events WHERE owner_id = $1 AND seq > $2")
        .bind(ada)
        .bind(CHECKPOINT_EVERY)
        .execute(&w.owner)
        .await
        .unwrap();
    assert_eq!(
        w.chain_break(ada).await,
        Some(ChainBreak::Truncated {
            checkpoint: 1 + CHECKPOINT_EVERY,
            last: CHECKPOINT_EVERY
        })
    );
    // Deleting the checkpoint too leaves a forged one to cover the tracks, which fails.
    sqlx::query("DELETE FROM audit_checkpoints WHERE owner_id = $1 AND seq > 1")
        .bind(ada)
        .execute(&w.owner)
        .await
        .unwrap();
    assert_eq!(w.chain_break(ada).await, None);
    sqlx::query("UPDATE audit_checkpoints SET signed_at = signed_at + interval '1 second' WHERE owner_id = $1")
        .bind(ada)
        .execute(&w.owner)
        .await
        .unwrap();
    assert_eq!(
        w.chain_break(ada).await,
        Some(ChainBreak::Checkpoint { seq: 1 })
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn audit_verify_checks_one_account_or_every_one(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let bob = w.sign_up("bob@example.com").await;
    let region = format!("us-east={}", w.database_url());
    let settings = Settings::from_args([
        "custodian",
        "--database-url",
        &w.database_url(),
        "--region-database-urls",
        &region,
        "--key-file",
        w.key_file().to_str().unwrap(),
    ])
    .unwrap();
    audit::verify(&settings, None).await.unwrap();

    sqlx::query("UPDATE audit_events SET detail = 'x' WHERE owner_id = $1")
        .bind(bob)
        .execute(&w.owner)
        .await
        .unwrap();
    assert!(matches!(
        audit::verify(&settings, None).await,
        Err(CliError::AuditBroken(1))
    ));
    audit::verify(&settings, Some(" ADA@example.com "))
        .await
        .unwrap();
    assert!(matches!(
        audit::verify(&settings, Some("bob@example.com")).await,
        Err(CliError::AuditBroken(1))
    ));
    assert!(matches!(
        audit::verify(&settings, Some("nobody@example.com")).await,
        Err(CliError::NoSuchAccount(_))
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn logs_written_before_the_chain_was_keyed_are_rekeyed_once_and_forgeries_are_not(
    owner: PgPool,
) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let bob = w.sign_up("bob@example.com").await;
    // As a server before this change left them: plain SHA-256 chains, no checkpoints, and the
    // upgrade not yet done. Bob's log was also edited and rehashed by someone else.
    for owner_id in [ada, bob] {
        rehash_without_the_key(&w.owner, owner_id).await;
    }
    sqlx::query("UPDATE audit_events SET detail = 'nothing' WHERE owner_id = $1 AND seq = 1")
        .bind(bob)
        .execute(&w.owner)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_checkpoints")
        .execute(&w.owner)
        .await
        .unwrap();
    assert!(w.chain_break(ada).await.is_some());

    let now = w.clock.now();
    let key = &w.state.key_encryption_key;
    let rekeyed = app::platform::audit::rekey_legacy_chains(&w.owner, key, now)
        .await
        .unwrap();
    assert_eq!(rekeyed, 1, "Ada's intact log, not Bob's broken one");
    assert_eq!(w.chain_break(ada).await, None);
    assert!(w.chain_break(bob).await.is_some());
    // Once only: a log rewritten in plain SHA-256 afterwards is not blessed by another start.
    rehash_without_the_key(&w.owner, ada).await;
    let again = app::platform::audit::rekey_legacy_chains(&w.owner, key, now)
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert!(w.chain_break(ada).await.is_some());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_audit_chain_verifies_and_breaks_when_edited_or_deleted(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    w.sign_in("ada@example.com", "wrong wrong wrong")
        .await
        .unwrap_err();
    w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    let verify = || w.chain_break(ada);
    assert_eq!(verify().await, None);

    // The app role may not change the log at all.
    for statement in [
        "UPDATE audit_events SET detail = 'x'",
        "DELETE FROM audit_events",
    ] {
        let mut tx = tenant_tx(&w.state.pool, ada).await;
        assert_eq!(
            refusal(&mut tx, statement).await.as_deref(),
            Some("42501"),
            "{statement}"
        );
    }

    // Someone with more power edits a row: detected.
    sqlx::query(
        "UPDATE audit_events SET detail = 'nothing happened' WHERE owner_id = $1 AND seq = 2",
    )
    .bind(ada)
    .execute(&w.owner)
    .await
    .unwrap();
    assert_eq!(verify().await, Some(ChainBreak::Altered { seq: 2 }));
    // Or deletes one: detected too.
    sqlx::query("DELETE FROM audit_events WHERE owner_id = $1 AND seq = 2")
        .bind(ada)
        .execute(&w.owner)
        .await
        .unwrap();
    assert_eq!(verify().await, Some(ChainBreak::Gap { seq: 3 }));
}
