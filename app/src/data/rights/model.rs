//! Rights requests' types shared by the pages and the server, and their rules of input.

use serde::{Deserialize, Serialize};

/// Requests an account may make in any 24 hours.
pub const REQUESTS_PER_DAY: i64 = 5;
/// The longest text of any field of a request.
pub const MAX_TEXT: usize = 2_000;

/// A right a person can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Right {
    Correction,
    Restriction,
    Objection,
    Access,
    /// "Do Not Sell or Share My Personal Information" (CCPA): takes effect at once.
    OptOut,
}

impl Right {
    pub const ALL: [Right; 5] = [
        Right::Correction,
        Right::Restriction,
        Right::Objection,
        Right::Access,
        Right::OptOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Correction => "correction",
            Self::Restriction => "restriction",
            Self::Objection => "objection",
            Self::Access => "access",
            Self::OptOut => "opt_out",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Correction => "Correction",
            Self::Restriction => "Restriction of processing",
            Self::Objection => "Objection",
            Self::Access => "Access",
            Self::OptOut => "Do Not Sell or Share",
        }
    }
}

/// The law a request is answered under, which sets its clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Regime {
    Gdpr,
    Ccpa,
    /// Both could apply: the earlier date wins.
    Both,
}

impl Regime {
    pub const ALL: [Regime; 3] = [Regime::Gdpr, Regime::Ccpa, Regime::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gdpr => "gdpr",
            Self::Ccpa => "ccpa",
            Self::Both => "both",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Gdpr => "GDPR (EU, EEA, UK): one month, extendable by two with notice",
            Self::Ccpa => "CCPA (California): 45 days, extendable once by 45 with notice",
            Self::Both => "Both, or not sure: whichever date comes first",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Self::Gdpr => "GDPR",
            Self::Ccpa => "CCPA",
            Self::Both => "GDPR and CCPA (the earlier date)",
        }
    }

    pub fn includes_ccpa(self) -> bool {
        matches!(self, Self::Ccpa | Self::Both)
    }
}

/// Where one right of a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Received,
    InProgress,
    Done,
    PartlyDone,
    Refused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::PartlyDone => "partly_done",
            Self::Refused => "refused",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Received,
            Self::InProgress,
            Self::Done,
            Self::PartlyDone,
            Self::Refused,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Received => "Received",
            Self::InProgress => "In progress",
            Self::Done => "Done",
            Self::PartlyDone => "Partly done",
            Self::Refused => "Refused",
        }
    }

    pub fn closed(self) -> bool {
        matches!(self, Self::Done | Self::PartlyDone | Self::Refused)
    }
}

/// The processing purposes of the privacy policy a person can object to.
pub const PURPOSES: &[(&str, &str)] = &[
    ("product_analytics", "Product analytics (page-view counts)"),
    (
        "security_monitoring",
        "Security monitoring (new-device alerts, sign-in checks)",
    ),
    ("discover_listing", "Listing your published apps on Discover"),
    (
        "direct_marketing",
        "Direct marketing (product news by mail): stops at once",
    ),
];

/// The label of an objection's purpose.
pub fn purpose_label(purpose: &str) -> Option<&'static str> {
    PURPOSES
        .iter()
        .find(|(key, _)| *key == purpose)
        .map(|(_, label)| *label)
}

/// One right of a request as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightView {
    pub right: Right,
    pub status: Status,
    /// What was asked, in a sentence.
    pub asked: String,
    /// Why it was refused or only partly done.
    pub reason: String,
    /// The date it is due (extended when it was), YYYY-MM-DD.
    pub due_on: String,
    /// Days until it is due (negative: overdue); None once closed.
    pub days_left: Option<i64>,
    pub extension_reason: Option<String>,
    /// CCPA: the receipt is confirmed by this date (it is confirmed at once, by mail).
    pub confirm_by: Option<String>,
    pub closed_on: Option<String>,
    /// A granted restriction the person may lift.
    pub can_lift: bool,
}

/// A request as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: uuid::Uuid,
    pub received: String,
    pub regime: Regime,
    pub rights: Vec<RightView>,
    pub closed: Option<String>,
}

impl RequestView {
    pub fn receipt_path(&self) -> String {
        format!("/data/requests/{}/receipt", self.id)
    }
}

/// The rights section of the Your data page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightsOverview {
    /// "Processing restricted since …, because …".
    pub restriction: Option<String>,
    /// Newest first.
    pub requests: Vec<RequestView>,
    pub product_news: bool,
}

/// A request as typed in the form, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestForm {
    pub regime: String,
    pub correction: bool,
    pub correction_data: String,
    pub correction_wrong: String,
    pub correction_should: String,
    pub restriction: bool,
    pub restriction_reason: String,
    pub objection: bool,
    pub objection_purpose: String,
    pub access: bool,
    pub opt_out: bool,
}

/// One line of the public report: a right's requests in one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub right: Right,
    pub year: i32,
    pub received: i64,
    pub done: i64,
    pub partly_done: i64,
    pub refused: i64,
    /// Median days from receipt to answer, of those answered.
    pub median_days: Option<f64>,
}
