//! Identifiers as types: an owner id cannot be passed where a passkey id is meant. Each is a
//! UUID underneath, parsed once at the edge (a server function's argument, a form field); a
//! malformed one never reaches a service.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type))]
        #[cfg_attr(feature = "ssr", sqlx(transparent))]
        pub struct $name(Uuid);

        impl $name {
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(text.trim()).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A tenant: the person whose account owns the rows.
    OwnerId
);
uuid_id!(
    /// A signed-in session's listing row (`account_sessions`), as the Sessions page names it.
    AccountSessionId
);
uuid_id!(
    /// A registered passkey.
    PasskeyId
);
uuid_id!(
    /// A record of the consent ledger.
    ConsentRecordId
);
uuid_id!(
    /// An app a person made (and the label of its own origin).
    AppId
);
uuid_id!(
    /// One share link of an app.
    ShareLinkId
);

#[cfg(feature = "ssr")]
macro_rules! new_ids {
    ($($name:ident),*) => {
        $(impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }
        })*
    };
}

#[cfg(feature = "ssr")]
new_ids!(
    OwnerId,
    AccountSessionId,
    PasskeyId,
    ConsentRecordId,
    AppId,
    ShareLinkId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_once_and_print_back() {
        let id: PasskeyId = " 67e55044-10b1-426f-9247-bb680e5fe0c8 ".parse().unwrap();
        assert_eq!(id.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert!("not-an-id".parse::<PasskeyId>().is_err());
        assert_eq!(
            serde_json::from_str::<OwnerId>("\"67e55044-10b1-426f-9247-bb680e5fe0c8\"").unwrap(),
            OwnerId::from_uuid(id.as_uuid())
        );
    }
}
