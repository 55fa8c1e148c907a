//! What the session store keeps for a signed-in browser, how its idle and absolute limits are
//! judged, and moving a session to a fresh id at a privilege change.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tower_sessions::{session_store, Expiry, Session};

use super::{
    store::{ListingMove, LISTING_MOVE_KEY, SESSION_ENDED},
    SessionEnd, SUDO_MINUTES,
};
use crate::platform::{
    ids::{AccountSessionId, OwnerId},
    region::{Region, Tenant},
};

pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_LIFETIME: Duration = Duration::hours(12);
pub const REMEMBERED_LIFETIME: Duration = Duration::days(30);
/// The longest sudo window, and the default.
pub const SUDO_WINDOW: Duration = Duration::minutes(SUDO_MINUTES as i64);
/// Activity is written back at most this often, not on every request.
const ACTIVITY_GRANULARITY: Duration = Duration::minutes(1);

pub(super) const SESSION_KEY: &str = "signed_in";

/// What the session store keeps for a signed-in browser. Times are Unix seconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionRecord {
    pub owner_id: OwnerId,
    /// Where the account's rows live; the session's record lives there too.
    pub region: Region,
    /// The row in account_sessions that lists this session.
    pub account_session: AccountSessionId,
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

/// The verdict on a session at some moment.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    Active { record_activity: bool },
    Ended(SessionEnd),
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl SessionRecord {
    pub fn new(
        tenant: Tenant,
        account_session: AccountSessionId,
        remember: bool,
        now: OffsetDateTime,
        sudo_window: Duration,
    ) -> Self {
        Self {
            owner_id: tenant.owner_id,
            region: tenant.region,
            account_session,
            signed_in_at: now.unix_timestamp(),
            last_active_at: now.unix_timestamp(),
            remember,
            // Signing in is a re-authentication, except for adding a sign-in method.
            sudo_until: Some((now + sudo_window).unix_timestamp()),
            reauthenticated_until: None,
        }
    }

    pub fn tenant(&self) -> Tenant {
        Tenant::new(self.owner_id, self.region)
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

    /// The same session with sensitive actions, and adding sign-in methods, open until `until`.
    pub fn with_sudo_until(mut self, until: OffsetDateTime) -> Self {
        self.sudo_until = Some(until.unix_timestamp());
        self.reauthenticated_until = Some(until.unix_timestamp());
        self
    }
}

/// The signed-in person of the current request, put into the request's extensions.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub(crate) record: SessionRecord,
    /// The tower-sessions id of this request's session.
    pub(crate) store_id: String,
    /// When the account is to be deleted, if it is scheduled: until then it is locked, and this
    /// session reaches only the page that cancels.
    pub(crate) deletion_due: Option<time::OffsetDateTime>,
}

impl CurrentUser {
    /// A signed-in person for an integration test, without a listed session behind them.
    #[cfg(feature = "testing")]
    pub fn for_tests(record: SessionRecord, store_id: String) -> Self {
        Self {
            record,
            store_id,
            deletion_due: None,
        }
    }

    /// When the account is to be deleted, if it is scheduled (and so locked).
    pub fn deletion_due(&self) -> Option<time::OffsetDateTime> {
        self.deletion_due
    }

    pub fn record(&self) -> &SessionRecord {
        &self.record
    }

    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    pub fn owner_id(&self) -> OwnerId {
        self.record.owner_id
    }

    /// The signed-in tenant and its region.
    pub fn tenant(&self) -> Tenant {
        self.record.tenant()
    }

    pub fn account_session(&self) -> AccountSessionId {
        self.record.account_session
    }
}

/// The signed-in state of a session; a store that cannot be read is an error (the request is
/// refused rather than treated as signed out), a record that does not decode is none.
pub(super) async fn load(
    session: &Session,
) -> Result<Option<SessionRecord>, tower_sessions::session::Error> {
    match session.get::<SessionRecord>(SESSION_KEY).await {
        Ok(record) => Ok(record),
        Err(tower_sessions::session::Error::SerdeJson(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

pub async fn read(session: &Session) -> Option<SessionRecord> {
    session
        .get::<SessionRecord>(SESSION_KEY)
        .await
        .ok()
        .flatten()
}

/// Stores the signed-in state, with the cookie lifetime it calls for.
pub async fn write(
    session: &Session,
    record: &SessionRecord,
) -> Result<(), tower_sessions::session::Error> {
    session.set_expiry(Some(record.cookie_lifetime()));
    session.insert(SESSION_KEY, record).await
}

/// Keeps a signed-in session's cookie lifetime on a response that saves the session. The session
/// layer builds the cookie from the lifetime set during the request; a remembered session
/// changed by a request that did not set it (activity, a passkey prompt) would otherwise come
/// back as a cookie the browser drops when it closes.
pub async fn keep_cookie_lifetime(session: &Session) {
    if session.is_modified() {
        if let Some(record) = read(session).await {
            session.set_expiry(Some(record.cookie_lifetime()));
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

/// The store id of a session, once it has one.
pub(super) fn store_id(session: &Session) -> Option<String> {
    session.id().map(|id| id.to_string())
}

/// Moves a session that was not signed in to a fresh id (a privilege change: sign-in), stores
/// `record` in it and returns the new store id. Nothing lists the new id yet; the caller lists
/// it (until then it signs nobody in).
pub async fn rotate_new(
    session: &Session,
    record: &SessionRecord,
) -> Result<String, tower_sessions::session::Error> {
    session.cycle_id().await?;
    write(session, record).await?;
    // Saved now rather than after the response, so the new id is known to list the session.
    session.save().await?;
    store_id(session).ok_or_else(|| {
        tower_sessions::session::Error::Store(session_store::Error::Backend(
            "a saved session has no id".to_owned(),
        ))
    })
}

/// Moves a listed session to a fresh id (sudo is a privilege change) with `record` in it. The
/// store deletes the old record, writes the new one and points the listing at it in one
/// transaction, and refuses when the listing no longer names `current_store_id`.
pub async fn rotate_listed(
    session: &Session,
    record: &SessionRecord,
    current_store_id: &str,
) -> Result<(), RotateError> {
    let moving = ListingMove {
        owner_id: record.owner_id,
        account_session: record.account_session,
        from: current_store_id.to_owned(),
    };
    write(session, record).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session(remember: bool) -> (SessionRecord, OffsetDateTime) {
        let start = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let nil = uuid::Uuid::nil();
        (
            SessionRecord::new(
                Tenant::new(OwnerId::from_uuid(nil), Region::DEFAULT),
                AccountSessionId::from_uuid(nil),
                remember,
                start,
                SUDO_WINDOW,
            ),
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
    fn sudo_lasts_ten_minutes_from_signing_in_but_is_no_reauthentication() {
        let (s, start) = session(true);
        assert!(s.in_sudo(start + Duration::minutes(9)));
        assert!(!s.in_sudo(start + Duration::minutes(10)));
        assert!(!s.reauthenticated(start));
        let confirmed = s.with_sudo_until(start + Duration::minutes(5));
        assert!(confirmed.reauthenticated(start + Duration::minutes(4)));
        assert!(!confirmed.in_sudo(start + Duration::minutes(5)));
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
