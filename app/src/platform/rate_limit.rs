//! Fixed-window rate limits kept in PostgreSQL, so every server process counts together.
//!
//! Each anonymous endpoint that costs hashing, mail or a database row is limited per client (an
//! IPv4 address, or an IPv6 /64: one IPv6 host holds a whole /64) and, more loosely, per network
//! (an IPv4 /24, an IPv6 /48). Mail is also limited per recipient, and some actions per account. Buckets name
//! addresses, networks and recipients only through a keyed digest, so the table holds no
//! personal data, and windows are swept after two hours.
//!
//! Owns: `rate_limits`.

use std::net::IpAddr;

use ipnet::IpNet;
use sqlx::{PgConnection, PgPool};
use thiserror::Error;
use time::{Duration, OffsetDateTime};

use super::{
    ids::OwnerId,
    keys::{Derived, KeyEncryptionKey},
};

/// A network may make this many times the requests of one address.
const NETWORK_FACTOR: u32 = 4;
/// Mails of one kind (verification, reset, address change) to one recipient per hour.
pub const MAILS_PER_RECIPIENT_PER_HOUR: u32 = 5;
/// The longest window; rows older than twice this are swept.
const LONGEST_WINDOW: Duration = Duration::hours(1);

#[derive(Debug, Error)]
pub enum RateLimitError {
    #[error("Too many attempts from your network. Wait a minute, then try again.")]
    Exceeded,
    #[error("the rate limits could not be counted: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a client is doing; each kind is counted apart. The limit per address per minute is the
/// configured one (AUTH_RATE_LIMIT) times the kind's factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Sign-in, sign-up, password reset, the second step, re-authentication.
    Authenticate,
    /// Asking for a passkey prompt or answering one (the sign-in page asks on every visit).
    Passkey,
    /// The password-strength meter, asked as a person types.
    StrengthCheck,
    /// Consent choices, themes, and the GPC record of a browser new to the server.
    Consent,
    /// Verifying a pasted consent receipt.
    ReceiptCheck,
    /// Opening a share link (its password included).
    ShareLink,
    /// Searching Discover (each search reads every published app).
    Search,
    /// The public rights-requests report (each reads every region's requests).
    Report,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Authenticate => "auth",
            Self::Passkey => "passkey",
            Self::StrengthCheck => "strength",
            Self::Consent => "consent",
            Self::ReceiptCheck => "receipt",
            Self::ShareLink => "share",
            Self::Search => "search",
            Self::Report => "report",
        }
    }

    fn factor(self) -> u32 {
        match self {
            Self::Authenticate | Self::Consent | Self::ReceiptCheck | Self::ShareLink => 1,
            Self::Passkey => 2,
            Self::StrengthCheck | Self::Search | Self::Report => 4,
        }
    }
}

fn prefix(ip: IpAddr, v4: u8, v6: u8) -> IpNet {
    let (ip, length) = match ip.to_canonical() {
        ip @ IpAddr::V4(_) => (ip, v4),
        ip @ IpAddr::V6(_) => (ip, v6),
    };
    IpNet::new(ip, length).map_or_else(|_| IpNet::from(ip), |net| net.trunc())
}

/// What counts as one client: an IPv4 address, or an IPv6 /64 (one host holds a whole /64 and
/// can use a new address for every request).
pub fn client_of(ip: IpAddr) -> IpNet {
    prefix(ip, 32, 64)
}

/// The network a client belongs to, for its looser bucket: an IPv4 /24, an IPv6 /48.
pub fn network_of(ip: IpAddr) -> IpNet {
    prefix(ip, 24, 48)
}

fn bucket(kek: &KeyEncryptionKey, kind: &str, subject: &str) -> String {
    let digest = kek.mac(Derived::RateLimitBuckets, subject.as_bytes());
    format!("{kind}:{}", super::keys::hex(&digest[..12]))
}

fn window_start(now: OffsetDateTime, window: Duration) -> OffsetDateTime {
    let seconds = window.whole_seconds().max(1);
    let start = now.unix_timestamp() - now.unix_timestamp().rem_euclid(seconds);
    OffsetDateTime::from_unix_timestamp(start).unwrap_or(now)
}

/// Counts one hit for `bucket` in its current window; false when that exceeds `limit`.
async fn hit(
    conn: &mut PgConnection,
    bucket: &str,
    limit: u32,
    window: Duration,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let hits: i32 = sqlx::query_scalar(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 \
         RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start(now, window))
    .fetch_one(conn)
    .await?;
    Ok(i64::from(hits) <= i64::from(limit))
}

