//! The privacy area's types, shared by the pages and the server (promises P6, P7), its notices
//! and its security-log events.

use serde::{Deserialize, Serialize};

use crate::platform::area::events;

events! {
    CONSENT_CHANGED = "consent_changed" => "Consent choice recorded",
    POLICY_ACKNOWLEDGED = "policy_acknowledged" => "Policy change reviewed",
}

/// A cookie category. Essential is always granted; the rest are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Category {
    Essential,
    Functional,
    Analytics,
    /// Sale or sharing of personal information (CCPA); granted unless the person opts out.
    SaleShare,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Essential,
        Category::Functional,
        Category::Analytics,
        Category::SaleShare,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Essential => "essential",
            Self::Functional => "functional",
            Self::Analytics => "analytics",
            Self::SaleShare => "sale_share",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Essential => "Essential",
            Self::Functional => "Functional",
            Self::Analytics => "Analytics",
            Self::SaleShare => "Sale or sharing of personal information",
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            Self::Essential => "Keep you signed in, protect forms and remember this choice. Always on: the site cannot work without them.",
            Self::Functional => "Remember your theme and layout preference on this device.",
            Self::Analytics => "Count page views per page and day, first-party and in aggregate: no identifiers, no personal data.",
            Self::SaleShare => "Custodian does not sell or share personal information; this records your choice should that ever change.",
        }
    }
}

/// The choices a person made about the optional categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Choices {
    pub functional: bool,
    pub analytics: bool,
    /// "Do Not Sell or Share My Personal Information" is on.
    pub sale_share_opt_out: bool,
}

impl Choices {
    pub const ACCEPT_ALL: Choices = Choices {
        functional: true,
        analytics: true,
        sale_share_opt_out: false,
    };
    pub const REJECT_ALL: Choices = Choices {
        functional: false,
        analytics: false,
        sale_share_opt_out: true,
    };

    /// The choices in force when the browser sends GPC (or not): GPC opts out of analytics and
    /// of sale/share whatever was chosen.
    pub fn under_gpc(self, gpc: bool) -> Choices {
        Choices {
            functional: self.functional,
            analytics: self.analytics && !gpc,
            sale_share_opt_out: self.sale_share_opt_out || gpc,
        }
    }

    /// Whether `category` is granted by these choices alone (GPC aside).
    pub fn grants(self, category: Category) -> bool {
        match category {
            Category::Essential => true,
            Category::Functional => self.functional,
            Category::Analytics => self.analytics,
            Category::SaleShare => !self.sale_share_opt_out,
        }
    }

    /// The choices a ledger record's granted categories (their stored names) stand for.
    pub fn from_granted(granted: &[String]) -> Choices {
        let has = |c: Category| granted.iter().any(|g| g == c.as_str());
        Choices {
            functional: has(Category::Functional),
            analytics: has(Category::Analytics),
            sale_share_opt_out: !has(Category::SaleShare),
        }
    }
}

/// The colour theme: the device's setting unless the person picks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::System => "Same as this device",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }

    /// The class on <html> that the stylesheet's dark variant follows.
    pub fn class(self) -> &'static str {
        match self {
            Self::System => "",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

/// A policy version a person has just acknowledged, as the server recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcknowledgedPolicy {
    pub document: String,
    pub version: i32,
}

/// A policy version a signed-in person has not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyNotice {
    pub document: String,
    pub title: String,
    pub version: i32,
    pub published: String,
    pub summary: String,
}

/// What every page needs to know about consent, computed on the server per request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PageConsent {
    /// The browser's current choice; None until one is made (the banner shows).
    pub choice: Option<Choices>,
    /// The browser sent `Sec-GPC: 1` with this request.
    pub gpc: bool,
    pub theme: Theme,
    /// Material policy changes a signed-in person still has to review.
    pub reviews: Vec<PolicyNotice>,
    /// A browser of the signed-in account sent GPC: it applies on every device until this day,
    /// and the account is not asked to opt back in before it.
    pub account_gpc_until: Option<String>,
    /// The account's newest choice opts out of sale or sharing (on any device).
    pub account_sale_opt_out: bool,
}

impl PageConsent {
    /// The choice in force, with GPC (this browser's or the account's) applied.
    pub fn effective(&self) -> Choices {
        let mut choices = self
            .choice
            .unwrap_or_default()
            .under_gpc(self.gpc || self.account_gpc_until.is_some());
        choices.sale_share_opt_out |= self.account_sale_opt_out;
        choices
    }

    /// Whether the banner asks this browser for a choice: not after one, and not while the
    /// account's GPC opt-out holds.
    pub fn asks(&self) -> bool {
        self.choice.is_none() && self.account_gpc_until.is_none()
    }
}

/// One record of the consent ledger, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRow {
    pub id: String,
    pub recorded: String,
    pub method: String,
    pub granted: Vec<String>,
    pub denied: Vec<String>,
    pub policy_version: i32,
    pub gpc: bool,
}

/// Where data is kept, as this server is configured (promise P11): what the Privacy page's
/// in-region / out-of-region table shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLocations {
    /// The regions this server serves, by name.
    pub regions: Vec<String>,
    /// The signed-in person's region, if any.
    pub yours: Option<String>,
    pub mail_origin: String,
    /// Days from a deletion request to the hard delete (DELETION_GRACE_DAYS).
    pub deletion_grace_days: u8,
    /// Days a backup is kept (BACKUP_RETENTION_DAYS).
    pub backup_days: u8,
}

/// A policy version, rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyText {
    pub document: String,
    pub title: String,
    pub version: i32,
    pub latest_version: i32,
    pub published: String,
    pub material: bool,
    pub summary: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRow {
    pub version: i32,
    pub published: String,
    pub material: bool,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersions {
    pub document: String,
    pub title: String,
    pub versions: Vec<PolicyVersionRow>,
}

/// The verify page's answer about a pasted receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReceiptVerdict {
    /// Signed by this server's key and unchanged since.
    Genuine {
        receipt_id: String,
        subject: String,
        recorded: String,
        method: String,
        granted: Vec<String>,
        denied: Vec<String>,
    },
    /// A residency attestation signed by this server's key and unchanged since (promise P11).
    Residency {
        account: String,
        region: String,
        database: String,
        key_id: String,
        generated: String,
    },
    /// A deletion receipt signed by this server's key and unchanged since (promise P8).
    Deletion {
        ledger_entry: String,
        requested: String,
        purged: String,
        rows_removed: i64,
        data_key_destroyed: bool,
    },
    /// A publication receipt signed by this server's key and unchanged since (promise P10).
    Publication {
        action: String,
        app_name: String,
        app_id: String,
        author: String,
        at: String,
        files: usize,
        override_reason: Option<String>,
    },
    /// A rights request's closure receipt signed by this server's key and unchanged since
    /// (promise P15).
    RightsClosure {
        request_id: String,
        received: String,
        closed: String,
        rights: Vec<String>,
    },
    /// Well-formed, but the signature does not match its contents.
    Tampered,
    /// Not a receipt at all; says what is wrong.
    Malformed(String),
}

/// The longest receipt the verify page reads; real ones are about 2 KB.
pub const MAX_RECEIPT_LEN: usize = 64 * 1024;
