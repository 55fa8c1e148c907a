//! Collaborators: the owner's invitations and who accepted them. The owner reads and changes
//! them as a tenant; a member reaches its own rows (and the app they open) only through the
//! policies of the apps migration, and accepts through `custodian_accept_app_invite`.
//!
//! Owns: `app_members`.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::{
    db::TenantTx,
    ids::{AppId, OwnerId},
};

/// An invitation or membership as its owner sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredMember {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub invite_expires_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
}

/// Invites `email` with `role`, or invites again (a new token, a new expiry, the new role) when
/// it was invited before; an accepted membership keeps its member and changes role only.
pub async fn invite(
    tx: &mut TenantTx,
    app: AppId,
    email: &str,
    role: &str,
    invite_sha256: &[u8],
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO app_members (owner_id, app_id, id, email, role, invite_sha256, invited_at, invite_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (owner_id, app_id, email) DO UPDATE SET role = excluded.role, \
             invite_sha256 = CASE WHEN app_members.member_id IS NULL THEN excluded.invite_sha256 END, \
             invited_at = excluded.invited_at, invite_expires_at = excluded.invite_expires_at",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(role)
    .bind(invite_sha256)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// How many people the app is shared with or offered to.
pub async fn count(tx: &mut TenantTx, app: AppId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM app_members WHERE owner_id = $1 AND app_id = $2")
        .bind(tx.owner_id())
        .bind(app)
        .fetch_one(&mut **tx)
        .await
}

/// The app's members and invitations, by address.
pub async fn list(tx: &mut TenantTx, app: AppId) -> Result<Vec<StoredMember>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, role, invite_expires_at, accepted_at FROM app_members \
         WHERE owner_id = $1 AND app_id = $2 ORDER BY email",
    )
    .bind(tx.owner_id())
    .bind(app)
    .fetch_all(&mut **tx)
    .await
}

/// Removes a member or an invitation of the owner's app; the address it named, if any.
pub async fn remove(tx: &mut TenantTx, app: AppId, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM app_members WHERE owner_id = $1 AND app_id = $2 AND id = $3 RETURNING email",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Accepts an invitation for the transaction's tenant (see the SQL function): the role, or why
/// not.
pub async fn accept(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
    invite_sha256: &[u8],
    email: &str,
    now: OffsetDateTime,
) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT custodian_accept_app_invite($1, $2, $3, $4, $5)")
        .bind(owner)
        .bind(app)
        .bind(invite_sha256)
        .bind(email)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
}

/// The role the transaction's tenant holds on `owner`'s app, if any: none while the owner's
/// account is locked for deletion.
pub async fn role(tx: &mut TenantTx, owner: OwnerId, app: AppId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CASE WHEN custodian_tenant_locked($1) THEN NULL ELSE custodian_app_role($1, $2) END",
    )
        .bind(owner)
        .bind(app)
        .fetch_one(&mut **tx)
        .await
}

/// The address the transaction's tenant was invited at to `owner`'s app (how its owner knows
/// it), if it is a member.
pub async fn my_address(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT email FROM app_members WHERE owner_id = $1 AND app_id = $2 AND member_id = $3",
    )
    .bind(owner)
    .bind(app)
    .bind(tx.owner_id())
    .fetch_optional(&mut **tx)
    .await
}

/// An app shared with the transaction's tenant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SharedWithMe {
    pub app_id: AppId,
    pub name: String,
    pub description: String,
    pub role: String,
}

/// The apps (out of the trash) shared with the transaction's tenant in this database.
pub async fn shared_with_me(tx: &mut TenantTx) -> Result<Vec<SharedWithMe>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id AS app_id, a.name, a.description, m.role FROM app_members m \
         JOIN apps a ON a.owner_id = m.owner_id AND a.id = m.app_id \
         WHERE m.member_id = $1 AND a.trashed_at IS NULL ORDER BY a.name, a.id",
    )
    .bind(tx.owner_id())
    .fetch_all(&mut **tx)
    .await
}

/// The transaction's tenant leaves `owner`'s app; false when it was not a member.
pub async fn leave(tx: &mut TenantTx, owner: OwnerId, app: AppId) -> Result<bool, sqlx::Error> {
    let left = sqlx::query(
        "DELETE FROM app_members WHERE owner_id = $1 AND app_id = $2 AND member_id = $3",
    )
    .bind(owner)
    .bind(app)
    .bind(tx.owner_id())
    .execute(&mut **tx)
    .await?;
    Ok(left.rows_affected() == 1)
}

/// Every membership of the transaction's tenant in this database (its account's purge, in each
/// region): returns how many.
pub async fn leave_all(tx: &mut TenantTx) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM app_members WHERE member_id = $1")
        .bind(tx.owner_id())
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// An editor's change of an app's name and description; false when not an editor.
pub async fn edit_shared(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
    name: &str,
    description: &str,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT custodian_edit_shared_app($1, $2, $3, $4, $5)")
        .bind(owner)
        .bind(app)
        .bind(name)
        .bind(description)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
}

/// What all of `owner`'s apps weigh, asked by the owner or an editor of `app`.
pub async fn owner_bytes(tx: &mut TenantTx, owner: OwnerId, app: AppId) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT custodian_owner_app_bytes($1, $2)")
        .bind(owner)
        .bind(app)
        .fetch_one(&mut **tx)
        .await
}