/// The limits one server applies.
#[derive(Clone)]
pub struct Limits {
    /// Attempts per client address per minute for the strictest kind.
    pub per_address: u32,
}

impl Limits {
    /// Counts `action` for the client's network, then for the client; refused when either is
    /// over. A network over its limit is refused before its client is counted, so requests
    /// from ever new addresses of one network add no rows.
    pub async fn check(
        &self,
        pool: &PgPool,
        kek: &KeyEncryptionKey,
        action: Action,
        ip: IpAddr,
        now: OffsetDateTime,
    ) -> Result<(), RateLimitError> {
        let per_client = self.per_address.saturating_mul(action.factor());
        let network = bucket(kek, action.name(), &format!("net {}", network_of(ip)));
        let client = bucket(kek, action.name(), &format!("client {}", client_of(ip)));
        let mut conn = pool.acquire().await?;
        let per_network = per_client.saturating_mul(NETWORK_FACTOR);
        if !hit(&mut conn, &network, per_network, Duration::MINUTE, now).await? {
            return Err(RateLimitError::Exceeded);
        }
        if !hit(&mut conn, &client, per_client, Duration::MINUTE, now).await? {
            return Err(RateLimitError::Exceeded);
        }
        Ok(())
    }
}

/// Counts one mail of `kind` to `recipient`, on the connection of the transaction that sends it;
/// false once the recipient had MAILS_PER_RECIPIENT_PER_HOUR of that kind this hour (the caller
/// then sends nothing).
pub async fn allow_mail(
    conn: &mut PgConnection,
    kek: &KeyEncryptionKey,
    kind: &str,
    recipient: &str,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let bucket = bucket(kek, "mail", &format!("{kind} {}", recipient.to_lowercase()));
    hit(
        conn,
        &bucket,
        MAILS_PER_RECIPIENT_PER_HOUR,
        LONGEST_WINDOW,
        now,
    )
    .await
}

/// Counts one `action` of an account, on the connection of its transaction; false once it had
/// `limit` this hour.
pub async fn allow_for_account(
    conn: &mut PgConnection,
    kek: &KeyEncryptionKey,
    action: &str,
    owner_id: OwnerId,
    limit: u32,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let bucket = bucket(kek, "account", &format!("{action} {owner_id}"));
    hit(conn, &bucket, limit, LONGEST_WINDOW, now).await
}

/// The kinds of mail counted per recipient, and the actions counted per account, as their
/// callers name them: the buckets an erased account leaves are found from these.
const MAIL_KINDS: [&str; 5] = ["signup", "verify", "change", "reset", "app invite"];
const ACCOUNT_ACTIONS: [&str; 2] = ["email change", "app invite"];

/// Every bucket that counts something of the account `owner_id` or its address.
pub fn buckets_naming(kek: &KeyEncryptionKey, owner_id: OwnerId, email: &str) -> Vec<String> {
    let mail = MAIL_KINDS
        .iter()
        .map(|kind| bucket(kek, "mail", &format!("{kind} {}", email.to_lowercase())));
    let account = ACCOUNT_ACTIONS
        .iter()
        .map(|action| bucket(kek, "account", &format!("{action} {owner_id}")));
    mail.chain(account).collect()
}

/// Drops windows that can no longer matter.
pub async fn sweep(pool: &PgPool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(now - LONGEST_WINDOW * 2)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_an_address_or_a_slash_64_and_its_network_a_slash_24_or_a_slash_48() {
        let client = |ip: &str| client_of(ip.parse().unwrap()).to_string();
        let net = |ip: &str| network_of(ip.parse().unwrap()).to_string();
        assert_eq!(client("203.0.113.77"), "203.0.113.77/32");
        assert_eq!(client("2001:db8:abcd:12:1:2:3:4"), "2001:db8:abcd:12::/64");
        assert_eq!(net("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(net("2001:db8:abcd:12:1:2:3:4"), "2001:db8:abcd::/48");
        assert_eq!(net("::ffff:198.51.100.3"), "198.51.100.0/24");
    }

    #[test]
    fn windows_start_on_their_boundary() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_123).unwrap();
        assert_eq!(
            window_start(at, Duration::MINUTE).unix_timestamp(),
            1_800_000_120
        );
        assert_eq!(
            window_start(at, Duration::HOUR).unix_timestamp(),
            1_800_000_000
        );
    }
}
