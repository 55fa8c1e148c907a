//! The signed-in state of a browser session (promise P4): what the session store holds, how the
//! idle and absolute limits are judged, and the per-request lookup the server's middleware runs.
//!
//! The listing row in `account_sessions` is the authority: a session counts as signed in only
//! while its row exists and names the session's current store id. Ending a session (sign-out,
//! revocation, password change, reset) deletes the row, so a copy of a record, a record written
//! back by a request in flight, or one moved to a new id behind the listing's back is worth
//! nothing.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use tower_sessions::{session_store, Expiry, Session};
use uuid::Uuid;

use super::api::SessionEnd;
use crate::platform::{
    db::{DbError, TenantTx},
    session_store::{ListingMove, LISTING_MOVE_KEY, SESSION_ENDED},
    state::AppState,
};

pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_LIFETIME: Duration = Duration::hours(12);
pub const REMEMBERED_LIFETIME: Duration = Duration::days(30);
/// The longest sudo window, and the default (SUDO_MINUTES may shorten it).
pub const SUDO_WINDOW: Duration = Duration::minutes(10);
/// Activity is written back at most this often, not on every request.
const ACTIVITY_GRANULARITY: Duration = Duration::minutes(1);

const SESSION_KEY: &str = "signed_in";
const PENDING_KEY: &str = "pending_sign_in";
/// How long the second step of a sign-in waits after the password was accepted.
pub const SECOND_STEP_WINDOW: Duration = Duration::minutes(5);

/// What the session store keeps for a signed-in browser. Times are Unix seconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedIn {
    pub owner_id: Uuid,
    /// The row in account_sessions that lists this session.
    pub account_session: Uuid,
    pub signed_in_at: i64,
    pub last_active_at: i64,
    pub remember: bool,
    /// Until when sensitive actions are open: after signing in or re-authenticating.
    pub sudo_until: Option<i64>,
    /// Until when a re-authentication made after signing in holds. Adding a sign-in method needs
    /// it: the one granted by signing in is not enough, so a stolen fresh session cannot plant
    /// a factor of its own.
    #[serde(default)]
    pub reauthenticated_until: Option<i64>,
}

/// A sign-in whose password was right and whose second factor is still to come. The session is
/// not signed in while it holds only this.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingSignIn {
    pub owner_id: Uuid,
    /// The row in pending_sign_ins that counts this sign-in's second-step failures.
    pub id: Uuid,
    pub remember: bool,
    pub password_accepted_at: i64,
}

impl PendingSignIn {
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        now < at(self.password_accepted_at) + SECOND_STEP_WINDOW
    }
}

pub async fn read_pending(session: &Session) -> Option<PendingSignIn> {
    session
        .get::<PendingSignIn>(PENDING_KEY)
        .await
        .ok()
        .flatten()
}

pub async fn write_pending(
    session: &Session,
    pending: &PendingSignIn,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(PENDING_KEY, pending).await
}

pub async fn clear_pending(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.remove_value(PENDING_KEY).await.map(|_| ())
}

/// The verdict on a session at some moment.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    Active { record_activity: bool },
    Ended(SessionEnd),
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl SignedIn {
    pub fn new(
        owner_id: Uuid,
        account_session: Uuid,
        remember: bool,
        now: OffsetDateTime,
        sudo_window: Duration,
    ) -> Self {
        Self {
            owner_id,
            account_session,
            signed_in_at: now.unix_timestamp(),
            last_active_at: now.unix_timestamp(),
            remember,
            // Signing in is a re-authentication, except for adding a sign-in method.
            sudo_until: Some((now + sudo_window).unix_timestamp()),
            reauthenticated_until: None,
        }
    }

    /// When the session ends however active it is.
    pub fn expires_at(&self) -> OffsetDateTime {
        at(self.signed_in_at)
            + if self.remember {
                REMEMBERED_LIFETIME
            } else {
                ABSOLUTE_LIFETIME
            }
    }

    /// How long the browser keeps the cookie: a remembered device until the session's end, even
    /// across restarts; any other only until the browser closes.
    pub fn cookie_lifetime(&self) -> Expiry {
        if self.remember {
            Expiry::AtDateTime(self.expires_at())
        } else {
            Expiry::OnSessionEnd
        }
    }

    /// Remembered devices have no idle limit; others end after 30 idle minutes.
    pub fn standing(&self, now: OffsetDateTime) -> Standing {
        if now >= self.expires_at() {
            return Standing::Ended(SessionEnd::Expired);
        }
        let idle = now - at(self.last_active_at);
        if !self.remember && idle >= IDLE_TIMEOUT {
            return Standing::Ended(SessionEnd::Idle);
        }
        Standing::Active {
            record_activity: idle >= ACTIVITY_GRANULARITY,
        }
    }

    pub fn in_sudo(&self, now: OffsetDateTime) -> bool {
        self.sudo_until
            .is_some_and(|until| now.unix_timestamp() < until)
    }

    /// Whether a re-authentication made since signing in still holds.
    pub fn reauthenticated(&self, now: OffsetDateTime) -> bool {
        self.reauthenticated_until
            .is_some_and(|until| now.unix_timestamp() < until)
    }
}

