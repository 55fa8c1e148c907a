//! The signed-in state of a browser session (promise P4): what the session store holds, how the
//! idle and absolute limits are judged, activity recorded at most once a minute, and the
//! per-request lookup the server's middleware runs.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

use super::api::SessionEnd;
use crate::platform::{
    db::{DbError, TenantTx},
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
    pub sudo_until: Option<i64>,
}

/// A sign-in whose password was right and whose second factor is still to come. The session is
/// not signed in while it holds only this.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingSignIn {
    pub owner_id: Uuid,
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
            // Signing in is a re-authentication.
            sudo_until: Some((now + sudo_window).unix_timestamp()),
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

pub async fn write(
    session: &Session,
    signed_in: &SignedIn,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(SESSION_KEY, signed_in).await
}

/// Moves the session to a fresh id (sign-in and sudo are privilege changes), stores
/// `signed_in` in it and returns the new store id.
pub async fn rotate(
    session: &Session,
    signed_in: &SignedIn,
) -> Result<String, tower_sessions::session::Error> {
    session.cycle_id().await?;
    write(session, signed_in).await?;
    // Saved now rather than after the response, so the new id is known to list the session.
    session.save().await?;
    Ok(session.id().map(|id| id.to_string()).unwrap_or_default())
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

/// Looks at the session of a request: ends it if it has run out, and records activity at most
/// once a minute. `cookie_present` tells an ended session from a first visit.
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
    match signed_in.standing(now) {
        Standing::Ended(reason) => {
            let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
            delete_listed(&mut tx, signed_in.account_session).await?;
            tx.commit().await?;
            // The record is gone; this clears the cookie too.
            if let Err(error) = session.flush().await {
                tracing::warn!(%error, "could not clear an ended session");
            }
            Ok(Authentication::Ended(reason))
        }
        Standing::Active { record_activity } => {
            let store_id = session.id().map(|id| id.to_string()).unwrap_or_default();
            if record_activity {
                signed_in.last_active_at = now.unix_timestamp();
                if write(session, &signed_in).await.is_ok() {
                    let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
                    sqlx::query("UPDATE account_sessions SET last_seen_at = $2 WHERE id = $1")
                        .bind(signed_in.account_session)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
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
            remember: true,
            password_accepted_at: start.unix_timestamp(),
        };
        assert!(pending.is_current(start + Duration::seconds(299)));
        assert!(!pending.is_current(start + Duration::minutes(5)));
    }

    #[test]
    fn sudo_lasts_ten_minutes_from_signing_in() {
        let (s, start) = session(true);
        assert!(s.in_sudo(start + Duration::minutes(9)));
        assert!(!s.in_sudo(start + Duration::minutes(10)));
    }
}
