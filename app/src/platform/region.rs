//! Data regions (promise P11): where a tenant's rows live, and the tenant as the router sees it.

use serde::{Deserialize, Serialize};

use super::ids::OwnerId;

/// A data region: one database (a cell) holds every row of the tenants that live in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Region {
    UsEast,
    EuWest,
}

impl Region {
    pub const ALL: [Region; 2] = [Region::UsEast, Region::EuWest];
    /// Where an account goes when no one chose, and where visitors not signed in are served.
    pub const DEFAULT: Region = Region::UsEast;

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsEast => "us-east",
            Self::EuWest => "eu-west",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::UsEast => "US-East",
            Self::EuWest => "EU-West",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The region's number in a session id's lowest byte; never 0, so an id without a tag
    /// names no region.
    pub fn tag(self) -> u8 {
        match self {
            Self::UsEast => 1,
            Self::EuWest => 2,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.tag() == tag)
    }

    /// The suffix of the region's database name next to the directory's (`custodian_eu_west`).
    pub fn database_suffix(self) -> &'static str {
        match self {
            Self::UsEast => "_us_east",
            Self::EuWest => "_eu_west",
        }
    }
}

/// One kind of data, and why it is kept where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub what: &'static str,
    pub why: &'static str,
}

/// Everything of an account, kept only in its region's database: the Account and Privacy pages
/// show this list, and the regions tests check that nothing else leaves the region.
pub const IN_REGION: &[Stored] = &[
    Stored {
        what: "Your account: address, name, password hash",
        why: "to sign you in",
    },
    Stored {
        what: "Sessions, known devices and the security log",
        why: "to show and end sessions and to prove what happened",
    },
    Stored {
        what: "Second factors: authenticator secret, backup codes, passkeys",
        why: "to check your second step",
    },
    Stored {
        what: "Consent records and policy reviews",
        why: "to honor and prove your choices",
    },
    Stored {
        what: "Mail waiting to be sent to you",
        why: "to deliver it once",
    },
    Stored {
        what: "Your data keys (wrapped by the region's own key)",
        why: "to seal your secrets",
    },
];

/// What is kept outside any one region, and why.
pub const GLOBAL: &[Stored] = &[
    Stored {
        what: "A keyed hash of your address, with your account id and region",
        why: "to find your region when you sign in; the address itself is not stored there",
    },
    Stored {
        what: "Hashes of invite codes, with the region that keeps each invite",
        why: "so an invite works for a sign-up in any region",
    },
];

/// A tenant and the region that holds its rows: what a tenant-scoped transaction needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tenant {
    pub owner_id: OwnerId,
    pub region: Region,
}

impl Tenant {
    pub fn new(owner_id: OwnerId, region: Region) -> Self {
        Self { owner_id, region }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags_read_back_and_no_tag_is_zero() {
        for region in Region::ALL {
            assert_eq!(Region::parse(region.as_str()), Some(region));
            assert_eq!(Region::from_tag(region.tag()), Some(region));
            assert_ne!(region.tag(), 0);
        }
        assert_eq!(Region::from_tag(0), None);
        assert_eq!(Region::parse("US-East"), None);
    }
}