/// The signed-in person of the current request, put into the request's extensions.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub signed_in: SignedIn,
    /// The tower-sessions id of this request's session.
    pub store_id: String,
}

impl CurrentUser {
    pub fn owner_id(&self) -> Uuid {
        self.signed_in.owner_id
    }
}

/// The outcome of looking at a request's session.
pub enum Authentication {
    SignedIn(CurrentUser),
    /// The cookie named a session that has ended (revoked, expired, or idle).
    Ended(SessionEnd),
    Anonymous,
}

pub async fn read(session: &Session) -> Option<SignedIn> {
    session.get::<SignedIn>(SESSION_KEY).await.ok().flatten()
}

/// Stores the signed-in state, with the cookie lifetime it calls for.
pub async fn write(
    session: &Session,
    signed_in: &SignedIn,
) -> Result<(), tower_sessions::session::Error> {
    session.set_expiry(Some(signed_in.cookie_lifetime()));
    session.insert(SESSION_KEY, signed_in).await
}

/// Keeps a signed-in session's cookie lifetime on a response that saves the session. The session
/// layer builds the cookie from the lifetime set during the request; a remembered session
/// changed by a request that did not set it (activity, a passkey prompt) would otherwise come
/// back as a cookie the browser drops when it closes.
pub async fn keep_cookie_lifetime(session: &Session) {
    if session.is_modified() {
        if let Some(signed_in) = read(session).await {
            session.set_expiry(Some(signed_in.cookie_lifetime()));
        }
    }
}

/// Why a session could not move to a new id.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// It was ended meanwhile; it stays ended.
    #[error("the session has ended")]
    Ended,
    #[error("the session store failed: {0}")]
    Store(#[from] tower_sessions::session::Error),
}

/// Moves a session that was not signed in to a fresh id (a privilege change: sign-in), stores
/// `signed_in` in it and returns the new store id. Nothing lists the new id yet; the caller
/// lists it (until then it signs nobody in).
pub async fn rotate_new(
    session: &Session,
    signed_in: &SignedIn,
) -> Result<String, tower_sessions::session::Error> {
    session.cycle_id().await?;
    write(session, signed_in).await?;
    // Saved now rather than after the response, so the new id is known to list the session.
    session.save().await?;
    Ok(session.id().map(|id| id.to_string()).unwrap_or_default())
}

/// Moves a listed session to a fresh id (sudo is a privilege change) with `signed_in` in it.
/// The store deletes the old record, writes the new one and points the listing at it in one
/// transaction, and refuses when the listing no longer names `current_store_id`.
pub async fn rotate_listed(
    session: &Session,
    signed_in: &SignedIn,
    current_store_id: &str,
) -> Result<(), RotateError> {
    let moving = ListingMove {
        owner_id: signed_in.owner_id,
        account_session: signed_in.account_session,
        from: current_store_id.to_owned(),
    };
    write(session, signed_in).await?;
    session.insert(LISTING_MOVE_KEY, &moving).await?;
    session.cycle_id().await?;
    match session.save().await {
        Ok(()) => Ok(()),
        Err(tower_sessions::session::Error::Store(session_store::Error::Backend(message)))
            if message == SESSION_ENDED =>
        {
            if let Err(error) = session.flush().await {
                tracing::warn!(%error, "could not clear a session that ended while it rotated");
            }
            Err(RotateError::Ended)
        }
        Err(other) => Err(other.into()),
    }
}

/// Deletes a session's listing row and its store record; used by sign-out, revocation and
/// expiry. Runs in the caller's tenant transaction.
pub async fn delete_listed(
    conn: &mut PgConnection,
    account_session: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH gone AS (DELETE FROM account_sessions WHERE id = $1 RETURNING store_id) \
         DELETE FROM tower_sessions.session WHERE id IN (SELECT store_id FROM gone)",
    )
    .bind(account_session)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the listing row of `signed_in` exists and names `store_id`; records activity in it
/// when `record_activity`. Zero rows means the session was ended.
async fn still_listed(
    state: &AppState,
    signed_in: &SignedIn,
    store_id: &str,
    record_activity: bool,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
    let listed = if record_activity {
        sqlx::query("UPDATE account_sessions SET last_seen_at = $3 WHERE id = $1 AND store_id = $2")
            .bind(signed_in.account_session)
            .bind(store_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1
    } else {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM account_sessions WHERE id = $1 AND store_id = $2)",
        )
        .bind(signed_in.account_session)
        .bind(store_id)
        .fetch_one(&mut *tx)
        .await?
    };
    tx.commit().await?;
    Ok(listed)
}

