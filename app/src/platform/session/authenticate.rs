//! The per-request look at a session that the server's middleware runs.

use tower_sessions::Session;

use super::{
    listing,
    record::{load, store_id, write, CurrentUser, Standing},
    SessionEnd,
};
use crate::platform::{db::TenantTx, error::InfraError, state::AppState};

/// The outcome of looking at a request's session.
pub enum Authentication {
    SignedIn(CurrentUser),
    /// The cookie named a session that has ended (revoked, expired, or idle).
    Ended(SessionEnd),
    Anonymous,
}

/// Looks at the session of a request: ends it if it has run out or is no longer listed, and
/// records activity at most once a minute. `cookie_present` tells an ended session from a first
/// visit.
pub async fn authenticate(
    state: &AppState,
    session: &Session,
    cookie_present: bool,
) -> Result<Authentication, InfraError> {
    let Some(mut record) = load(session).await? else {
        // A session holding only an unfinished sign-in or passkey prompt never was signed in.
        return Ok(if cookie_present && session.is_empty().await {
            Authentication::Ended(SessionEnd::Revoked)
        } else {
            Authentication::Anonymous
        });
    };
    let now = state.clock.now();
    // A record read from the store has the id it was read under.
    let store_id = store_id(session).unwrap_or_default();
    let ended = |reason| async move {
        // The record is gone; this clears the cookie too.
        if let Err(error) = session.flush().await {
            tracing::warn!(%error, "could not clear an ended session");
        }
        Ok(Authentication::Ended(reason))
    };
    let mut tx = TenantTx::begin(&state.regions, record.tenant()).await?;
    match record.standing(now) {
        Standing::Ended(reason) => {
            listing::delete_if_current(&mut tx, record.account_session, &store_id).await?;
            tx.commit().await?;
            ended(reason).await
        }
        Standing::Active { record_activity } => {
            let activity = record_activity.then_some(now);
            let listed =
                listing::still_listed(&mut tx, record.account_session, &store_id, activity).await?;
            tx.commit().await?;
            let Some(deletion_due) = listed else {
                return ended(SessionEnd::Revoked).await;
            };
            if record_activity {
                record.last_active_at = now.unix_timestamp();
                if let Err(error) = write(session, &record).await {
                    tracing::warn!(%error, "could not record session activity");
                }
            }
            Ok(Authentication::SignedIn(CurrentUser {
                record,
                store_id,
                deletion_due,
            }))
        }
    }
}
