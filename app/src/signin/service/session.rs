//! The session a sign-in starts and a sign-out ends (promise P4): a fresh id at every sign-in,
//! the listing row, the new-device mail, and ending sessions.

use sha2::{Digest, Sha256};

use super::SignInError;
use crate::{
    auth::service::{accounts, throttle},
    platform::{
        clock::to_minute,
        context::{SignedIn, Visitor},
        db::TenantTx,
        error::InfraError,
        ids::AccountSessionId,
        directory,
        region::Tenant,
        mail::{self, Mail},
        paths,
        session::{self, listing, SessionRecord},
    },
    privacy::service::{browser_records, consent, ledger},
    signin::{
        model::{SIGN_IN, SIGN_OUT},
        store,
    },
};

/// Signs out a session that is signed in, before it signs in again. Only a session whose listing
/// names it is listed; any other record is simply dropped.
pub async fn end_current(visitor: &Visitor) -> Result<(), SignInError> {
    let session = visitor.session();
    let Some(record) = session::read(session).await else {
        return Ok(());
    };
    let store_id = session.id().map(|id| id.to_string()).unwrap_or_default();
    let mut tx = visitor.begin(record.tenant()).await?;
    if listing::delete_if_current(&mut tx, record.account_session, &store_id).await? {
        visitor.audit(&mut tx, SIGN_OUT, "signed in again").await?;
    }
    tx.commit().await?;
    session.flush().await?;
    Ok(())
}

/// Signs the session in under a fresh id and lists it, once every factor has passed. `method`
/// says how, for the security log.
pub async fn start_session(
    visitor: &Visitor,
    tenant: Tenant,
    remember: bool,
    method: &str,
) -> Result<SessionRecord, SignInError> {
    end_current(visitor).await?;
    let session = visitor.session();
    let state = visitor.state();
    // A tenant frozen for a move signs in nowhere, even with a second step begun before.
    directory::region_of(state.regions.directory(), tenant.owner_id).await?;
    // A new id at every sign-in, so that a planted session id is worth nothing.
    let record = SessionRecord::new(
        tenant,
        AccountSessionId::random(),
        remember,
        visitor.now(),
        state.sudo_window,
    );
    super::second_step::clear_pending(session).await?;
    let store_id = session::rotate_new(session, &record).await?;

    let outcome = record_sign_in(visitor, &record, &store_id, method).await;
    if outcome.is_err() {
        // Unlisted, the record signs nobody in; this only spares the store a dead record.
        if let Err(error) = session.flush().await {
            tracing::warn!(%error, "could not clear a sign-in that failed to be recorded");
        }
    }
    outcome.map(|()| record)
}

async fn record_sign_in(
    visitor: &Visitor,
    record: &SessionRecord,
    store_id: &str,
    method: &str,
) -> Result<(), SignInError> {
    let now = visitor.now();
    let client = visitor.client();
    let owner_id = record.owner_id;
    let mut tx = visitor.begin(record.tenant()).await?;
    let email = accounts::profile(&mut tx).await?.email;
    throttle::clear_password_failures(&mut tx).await?;
    listing::list(&mut tx, record, store_id, client, now).await?;
    let device = client.device();
    let fingerprint = Sha256::digest(format!("{device}\n{}", client.ip_prefix())).to_vec();
    let (new_device, known_before) = store::remember_device(&mut tx, &fingerprint, now).await?;
    if new_device && known_before {
        mail::enqueue(
            &mut tx,
            Mail {
                account: owner_id,
                to: &email,
                subject: "New sign-in to your account",
                body: format!(
                    "Your Custodian account was signed in from a device it had not seen before:\n\n  {device}, network {}\n  {}\n\nIf this was you, there is nothing to do. If not, reset your password and end the session on your Sessions page.",
                    client.ip_prefix(),
                    to_minute(now),
                ),
            },
            now,
        )
        .await?;
    }
    let detail = if record.remember {
        format!("{method}, remember me")
    } else {
        method.to_owned()
    };
    visitor.audit(&mut tx, SIGN_IN, &detail).await?;
    let brought = browser_records::bring(visitor.state(), &mut tx, client).await?;
    ledger::link_browser(&mut tx, client, now).await?;
    tx.commit().await?;
    browser_records::finish(brought).await;
    consent::rotate_browser_id(visitor);
    Ok(())
}

/// Where a person who has just signed in goes: `next`, or, for an account scheduled for
/// deletion, the one page it may reach (a script following `next` would meet only refusals).
pub async fn landing(visitor: &Visitor, next: String) -> Result<String, SignInError> {
    let Some(record) = session::read(visitor.session()).await else {
        return Ok(next);
    };
    let mut tx = visitor.begin(record.tenant()).await?;
    let scheduled = tx.lock_deletion_schedule().await?.is_some();
    tx.commit().await?;
    Ok(if scheduled {
        paths::DELETION_PAGE.to_owned()
    } else {
        next
    })
}

/// Ends the session on the server and in the browser.
pub async fn sign_out(me: &SignedIn) -> Result<(), SignInError> {
    let mut tx = me.begin_own().await?;
    listing::delete(&mut tx, me.user().account_session()).await?;
    me.audit(&mut tx, SIGN_OUT, "").await?;
    tx.commit().await?;
    Ok(me.session().flush().await?)
}

/// Ends every session of the tenant except `keep`, and every sign-in waiting for its second
/// step; returns how many sessions ended.
pub async fn end_sessions(
    tx: &mut TenantTx,
    keep: Option<AccountSessionId>,
) -> Result<u64, InfraError> {
    store::end_all_pending(tx).await?;
    Ok(listing::delete_all(tx, keep).await?)
}
