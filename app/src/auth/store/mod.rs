//! The accounts area's SQL, the only SQL for the tables it owns: the tenant tables `accounts`
//! and `account_tokens`, and the global `email_directory` and `invites`, which the app role
//! reaches through functions only.
//!
//! Owns: `accounts`, `account_tokens`, `email_directory`, `invites`.

pub mod accounts;
pub mod export;
pub mod invites;
pub mod tokens;

use sqlx::PgConnection;

use crate::platform::{db::TenantTx, ids::OwnerId, jobs::BoxFuture, server_parts::for_owner};

/// Deletes the tenant's rows: its tokens, its account and its address in the directory, and
/// its name on the invites it used or gave.
pub fn erase(tx: &mut TenantTx) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let owner_id = tx.owner_id();
        for_owner(tx, owner_id, &[
            "DELETE FROM account_tokens WHERE owner_id = $1",
            "DELETE FROM email_directory WHERE account = $1",
            // An invite the account used stays spent, by no one; one it gave names no one.
            "UPDATE invites SET used_by = NULL, used_by_email = NULL WHERE used_by = $1",
            "UPDATE invites SET invited_by = NULL WHERE invited_by = $1",
            "DELETE FROM accounts WHERE owner_id = $1",
        ])
        .await
    })
}

/// One row of `owner` in each tenant table above.
pub fn seed(conn: &mut PgConnection, owner: OwnerId) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        accounts::seed(conn, owner).await?;
        for_owner(conn, owner, &[
            "INSERT INTO account_tokens (owner_id, secret_sha256, purpose, created_at, expires_at) \
             VALUES ($1, decode(repeat('00', 32), 'hex'), 'verify_email', now(), now() + interval '1 hour')",
            // An invite the tenant gave, and one it used.
            "INSERT INTO invites (code_sha256, invited_by, expires_at) \
             VALUES (sha256($1::text::bytea), $1, now() + interval '1 day')",
            "INSERT INTO invites (code_sha256, expires_at, used_by, used_at, used_by_email) \
             VALUES (sha256(('used' || $1::text)::bytea), now() + interval '1 day', $1, now(), \
                     $1::text || '@example.com')",
        ])
        .await
    })
}
