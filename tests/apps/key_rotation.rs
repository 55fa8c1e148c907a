//! Key rotation (promise P9): a tenant's data key, from the Security pages or the operator's
//! command, seals every value again; the key that wraps every data key rotates with
//! `custodian keys rotate-kek`, after which the old one opens nothing and everything else
//! (egress, the authenticator, signatures) works as before.

use std::time::Duration as StdDuration;

use app::{
    apps::{
        secrets::{model::Placement, service as secrets},
        service,
    },
    platform::{clock::Clock, db::MIGRATOR, ids::OwnerId},
};
use axum::http::StatusCode;
use sqlx::PgPool;

use crate::{
    events,
    secrets::{add, egress, reach, VALUE},
    starter_app,
    support::{test_app, upstream, TestApp},
    ADA,
};

/// The data-key version a sealed value names (its first 4 bytes).
async fn sealed_versions(w: &TestApp, owner: OwnerId) -> Vec<i32> {
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT sealed_value FROM app_secrets WHERE owner_id = $1 \
         UNION ALL SELECT sealed_grant FROM app_secrets WHERE owner_id = $1 AND sealed_grant IS NOT NULL \
         UNION ALL SELECT sealed_secret FROM totp_factors WHERE owner_id = $1",
    )
    .bind(owner)
    .fetch_all(&w.owner)
    .await
    .unwrap();
    sealed
        .iter()
        .map(|bytes| i32::from_be_bytes(bytes[..4].try_into().unwrap()))
        .collect()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn rotating_the_data_key_seals_every_value_again_and_each_still_works(owner: PgPool) {
    use app::{
        security::{model::DATA_KEY_ROTATED, service as security},
        signin::service::{second_step, SignInError},
    };

    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    reach(&mut w, &upstream, StdDuration::from_secs(10));
    let (ada, phone, codes) = w.with_totp(ADA).await;
    let app = starter_app(&w, ada).await;
    add(&w, ada, app, "API_KEY", &upstream.origin, Placement::Bearer).await;
    crate::connections::connect(&w, ada, app, &upstream, "60", false).await;
    // The two values, the connection's grant and the authenticator secret.
    assert_eq!(sealed_versions(&w, ada).await, [1, 1, 1, 1]);

    assert_eq!(
        security::rotate_data_key(&w.as_owner(ada)).await.unwrap(),
        2
    );
    assert_eq!(
        sealed_versions(&w, ada).await,
        [2, 2, 2, 2],
        "every value sealed again"
    );
    assert_eq!(events(&w, ada, DATA_KEY_ROTATED).await, 1);

    // The operator's command does the same, for an account named by its address.
    let settings = w.operator_settings(&[]);
    custodian::cli::key_rotation::rotate_data_key(&settings, " Ada@Example.com ")
        .await
        .unwrap();
    assert_eq!(sealed_versions(&w, ada).await, [3, 3, 3, 3]);
    assert!(
        custodian::cli::key_rotation::rotate_data_key(&settings, "nobody@example.com")
            .await
            .is_err()
    );

    // A pass over values already sealed with the newest key changes nothing.
    let mut tx = crate::support::tenant_tx(&w.state.pool, ada).await;
    let now = w.clock.now();
    let key = &w.state.key_encryption_key;
    assert_eq!(secrets::reseal(&mut tx, key, now).await.unwrap(), 0);
    tx.rollback().await.unwrap();

    // Egress, the authenticator and the backup codes all still work.
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
    assert_eq!(
        egress(&w, &frame, "_egress/API_KEY/x").await.0.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        upstream.seen()[0].headers["authorization"],
        format!("Bearer {VALUE}").as_str()
    );
    let (session, _) = w.password_step(ADA).await;
    second_step::totp_sign_in(&w.visitor_on(&session), &w.code(&phone, 0))
        .await
        .unwrap();
    let (session, _) = w.password_step(ADA).await;
    let backup: Result<(), SignInError> =
        second_step::backup_code_sign_in(&w.visitor_on(&session), &codes[0]).await;
    backup.unwrap();
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn rotating_the_kek_wraps_every_data_key_again_and_the_old_key_opens_none(owner: PgPool) {
    use app::platform::{
        crypto::{self, CryptoError, Purpose},
        keys, signed,
    };
    use app::signin::service::second_step;

    let mut w = test_app(owner).await;
    let upstream = upstream::start().await;
    reach(&mut w, &upstream, StdDuration::from_secs(10));
    let (ada, phone, _) = w.with_totp(ADA).await;
    let bob = w.sign_up("bob@example.com").await;
    let app = starter_app(&w, ada).await;
    add(&w, ada, app, "API_KEY", &upstream.origin, Placement::Bearer).await;
    let old = w.state.key_encryption_key.clone();
    let attestation = signed::sign(
        &old,
        "attestation",
        serde_json::json!({ "region": "us-east" }),
    );

    let dir = tempfile::tempdir().unwrap();
    let new_key_file = dir.path().join("new.key");
    keys::install_key_file(&new_key_file, &[42u8; 32]).unwrap();
    let wrapping_key_file = dir.path().join("wrapping.key");
    let settings =
        w.operator_settings(&["--wrapping-key-file", wrapping_key_file.to_str().unwrap()]);
    custodian::cli::key_rotation::rotate_kek(&settings, &new_key_file)
        .await
        .unwrap();
    let rotated = custodian::cli::key_encryption_key(&settings).unwrap();
    let wrapped: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT kek_id, wrapped_key FROM data_keys ORDER BY owner_id, version")
            .fetch_all(&w.owner)
            .await
            .unwrap();
    assert!(wrapped.len() >= 2, "both tenants' keys");
    assert!(wrapped.iter().all(|(id, _)| *id == rotated.wrapping_id()));
    assert_ne!(rotated.wrapping_id(), old.wrapping_id());

    // Run again (as after an interruption): nothing left to do, nothing changes.
    custodian::cli::key_rotation::rotate_kek(&settings, &new_key_file)
        .await
        .unwrap();
    let again: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT kek_id, wrapped_key FROM data_keys ORDER BY owner_id, version")
            .fetch_all(&w.owner)
            .await
            .unwrap();
    assert_eq!(again, wrapped);

    // The old key opens no data key any more; the new one opens all, and nothing else changed:
    // egress, the authenticator, signatures made before.
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT sealed_secret FROM totp_factors WHERE owner_id = $1")
            .bind(ada)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    let mut tx = crate::support::tenant_tx(&w.state.pool, ada).await;
    let refused = crypto::open(&mut tx, &old, Purpose::TotpSecret, &sealed).await;
    assert!(
        matches!(refused, Err(CryptoError::RetiredWrappingKey(_))),
        "{refused:?}"
    );
    assert!(
        crypto::open(&mut tx, &rotated, Purpose::TotpSecret, &sealed)
            .await
            .is_ok()
    );
    tx.rollback().await.unwrap();
    assert!(signed::verify(&rotated, &attestation, "attestation").is_ok());
    w.state.key_encryption_key = std::sync::Arc::new(rotated);
    let frame = service::frame(&w.as_owner(ada), app).await.unwrap();
    assert_eq!(
        egress(&w, &frame, "_egress/API_KEY/x").await.0.status(),
        StatusCode::CREATED
    );
    let (session, _) = w.password_step(ADA).await;
    second_step::totp_sign_in(&w.visitor_on(&session), &w.code(&phone, 0))
        .await
        .unwrap();
    let mut tx = crate::support::tenant_tx(&w.state.pool, bob).await;
    let key = &w.state.key_encryption_key;
    assert!(
        crypto::seal(&mut tx, key, Purpose::TotpSecret, b"x", w.clock.now())
            .await
            .is_ok()
    );
    tx.commit().await.unwrap();
    let current = rotated_id(&w);
    assert!(crypto::other_wrapping_ids(&w.owner, &current)
        .await
        .unwrap()
        .is_empty());

    // A data key made under the old key after the rotation (a server that missed the new key
    // file): the server refuses to start until a run of the rotation wraps it again.
    let carol = w.sign_up("carol@example.com").await;
    sqlx::query("DELETE FROM data_keys WHERE owner_id = $1")
        .bind(carol)
        .execute(&w.owner)
        .await
        .unwrap();
    let mut tx = crate::support::tenant_tx(&w.state.pool, carol).await;
    crypto::create_data_key(&mut tx, &old, w.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        crypto::other_wrapping_ids(&w.owner, &current)
            .await
            .unwrap(),
        [keys::ROOT_WRAPPING_ID]
    );
    custodian::cli::key_rotation::rotate_kek(&settings, &new_key_file)
        .await
        .unwrap();
    assert!(crypto::other_wrapping_ids(&w.owner, &current)
        .await
        .unwrap()
        .is_empty());

    // A second rotation keeps the key it replaces beside it, for backups taken under it.
    let newer_key_file = dir.path().join("newer.key");
    keys::install_key_file(&newer_key_file, &[43u8; 32]).unwrap();
    custodian::cli::key_rotation::rotate_kek(&settings, &newer_key_file)
        .await
        .unwrap();
    let retired = dir
        .path()
        .join(format!("data-key-wrapping.{current}.retired.key"));
    assert_eq!(keys::read_key_file(&retired).unwrap(), [42u8; 32]);
    assert_eq!(keys::read_key_file(&wrapping_key_file).unwrap(), [43u8; 32]);
}

fn rotated_id(w: &TestApp) -> String {
    w.state.key_encryption_key.wrapping_id()
}
