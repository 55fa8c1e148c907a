//! Who acts on an app, and with what right: its owner, or a member of another tenant (an
//! editor or a viewer) whom the app's row-level-security policies let in. A member's
//! transaction runs in the app's region as the member, so the database, not this code, decides
//! what it reaches.

use super::AppsError;
use crate::{
    apps::store::{self, members, StoredApp},
    platform::{
        context::SignedIn,
        db::{DbError, TenantTx},
        directory,
        ids::{AppId, OwnerId},
        region::Tenant,
        state::AppState,
    },
};

/// A person's right on an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Editor,
    Viewer,
}

impl Role {
    /// Whether the role changes files (and, for the owner, everything else).
    pub fn edits(self) -> bool {
        matches!(self, Self::Owner | Self::Editor)
    }
}

/// An app opened for a person: the transaction to act in, the app's owner, the person's role
/// and the app (out of the trash for a member).
pub struct Opened {
    pub tx: TenantTx,
    pub owner: OwnerId,
    pub role: Role,
    pub app: StoredApp,
}

/// The owner and region of `app`, from the directory. An app whose owner is moving between
/// regions is answered as one that is not there, for now.
pub async fn route(state: &AppState, app: AppId) -> Result<Option<Tenant>, AppsError> {
    match directory::route_of_app(state.regions.directory(), app).await {
        Ok(route) => Ok(route),
        Err(DbError::TenantMoving) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Opens `app` for `me`: their own, or one shared with them; otherwise `NoSuchApp`, the same
/// answer whether the app does not exist or is someone else's.
pub async fn open(me: &SignedIn, app: AppId) -> Result<Opened, AppsError> {
    let mut tx = me.begin_own().await?;
    if let Some(found) = store::get(&mut tx, app).await? {
        return Ok(Opened {
            tx,
            owner: me.owner_id(),
            role: Role::Owner,
            app: found,
        });
    }
    drop(tx);
    let tenant = match route(me.state(), app).await? {
        Some(tenant) if tenant.owner_id != me.owner_id() => tenant,
        _ => return Err(AppsError::NoSuchApp),
    };
    let mut tx = me.begin(Tenant::new(me.owner_id(), tenant.region)).await?;
    let role = match members::role(&mut tx, tenant.owner_id, app).await?.as_deref() {
        Some("editor") => Role::Editor,
        Some(_) => Role::Viewer,
        None => return Err(AppsError::NoSuchApp),
    };
    let found = store::get_of(&mut tx, tenant.owner_id, app)
        .await?
        .ok_or(AppsError::NoSuchApp)?;
    Ok(Opened {
        tx,
        owner: tenant.owner_id,
        role,
        app: found,
    })
}

/// Records a member's change in the owner's security log, naming the member by the address the
/// owner invited, last in the member's transaction (which from then on acts for the owner, and
/// commits nothing else).
pub async fn record_for_owner(
    me: &SignedIn,
    opened: &mut Opened,
    kind: crate::platform::area::EventKind,
    detail: &str,
) -> Result<(), AppsError> {
    let address = member_address(opened).await?;
    record_as_owner(me, opened, kind, &format!("{detail}, by {address}")).await
}

/// The address the owner invited the member at.
pub async fn member_address(opened: &mut Opened) -> Result<String, AppsError> {
    Ok(members::my_address(&mut opened.tx, opened.owner, opened.app.id)
        .await?
        .unwrap_or_else(|| "a former member".to_owned()))
}

/// Records `detail` in the owner's security log, last in the member's transaction.
pub async fn record_as_owner(
    me: &SignedIn,
    opened: &mut Opened,
    kind: crate::platform::area::EventKind,
    detail: &str,
) -> Result<(), AppsError> {
    opened.tx.switch_tenant(opened.owner).await?;
    crate::platform::audit::record_unattributed(
        &mut opened.tx,
        &me.state().key_encryption_key,
        kind,
        detail,
        me.now(),
    )
    .await?;
    Ok(())
}
