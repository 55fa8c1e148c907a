//! Capability tokens (promise P10): how a private app opens on its own origin without any
//! cookie there. The site mints one for a frame; it names the app, who views it and when it
//! stops working (at most `CAPABILITY_MINUTES` later), under an HMAC of the server's key. The
//! app's origin checks the MAC, the app, the expiry, and that the viewer still may see the app.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use time::OffsetDateTime;

use crate::platform::{
    ids::{AppId, OwnerId, ShareLinkId},
    keys::{constant_time_eq, Derived, KeyEncryptionKey},
};

const VERSION: u8 = 1;
const BODY: usize = 1 + 16 + 1 + 16 + 8;
const MAC: usize = 32;

/// Who a token opens the app for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The app's owner, from the app's page.
    Owner(OwnerId),
    /// Whoever opened one of its share links.
    Link(ShareLinkId),
    /// A collaborator (another tenant) from the app's page.
    Member(OwnerId),
    /// Anyone, from the app's page on Discover: it opens only while the app is published.
    Public,
}

/// Why a token opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not one of ours, or for another app.
    Invalid,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    pub app: AppId,
    pub viewer: Viewer,
    pub expires_at: OffsetDateTime,
}

impl Capability {
    fn body(&self) -> [u8; BODY] {
        let (kind, viewer) = match self.viewer {
            Viewer::Owner(owner) => (b'o', owner.as_uuid()),
            Viewer::Link(link) => (b'l', link.as_uuid()),
            Viewer::Member(member) => (b'm', member.as_uuid()),
            Viewer::Public => (b'p', self.app.as_uuid()),
        };
        let mut body = [0; BODY];
        body[0] = VERSION;
        body[1..17].copy_from_slice(self.app.as_uuid().as_bytes());
        body[17] = kind;
        body[18..34].copy_from_slice(viewer.as_bytes());
        body[34..].copy_from_slice(&self.expires_at.unix_timestamp().to_be_bytes());
        body
    }

    /// The token, for a path segment.
    pub fn mint(&self, key: &KeyEncryptionKey) -> String {
        let body = self.body();
        let mut token = body.to_vec();
        token.extend_from_slice(&key.mac(Derived::AppCapabilities, &body));
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The capability `token` grants on `app`'s origin at `now`.
    pub fn open(
        key: &KeyEncryptionKey,
        token: &str,
        app: AppId,
        now: OffsetDateTime,
    ) -> Result<Self, Refusal> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| Refusal::Invalid)?;
        if bytes.len() != BODY + MAC {
            return Err(Refusal::Invalid);
        }
        let (body, mac) = bytes.split_at(BODY);
        if !constant_time_eq(mac, &key.mac(Derived::AppCapabilities, body)) || body[0] != VERSION {
            return Err(Refusal::Invalid);
        }
        let uuid = |range: std::ops::Range<usize>| {
            uuid::Uuid::from_slice(&body[range]).map_err(|_| Refusal::Invalid)
        };
        let named = AppId::from_uuid(uuid(1..17)?);
        let viewer = match body[17] {
            b'o' => Viewer::Owner(OwnerId::from_uuid(uuid(18..34)?)),
            b'l' => Viewer::Link(ShareLinkId::from_uuid(uuid(18..34)?)),
            b'm' => Viewer::Member(OwnerId::from_uuid(uuid(18..34)?)),
            b'p' => Viewer::Public,
            _ => return Err(Refusal::Invalid),
        };
        let mut seconds = [0; 8];
        seconds.copy_from_slice(&body[34..]);
        let expires_at = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(seconds))
            .map_err(|_| Refusal::Invalid)?;
        if named != app {
            return Err(Refusal::Invalid);
        }
        if expires_at <= now {
            return Err(Refusal::Expired);
        }
        Ok(Self {
            app,
            viewer,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn key() -> KeyEncryptionKey {
        let text = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        crate::platform::keys::from_setting(&text).unwrap()
    }

    #[test]
    fn a_token_opens_its_app_for_its_viewer_until_it_expires() {
        let key = key();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let app = AppId::from_uuid(uuid::Uuid::from_u128(1));
        let other = AppId::from_uuid(uuid::Uuid::from_u128(2));
        let capability = Capability {
            app,
            viewer: Viewer::Link(ShareLinkId::from_uuid(uuid::Uuid::from_u128(3))),
            expires_at: now + Duration::minutes(10),
        };
        let token = capability.mint(&key);
        assert_eq!(Capability::open(&key, &token, app, now), Ok(capability));
        assert_eq!(Capability::open(&key, &token, other, now), Err(Refusal::Invalid));
        assert_eq!(
            Capability::open(&key, &token, app, now + Duration::minutes(10)),
            Err(Refusal::Expired)
        );
        let mut forged = URL_SAFE_NO_PAD.decode(&token).unwrap();
        forged[20] ^= 1;
        assert_eq!(
            Capability::open(&key, &URL_SAFE_NO_PAD.encode(forged), app, now),
            Err(Refusal::Invalid)
        );
        assert_eq!(Capability::open(&key, "not a token", app, now), Err(Refusal::Invalid));
        assert_eq!(Capability::open(&key, &token[..40], app, now), Err(Refusal::Invalid));
    }
}