/// Looks at the session of a request: ends it if it has run out or is no longer listed, and
/// records activity at most once a minute. `cookie_present` tells an ended session from a first
/// visit.
pub async fn authenticate(
    state: &AppState,
    session: &Session,
    cookie_present: bool,
) -> Result<Authentication, DbError> {
    let Some(mut signed_in) = read(session).await else {
        // A session holding only an unfinished sign-in or passkey prompt never was signed in.
        return Ok(if cookie_present && session.is_empty().await {
            Authentication::Ended(SessionEnd::Revoked)
        } else {
            Authentication::Anonymous
        });
    };
    let now = state.clock.now();
    let store_id = session.id().map(|id| id.to_string()).unwrap_or_default();
    let ended = |reason| async move {
        // The record is gone; this clears the cookie too.
        if let Err(error) = session.flush().await {
            tracing::warn!(%error, "could not clear an ended session");
        }
        Ok(Authentication::Ended(reason))
    };
    match signed_in.standing(now) {
        Standing::Ended(reason) => {
            let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
            sqlx::query("DELETE FROM account_sessions WHERE id = $1 AND store_id = $2")
                .bind(signed_in.account_session)
                .bind(&store_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            ended(reason).await
        }
        Standing::Active { record_activity } => {
            if !still_listed(state, &signed_in, &store_id, record_activity, now).await? {
                return ended(SessionEnd::Revoked).await;
            }
            if record_activity {
                signed_in.last_active_at = now.unix_timestamp();
                if let Err(error) = write(session, &signed_in).await {
                    tracing::warn!(%error, "could not record session activity");
                }
            }
            Ok(Authentication::SignedIn(CurrentUser {
                signed_in,
                store_id,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(remember: bool) -> (SignedIn, OffsetDateTime) {
        let start = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        (
            SignedIn::new(Uuid::nil(), Uuid::nil(), remember, start, SUDO_WINDOW),
            start,
        )
    }

    #[test]
    fn idle_sessions_end_after_thirty_minutes_unless_remembered() {
        let (s, start) = session(false);
        assert_eq!(
            s.standing(start + Duration::minutes(29)),
            Standing::Active {
                record_activity: true
            }
        );
        assert_eq!(
            s.standing(start + Duration::minutes(30)),
            Standing::Ended(SessionEnd::Idle)
        );
        let (remembered, start) = session(true);
        assert!(matches!(
            remembered.standing(start + Duration::days(3)),
            Standing::Active { .. }
        ));
    }

    #[test]
    fn sessions_end_at_their_absolute_lifetime() {
        let (mut s, start) = session(false);
        s.last_active_at = (start + Duration::hours(12) - Duration::minutes(1)).unix_timestamp();
        assert_eq!(
            s.standing(start + Duration::hours(12)),
            Standing::Ended(SessionEnd::Expired)
        );
        let (remembered, start) = session(true);
        assert_eq!(
            remembered.standing(start + Duration::days(30)),
            Standing::Ended(SessionEnd::Expired)
        );
    }

    #[test]
    fn activity_is_recorded_at_most_once_a_minute() {
        let (s, start) = session(false);
        assert_eq!(
            s.standing(start + Duration::seconds(59)),
            Standing::Active {
                record_activity: false
            }
        );
    }

    #[test]
    fn the_second_step_waits_five_minutes() {
        let (_, start) = session(false);
        let pending = PendingSignIn {
            owner_id: Uuid::nil(),
            id: Uuid::nil(),
            remember: true,
            password_accepted_at: start.unix_timestamp(),
        };
        assert!(pending.is_current(start + Duration::seconds(299)));
        assert!(!pending.is_current(start + Duration::minutes(5)));
    }

    #[test]
    fn sudo_lasts_ten_minutes_from_signing_in_but_is_no_reauthentication() {
        let (s, start) = session(true);
        assert!(s.in_sudo(start + Duration::minutes(9)));
        assert!(!s.in_sudo(start + Duration::minutes(10)));
        assert!(!s.reauthenticated(start));
    }

    #[test]
    fn only_a_remembered_session_outlives_the_browser() {
        let (remembered, _) = session(true);
        assert_eq!(
            remembered.cookie_lifetime(),
            Expiry::AtDateTime(remembered.expires_at())
        );
        let (plain, _) = session(false);
        assert_eq!(plain.cookie_lifetime(), Expiry::OnSessionEnd);
    }
}
