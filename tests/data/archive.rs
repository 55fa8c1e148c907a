//! The archive (promise P8): every kind of record, a manifest whose sizes, counts and hashes
//! match the files, a signature that verifies with the published key and fails after any
//! change, no secret, no other tenant's row, and a catalog check that no table is forgotten.

use std::collections::BTreeSet;

use app::platform::{db::MIGRATOR, ids::OwnerId};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::{
    archive_path, exported,
    support::{browser::router, get, seed_tenant, send, test_app, TestApp},
    unzip,
};

/// A tenant with a row in every table, and a GPC record among its consent records.
async fn busy_tenant(w: &TestApp) -> OwnerId {
    let owner = OwnerId::random();
    seed_tenant(&w.owner, owner).await;
    sqlx::query(
        "INSERT INTO consent_records (owner_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
         VALUES ($1, gen_random_uuid(), '{essential}', '{analytics,sale_share}', 1, 'gpc', true, now(), 'gpc browser')",
    )
    .bind(owner)
    .execute(&w.owner)
    .await
    .unwrap();
    // A member of another tenant's app.
    let other = OwnerId::random();
    seed_tenant(&w.owner, other).await;
    sqlx::query(
        "INSERT INTO app_members (owner_id, app_id, id, email, role, invited_at, invite_expires_at, member_id, accepted_at) \
         VALUES ($1, $1, gen_random_uuid(), 'member@example.com', 'viewer', now(), now(), $2, now())",
    )
    .bind(other)
    .bind(owner)
    .execute(&w.owner)
    .await
    .unwrap();
    owner
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_archive_holds_every_kind_of_record_and_the_manifest_matches_it(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = busy_tenant(&w).await;
    let id = exported(&w, ada).await;
    let files = unzip(&archive_path(&w, ada, id));

    let manifest = json(&files["manifest.json"]);
    assert_eq!(manifest["account_id"], ada.to_string());
    assert_eq!(manifest["format_version"], "1.0");
    assert!(manifest["snapshot_at"].as_str().unwrap().ends_with('Z'));
    let listed = manifest["files"].as_array().unwrap();
    // Every file but the manifest and its signature is listed, with the right size and hash.
    let names: BTreeSet<&str> = listed.iter().map(|f| f["path"].as_str().unwrap()).collect();
    let in_zip: BTreeSet<&str> = files
        .keys()
        .map(String::as_str)
        .filter(|name| !name.starts_with("manifest."))
        .collect();
    assert_eq!(names, in_zip);
    for file in listed {
        let bytes = &files[file["path"].as_str().unwrap()];
        assert_eq!(file["bytes"], bytes.len() as u64, "{file}");
        assert_eq!(file["sha256"], hex(&Sha256::digest(bytes)), "{file}");
        if let Some(records) = file["records"].as_u64() {
            let records_in_file = json(bytes).as_array().unwrap().len() as u64;
            assert_eq!(records, records_in_file, "{file}");
            // Every area's kind holds the busy tenant's row.
            assert!(records >= 1, "{} is empty", file["path"]);
            // Each data file has its schema, which describes an array of records.
            let schema = json(&files[file["schema"].as_str().unwrap()]);
            assert_eq!(schema["type"], "array");
            assert_eq!(schema["version"], "1.0");
        }
    }
    for expected in [
        "account/profile.json",
        "account/sessions.json",
        "account/known_devices.json",
        "account/invites.json",
        "security/events.json",
        "security/passkeys.json",
        "privacy/consent_records.json",
        "privacy/consent_receipts.json",
        "privacy/gpc_records.json",
        "privacy/policy_acknowledgments.json",
        "data/exports.json",
        "README.html",
    ] {
        assert!(files.contains_key(expected), "{expected} missing");
    }
    // The browser linked to the account counts: its record is among the account's.
    let ledgers: BTreeSet<String> = json(&files["privacy/consent_records.json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ledger"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ledgers,
        BTreeSet::from(["account".into(), "browser".into()])
    );
    let gpc = json(&files["privacy/gpc_records.json"]);
    assert_eq!(gpc.as_array().unwrap().len(), 1);
    assert_eq!(gpc[0]["method"], "gpc");
    // The completeness section names what is withheld and why.
    let completeness = manifest["completeness"].as_array().unwrap();
    let withheld: Vec<&str> = completeness
        .iter()
        .filter(|item| item["status"] == "not included")
        .map(|item| item["data"].as_str().unwrap())
        .collect();
    assert!(withheld.contains(&"Password hash"), "{withheld:?}");
    assert!(withheld.contains(&"Authenticator app secret and last used step"));
    assert!(withheld.contains(&"Backup code digests"));
    assert!(completeness
        .iter()
        .filter(|item| item["status"] == "not included")
        .all(|item| !item["because"].as_str().unwrap().is_empty()));
    // The viewer shows the account's address in a table, and nothing runs in it.
    let viewer = String::from_utf8(files["README.html"].clone()).unwrap();
    assert!(viewer.contains(&format!("<td>{ada}@example.com</td>")));
    assert!(!viewer.contains("<script"));
    assert!(viewer.contains("default-src 'none'"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn no_secret_is_ever_exported(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, _phone, codes) = w.with_totp("ada@example.com").await;
    let id = exported(&w, ada).await;
    let everything: Vec<u8> = unzip(&archive_path(&w, ada, id))
        .into_values()
        .flatten()
        .collect();
    let text = String::from_utf8_lossy(&everything);
    assert!(!text.contains("$argon2id"), "a password hash was exported");
    for code in codes {
        assert!(!text.contains(&code), "a backup code was exported");
    }
    let secrets: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT sealed_secret FROM totp_factors WHERE owner_id = $1 \
         UNION ALL SELECT code_digest FROM backup_codes WHERE owner_id = $1 \
         UNION ALL SELECT secret_sha256 FROM account_tokens WHERE owner_id = $1",
    )
    .bind(ada)
    .fetch_all(&w.owner)
    .await
    .unwrap();
    assert!(!secrets.is_empty());
    for secret in secrets {
        assert!(
            !text.contains(&hex(&secret)),
            "a secret's bytes were exported"
        );
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_signature_verifies_with_the_published_key_and_fails_after_any_change(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = busy_tenant(&w).await;
    let id = exported(&w, ada).await;
    let files = unzip(&archive_path(&w, ada, id));

    let (_, body) = send(
        &router(&w.state),
        get("/.well-known/consent-receipt-key.json"),
    )
    .await;
    let published = json(body.as_bytes());
    let x = URL_SAFE_NO_PAD
        .decode(published["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let key = VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();

    let signature = json(&files["manifest.sig"]);
    assert_eq!(signature["alg"], "Ed25519");
    assert_eq!(signature["kid"], published["keys"][0]["kid"]);
    let bytes: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature["value"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let signature = Signature::from_bytes(&bytes);
    let manifest = &files["manifest.json"];
    assert!(key.verify_strict(manifest, &signature).is_ok());
    for position in [0, manifest.len() / 2, manifest.len() - 1] {
        let mut changed = manifest.clone();
        changed[position] ^= 0x01;
        assert!(
            key.verify_strict(&changed, &signature).is_err(),
            "a change at byte {position} went unnoticed"
        );
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_archive_holds_nothing_of_another_busy_tenant(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = busy_tenant(&w).await;
    let bob = busy_tenant(&w).await;
    // Bob has exports of his own too.
    exported(&w, bob).await;
    let id = exported(&w, ada).await;
    let files = unzip(&archive_path(&w, ada, id));
    let bob_marks = [bob.to_string(), bob.as_uuid().simple().to_string()];
    for (name, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        for mark in &bob_marks {
            assert!(!text.contains(mark.as_str()), "{name} holds Bob's {mark}");
        }
    }
    // Ada's own id is there, so the check looks where it should.
    assert!(String::from_utf8_lossy(&files["account/profile.json"]).contains(&ada.to_string()));
}

/// Tables that hold a tenant's data without an owner_id column: the columns that name one.
const TENANT_COLUMNS: [&str; 6] = [
    "owner_id",
    "account",
    "tenant_id",
    "invited_by",
    "used_by",
    "consent_id",
];

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_table_that_holds_a_tenants_data_is_exported_or_withheld_with_a_reason(
    owner: PgPool,
) {
    let holding: BTreeSet<String> = sqlx::query_scalar(
        "SELECT DISTINCT CASE WHEN table_schema = 'public' THEN table_name \
                              ELSE table_schema || '.' || table_name END \
         FROM information_schema.columns \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND column_name = ANY($1)",
    )
    .bind(&TENANT_COLUMNS[..])
    .fetch_all(&owner)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert!(holding.contains("accounts") && holding.contains("invites"));
    let exported: BTreeSet<&str> = app::server::exports()
        .flat_map(|kind| kind.tables.iter().copied())
        .collect();
    let withheld: BTreeSet<&str> = app::server::withheld().map(|w| w.table).collect();
    let forgotten: Vec<&String> = holding
        .iter()
        .filter(|table| !exported.contains(table.as_str()) && !withheld.contains(table.as_str()))
        .collect();
    assert!(
        forgotten.is_empty(),
        "tables neither exported nor withheld with a reason: {forgotten:?}"
    );
    // The session store's table holds a tenant's data without naming it in a column.
    assert!(withheld.contains("tower_sessions.session"));
    assert!(app::server::withheld().all(|w| !w.reason.is_empty() && !w.what.is_empty()));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_operators_command_writes_the_same_archive(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let id = exported(&w, ada).await;
    let from_page = unzip(&archive_path(&w, ada, id));

    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("ada.zip");
    let settings = w.operator_settings(&[]);
    custodian::cli::export::export(&settings, "Ada@Example.com", &file)
        .await
        .unwrap();
    let from_command = unzip(&file);
    let names = |files: &std::collections::BTreeMap<String, Vec<u8>>| {
        files.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(names(&from_page), names(&from_command));
    assert_eq!(
        from_page["account/profile.json"],
        from_command["account/profile.json"]
    );
    // Only the archive is left, readable by its owner alone.
    let left: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("ada.zip")]);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let unknown = custodian::cli::export::export(&settings, "nobody@example.com", &file).await;
    assert!(unknown.unwrap_err().to_string().contains("no account"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
