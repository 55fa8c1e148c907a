//! Share links (promise P10): made by the owner with a label, an expiry and perhaps a
//! password; shown once, stored as a hash; listed with their use; revoked one by one or all
//! at once. Opening one counts a use and gives a frame on the app's origin for that link only;
//! a password locks the link for `LINK_LOCK_MINUTES` after `LINK_TRIES` wrong tries.

use time::{Duration, OffsetDateTime};

use super::{access, capability::Viewer, frame_for, live, AppsError};
use crate::{
    apps::{
        model::{
            LinkExpiry, LinkRow, LinkState, NewLink, SharedView, LINK_LOCK_MINUTES, LINK_TRIES,
            LINKS_PER_APP, SHARE_PREFIX,
            SHARE_LINK_CREATED, SHARE_LINK_LOCKED, SHARE_LINK_REVOKED,
        },
        store::{
            self,
            links::{self, StoredLink},
        },
    },
    auth::service::password,
    platform::{
        keys,
        audit,
        clock::to_minute,
        context::{SignedIn, Visitor},
        db::TenantTx,
        ids::{AppId, ShareLinkId},
    },
};

fn state_of(link: &StoredLink, now: OffsetDateTime) -> LinkState {
    if link.revoked_at.is_some() {
        LinkState::Revoked
    } else if link.expires_at.is_some_and(|at| at <= now) {
        LinkState::Expired
    } else if link.locked_until.is_some_and(|until| until > now) {
        LinkState::Locked
    } else {
        LinkState::Active
    }
}

pub(super) fn row(link: StoredLink, now: OffsetDateTime) -> LinkRow {
    LinkRow {
        id: link.id,
        state: state_of(&link, now),
        label: link.label,
        expires: link.expires_at.map(to_minute),
        password: link.password_hash.is_some(),
        uses: link.uses,
        last_used: link.last_used_at.map(to_minute),
        last_network: link.last_used_network,
    }
}

/// Makes a share link of an app out of the trash; its address is returned once and never
/// stored.
pub async fn create(
    me: &SignedIn,
    app: AppId,
    label: &str,
    expiry: LinkExpiry,
    password: Option<&str>,
) -> Result<NewLink, AppsError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 80 || label.chars().any(char::is_control) {
        return Err(AppsError::LinkLabel);
    }
    let password_hash = match password.filter(|p| !p.is_empty()) {
        Some(typed) if typed.chars().count() < 8 || typed.len() > 256 => {
            return Err(AppsError::LinkPassword)
        }
        Some(typed) => Some(password::hash(&me.state().hashing, typed).await?),
        None => None,
    };
    let now = me.now();
    let token = keys::link_secret();
    let mut tx = me.begin_own().await?;
    live(&mut tx, app).await?;
    if links::count(&mut tx, app).await? >= LINKS_PER_APP {
        return Err(AppsError::TooManyLinks);
    }
    let expires_at = expiry.days().map(|days| now + Duration::days(days));
    let id = ShareLinkId::random();
    let new = links::NewLink {
        id,
        label,
        token_sha256: &keys::secret_sha256(&token),
        password_hash: password_hash.as_deref(),
        expires_at,
    };
    links::insert(&mut tx, app, &new, now).await?;
    let until = expires_at.map_or_else(|| "no expiry".to_owned(), |at| format!("expires {}", to_minute(at)));
    let guarded = if password_hash.is_some() { ", with a password" } else { "" };
    me.audit(&mut tx, SHARE_LINK_CREATED, &format!("{label} ({until}{guarded})"))
        .await?;
    tx.commit().await?;
    let site = me.state().public_url.as_str().trim_end_matches('/');
    Ok(NewLink {
        url: format!("{site}{SHARE_PREFIX}{app}/{token}"),
        row: LinkRow {
            id,
            label: label.to_owned(),
            state: LinkState::Active,
            expires: expires_at.map(to_minute),
            password: password_hash.is_some(),
            uses: 0,
            last_used: None,
            last_network: None,
        },
    })
}

/// Revokes one link of the app (whatever its state), or every one when `link` is None.
pub async fn revoke(me: &SignedIn, app: AppId, link: Option<ShareLinkId>) -> Result<(), AppsError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    super::owned(&mut tx, app).await?;
    let detail = match link {
        Some(link) => {
            if !links::revoke(&mut tx, app, link, now).await? {
                return Err(AppsError::NoSuchLink);
            }
            format!("link {link}")
        }
        None => format!("{} link(s), all of the app's", links::revoke_all(&mut tx, app, now).await?),
    };
    me.audit(&mut tx, SHARE_LINK_REVOKED, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Opens a share link for whoever holds it: the app's frame, or a request for the password.
/// Every refusal of a link that does not work is the same, so that it tells nothing.
pub async fn open(
    visitor: &Visitor,
    app: AppId,
    token: &str,
    password: Option<&str>,
) -> Result<SharedView, AppsError> {
    let now = visitor.now();
    if token.len() != keys::LINK_SECRET_LEN {
        return Err(AppsError::LinkGone);
    }
    let state = visitor.state();
    let tenant = access::route(state, app).await?.ok_or(AppsError::LinkGone)?;
    let mut tx = visitor.begin(tenant).await?;
    if tx.deletion_scheduled().await? {
        return Err(AppsError::LinkGone);
    }
    let link = links::hold_by_token(&mut tx, app, &keys::secret_sha256(token))
        .await?
        .ok_or(AppsError::LinkGone)?;
    let opened = store::get(&mut tx, app).await?.filter(|a| a.purge_at.is_none());
    let (Some(opened), LinkState::Active | LinkState::Locked) = (opened, state_of(&link, now))
    else {
        return Err(AppsError::LinkGone);
    };
    if let Some(hash) = &link.password_hash {
        if let Some(until) = link.locked_until.filter(|until| *until > now) {
            return Err(AppsError::LinkLocked(to_minute(until)));
        }
        let Some(typed) = password else {
            return Ok(SharedView::Password);
        };
        if !password::verify(&state.hashing, typed, Some(hash.clone())).await? {
            let locked = wrong_password(visitor, &mut tx, &link, now).await?;
            tx.commit().await?;
            return Err(locked.map_or(AppsError::WrongPassword, AppsError::LinkLocked));
        }
    }
    links::record_use(&mut tx, link.id, now, &visitor.client().ip_prefix()).await?;
    tx.commit().await?;
    Ok(SharedView::Open {
        name: opened.name,
        description: opened.description,
        frame: frame_for(state, app, Viewer::Link(link.id), now),
        connect_hosts: opened.connect_hosts,
    })
}

/// Counts a wrong password; the one that locks the link is recorded in its owner's log, and
/// the time the lock ends returned.
async fn wrong_password(
    visitor: &Visitor,
    tx: &mut TenantTx,
    link: &StoredLink,
    now: OffsetDateTime,
) -> Result<Option<String>, AppsError> {
    let lock_until = now + Duration::minutes(LINK_LOCK_MINUTES);
    if !links::record_wrong_password(tx, link.id, LINK_TRIES, lock_until).await? {
        return Ok(None);
    }
    let detail = format!("{} (locked until {})", link.label, to_minute(lock_until));
    audit::record_unattributed(
        tx,
        &visitor.state().key_encryption_key,
        SHARE_LINK_LOCKED,
        &detail,
        now,
    )
    .await?;
    Ok(Some(to_minute(lock_until)))
}
