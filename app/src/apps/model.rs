//! The apps area's types shared by the pages and the server, its rules (limits, file paths,
//! share-link choices), notices and security-log events.

use serde::{Deserialize, Serialize};

use crate::platform::{
    area::{events, notices},
    ids::{AppId, ShareLinkId},
};

/// The most an app's files may weigh together.
pub const APP_BYTES: i64 = 10 * 1024 * 1024;
/// The most all of an account's apps may weigh together.
pub const ACCOUNT_BYTES: i64 = 100 * 1024 * 1024;
/// The most files one app may hold.
pub const APP_FILES: i64 = 500;
/// The largest upload request: an app's worth of files and the form around them.
pub const UPLOAD_BODY_BYTES: usize = APP_BYTES as usize + 512 * 1024;
/// The most a zip entry may unpack to per byte it takes in the zip: more is a zip bomb.
pub const ZIP_RATIO: u64 = 100;
/// Days an app stays in the trash before it is purged for good.
pub const TRASH_DAYS: i64 = 14;
/// The longest a capability token opens an app for.
pub const CAPABILITY_MINUTES: i64 = 10;
/// Wrong passwords a share link takes before it locks, and for how long.
pub const LINK_TRIES: i32 = 3;
pub const LINK_LOCK_MINUTES: i64 = 30;
/// The most apps an account may have, the trash's included.
pub const APPS_PER_ACCOUNT: i64 = 100;
/// The most share links an app may have, revoked ones included.
pub const LINKS_PER_APP: i64 = 50;
/// The most people an app may be shared with or offered to.
pub const MEMBERS_PER_APP: i64 = 20;
/// Days an invitation to an app works.
pub const INVITE_DAYS: i64 = 7;
/// The most hosts an app may declare for its scripts to connect to.
pub const CONNECT_HOSTS: usize = 10;

pub const APPS_PAGE: &str = "/apps";

/// The page of one app.
pub fn app_page(id: AppId) -> String {
    format!("{APPS_PAGE}/{id}")
}

/// Where a form posts an app's new files (a plain multipart POST: it works without script).
pub fn upload_path(id: AppId) -> String {
    format!("{APPS_PAGE}/{id}/files")
}

/// Whether `path` is an upload's, which may send a larger body than any other request.
pub fn is_upload_path(path: &str) -> bool {
    path.strip_prefix("/apps/")
        .and_then(|rest| rest.strip_suffix("/files"))
        .is_some_and(|id| !id.contains('/'))
}

/// Where a share link leads: `/s/<app-id>/<token>`, a page of the site that frames the app.
pub const SHARE_PREFIX: &str = "/s/";

/// Where an invitation's link leads: `/apps/join/<app-id>/<token>`.
pub const JOIN_PREFIX: &str = "/apps/join/";

/// Whether `path` is a page whose address holds a secret: a share link's or an invitation's.
pub fn is_share_path(path: &str) -> bool {
    path.starts_with(SHARE_PREFIX) || path.starts_with(JOIN_PREFIX)
}

/// `path` as logs may keep it: a share link's or an invitation's token is replaced, the app's
/// id kept.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in [SHARE_PREFIX, JOIN_PREFIX] {
        if let Some((app, _)) = path.strip_prefix(prefix).and_then(|rest| rest.split_once('/')) {
            return format!("{prefix}{app}/…").into();
        }
    }
    path.into()
}

notices! {
    /// Confirmations of the apps pages, shown after a redirect.
    AppsNotice {
        Created = "app-created" => "Your app is made. Only you can see it.",
        Remixed = "app-remixed" => "Your remix is made: a private copy of the files that only you can see.",
        Saved = "app-saved" => "Saved.",
        FilesUploaded = "files-uploaded" => "The files were uploaded.",
        FileDeleted = "file-deleted" => "The file was deleted.",
        Trashed = "app-trashed" => "The app is in the trash: its links and sharing are paused until you restore it.",
        Restored = "app-restored" => "The app is restored.",
        LinkRevoked = "link-revoked" => "The link was revoked: it no longer opens the app.",
        Invited = "member-invited" => "The invitation is on its way. It works for 7 days.",
        MemberRemoved = "member-removed" => "Removed: they can no longer open the app.",
        Joined = "app-joined" => "You joined the app. It is in \u{201c}Shared with you\u{201d} on the Apps page.",
        Left = "app-left" => "You left the app: it is no longer shared with you.",
        LinksRevoked = "links-revoked" => "Every link was revoked.",
        Published = "app-published" => "Published: the app is on Discover for anyone to open. Your receipt is below.",
        Unpublished = "app-unpublished" => "Unpublished: the app left Discover and its public page at once (copies kept by browsers expire within a minute). Your receipt is below.",
        RemixOn = "remix-on" => "Remixing is on: signed-in people can copy the app's files into an app of their own.",
        RemixOff = "remix-off" => "Remixing is off. Copies made before stay with the people who made them.",
        SecretAdded = "secret-added" => "The secret is sealed and saved. Its value can never be shown again, only replaced.",
        SecretReplaced = "secret-replaced" => "The secret's value was replaced: the old one is gone.",
        SecretHostsChanged = "secret-hosts" => "Saved: the secret goes to the new list of hosts from the next request on.",
        SecretDeleted = "secret-deleted" => "The secret was deleted: its sealed value is gone.",
        ConnectionAdded = "connection-added" => "The connection is sealed and saved. The app's calls refresh its token when it is about to expire.",
        Disconnected = "disconnected" => "Disconnected: its tokens are deleted here, and the service confirmed it revoked them.",
        DisconnectedUnrevoked = "disconnected-unrevoked" => "Disconnected: its tokens are deleted here, but the service could not be asked to revoke them. Revoke the access in the service's own settings.",
        DisconnectedNoRevocation = "disconnected-local" => "Disconnected: its tokens are deleted here. The service offers no way to revoke them from here; revoke the access in its own settings.",
    }
}

events! {
    APP_CREATED = "app_created" => "App created",
    APP_UPDATED = "app_updated" => "App details changed",
    APP_FILES_CHANGED = "app_files_changed" => "App files changed",
    APP_TRASHED = "app_trashed" => "App moved to the trash",
    APP_RESTORED = "app_restored" => "App restored from the trash",
    APP_PURGED = "app_purged" => "App deleted for good",
    SHARE_LINK_CREATED = "share_link_created" => "Share link created",
    SHARE_LINK_REVOKED = "share_link_revoked" => "Share link revoked",
    SHARE_LINK_LOCKED = "share_link_locked" => "Share link locked after wrong passwords",
    APP_MEMBER_INVITED = "app_member_invited" => "Collaborator invited to an app",
    APP_MEMBER_REMOVED = "app_member_removed" => "Collaborator removed from an app",
    APP_MEMBER_JOINED = "app_member_joined" => "Collaborator joined an app",
    APP_MEMBER_LEFT = "app_member_left" => "Collaborator left an app",
    APP_JOINED = "app_joined" => "Joined an app shared with you",
    APP_LEFT = "app_left" => "Left an app shared with you",
    APP_PUBLISHED = "app_published" => "App published to Discover",
    APP_UNPUBLISHED = "app_unpublished" => "App taken off Discover",
    APP_REMIX_CHANGED = "app_remix_changed" => "Remixing of a published app changed",
    APP_SECRET_ADDED = "app_secret_added" => "Secret added to an app",
    APP_SECRET_REPLACED = "app_secret_replaced" => "Secret's value replaced",
    APP_SECRET_HOSTS_CHANGED = "app_secret_hosts_changed" => "Secret's hosts changed",
    APP_SECRET_DELETED = "app_secret_deleted" => "Secret deleted",
    APP_SECRET_USED = "app_secret_used" => "Secret used by the running app (first use in the hour)",
    APP_CONNECTION_REVOKED = "app_connection_revoked" => "Connection's tokens revoked at its service",
}

/// Why an upload was refused: a fixed text for each, so that an address can name only these.
macro_rules! upload_problems {
    ($($variant:ident = $code:literal => $text:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum UploadProblem {
            $($variant,)*
        }

        impl UploadProblem {
            pub const fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }

            pub const fn text(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

upload_problems! {
    NoFiles = "no-files" => "Choose at least one file or a zip.",
    AppTooLarge = "app-too-large" => "An app's files may weigh 10 MB together at most; nothing was uploaded.",
    AccountTooLarge = "account-too-large" => "Your apps may weigh 100 MB together at most; nothing was uploaded.",
    TooManyFiles = "too-many-files" => "An app may hold 500 files at most; nothing was uploaded.",
    BadPath = "bad-path" => "A file's path is not allowed (an absolute path, `..`, a control character, or too long); nothing was uploaded.",
    DuplicatePath = "duplicate-path" => "The upload names the same path twice; nothing was uploaded.",
    Symlink = "symlink" => "The zip holds a symbolic link, which an app cannot have; nothing was uploaded.",
    ZipBomb = "zip-bomb" => "The zip unpacks to far more than it weighs; nothing was uploaded.",
    BadZip = "bad-zip" => "The zip could not be read (damaged, encrypted, or not a zip); nothing was uploaded.",
    Trashed = "trashed" => "The app is in the trash: restore it before changing its files.",
    Unreadable = "unreadable" => "The upload could not be read; nothing was uploaded. Try again.",
    Busy = "busy" => "Another change to your apps is under way; nothing was uploaded. Try again in a moment.",
    Published = "published-check" => "This app is on Discover, and the upload holds what looks like a secret or an address of this site's pages; nothing was uploaded. Remove it, or unpublish the app first.",
}

/// Why a file path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    Empty,
    TooLong,
    Absolute,
    ParentSegment,
    ControlCharacter,
}

/// A file's path inside an app, normalised once: relative, `/`-separated, no empty, `.` or
/// `..` segment, no control character, at most 255 bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppPath(String);

impl AppPath {
    pub fn parse(raw: &str) -> Result<Self, PathProblem> {
        if raw.chars().any(char::is_control) {
            return Err(PathProblem::ControlCharacter);
        }
        let unified = raw.replace('\\', "/");
        if unified.starts_with('/') || unified.get(1..2) == Some(":") {
            return Err(PathProblem::Absolute);
        }
        let mut segments = Vec::new();
        for segment in unified.split('/') {
            match segment {
                "" | "." => {}
                ".." => return Err(PathProblem::ParentSegment),
                segment => segments.push(segment),
            }
        }
        let path = segments.join("/");
        if path.is_empty() {
            return Err(PathProblem::Empty);
        }
        if path.len() > 255 {
            return Err(PathProblem::TooLong);
        }
        Ok(Self(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long a share link works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LinkExpiry {
    OneDay,
    #[default]
    SevenDays,
    ThirtyDays,
    Never,
}

impl LinkExpiry {
    pub const ALL: [Self; 4] = [Self::OneDay, Self::SevenDays, Self::ThirtyDays, Self::Never];

    pub fn days(self) -> Option<i64> {
        match self {
            Self::OneDay => Some(1),
            Self::SevenDays => Some(7),
            Self::ThirtyDays => Some(30),
            Self::Never => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::OneDay => "1",
            Self::SevenDays => "7",
            Self::ThirtyDays => "30",
            Self::Never => "never",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OneDay => "1 day",
            Self::SevenDays => "7 days",
            Self::ThirtyDays => "30 days",
            Self::Never => "Never",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|expiry| expiry.code() == code)
    }
}

/// An app in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub id: AppId,
    pub name: String,
    pub description: String,
    pub files: i64,
    pub size: String,
    pub updated: String,
    /// The day it is purged, when it is in the trash.
    pub purge_on: Option<String>,
}

/// A collaborator's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MemberRole {
    #[default]
    Viewer,
    Editor,
}

impl MemberRole {
    pub const ALL: [Self; 2] = [Self::Viewer, Self::Editor];

    pub fn code(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer",
            Self::Editor => "Editor",
        }
    }

    /// What the role may do, for the invitation form.
    pub fn means(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer: opens the app and sees its files",
            Self::Editor => "Editor: also changes its files, name and description",
        }
    }

    /// The role a stored or posted code names; anything unknown is the lesser role.
    pub fn parse(code: &str) -> Self {
        if code == "editor" {
            Self::Editor
        } else {
            Self::Viewer
        }
    }
}

/// A collaborator or an invitation, as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: MemberRole,
    /// When they accepted; None while invited.
    pub joined: Option<String>,
    pub invitation_expires: String,
    pub invitation_expired: bool,
}

/// An app someone else shared with this person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedApp {
    pub id: AppId,
    pub name: String,
    pub description: String,
    pub role: MemberRole,
}

/// An app shared with this person, as its page shows it to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedDetail {
    pub app: SharedApp,
    pub files: Vec<FileRow>,
    pub connect_hosts: Vec<String>,
    pub origin: String,
    /// The names of the app's secrets (a collaborator sees nothing else of them).
    pub secret_names: Vec<String>,
}

/// What an app's page shows: the owner's view, or a collaborator's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppPageData {
    Own(AppDetail),
    Shared(SharedDetail),
}

/// One file of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRow {
    pub path: String,
    pub content_type: String,
    pub size: String,
}

/// Whether a share link works now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkState {
    Active,
    Locked,
    Expired,
    Revoked,
}

impl LinkState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Works",
            Self::Locked => "Locked (wrong passwords)",
            Self::Expired => "Expired",
            Self::Revoked => "Revoked",
        }
    }
}

/// A share link as its owner sees it (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRow {
    pub id: ShareLinkId,
    pub label: String,
    pub state: LinkState,
    pub expires: Option<String>,
    pub password: bool,
    pub uses: i64,
    pub last_used: Option<String>,
    pub last_network: Option<String>,
}

/// One app, as its page shows it to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDetail {
    pub summary: AppSummary,
    pub connect_hosts: Vec<String>,
    pub files: Vec<FileRow>,
    pub links: Vec<LinkRow>,
    pub members: Vec<MemberRow>,
    /// The app's own origin, where its content is served.
    pub origin: String,
    pub publication: Box<Publication>,
    pub secrets: Vec<super::secrets::model::SecretRow>,
}

/// Whether an app is on Discover, as its owner's page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// The day it was published and the author name shown, while it is on Discover.
    pub published: Option<(String, String)>,
    pub remix_allowed: bool,
    /// The author name a publication would show (the account's display name).
    pub author: String,
    /// Where the app came from, if it is a remix.
    pub remixed_from: Option<String>,
    pub receipts: Vec<ReceiptRow>,
}

/// A publication receipt, listed for download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRow {
    pub id: uuid::Uuid,
    pub published: bool,
    pub at: String,
}

/// An app's page on Discover, once it is published.
pub fn discover_page(app: AppId) -> String {
    format!("/discover/{app}")
}

/// The address a publication receipt downloads from.
pub fn receipt_path(app: AppId, receipt: uuid::Uuid) -> String {
    format!("{APPS_PAGE}/{app}/publications/{receipt}")
}

/// What the publish check found in one line of a file (never the value itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub path: String,
    pub line: usize,
    pub what: String,
}

/// What asking to publish did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublishOutcome {
    Published,
    /// The check found these; nothing became public.
    Blocked(Vec<Finding>),
}

/// The longest reason to publish despite the check's findings, and the shortest.
pub const REASON_CHARS: std::ops::RangeInclusive<usize> = 10..=500;

/// How long a copy of a Discover page may be kept by a browser or cache after the app leaves.
pub const DISCOVER_CACHE_SECONDS: u32 = 60;

/// A new share link: its address, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLink {
    pub url: String,
    /// The link as the list shows it.
    pub row: LinkRow,
}

/// What opening a share link shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SharedView {
    /// The link asks for its password first (nothing about the app is shown before).
    Password,
    Open {
        name: String,
        description: String,
        /// The frame's address on the app's own origin (a short-lived capability token).
        frame: String,
        connect_hosts: Vec<String>,
    },
}

/// The sandbox every frame of an app gets: scripts, forms and pop-ups, and never
/// `allow-same-origin`, so even an app origin's own storage and cookies stay out of reach.
pub const FRAME_SANDBOX: &str = "allow-scripts allow-forms allow-popups";

/// Sizes as people read them.
pub fn human_size(bytes: i64) -> String {
    crate::data::model::human_size(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_or_refused() {
        assert_eq!(AppPath::parse("index.html").unwrap().as_str(), "index.html");
        assert_eq!(AppPath::parse("./a//b/./c.js").unwrap().as_str(), "a/b/c.js");
        assert_eq!(AppPath::parse("a\\b.css").unwrap().as_str(), "a/b.css");
        assert_eq!(AppPath::parse("/etc/passwd"), Err(PathProblem::Absolute));
        assert_eq!(AppPath::parse("C:/x"), Err(PathProblem::Absolute));
        assert_eq!(AppPath::parse("a/../../b"), Err(PathProblem::ParentSegment));
        assert_eq!(AppPath::parse(".."), Err(PathProblem::ParentSegment));
        assert_eq!(AppPath::parse("a\u{0}b"), Err(PathProblem::ControlCharacter));
        assert_eq!(AppPath::parse("a\nb"), Err(PathProblem::ControlCharacter));
        assert_eq!(AppPath::parse("./"), Err(PathProblem::Empty));
        assert_eq!(AppPath::parse(&"a".repeat(256)), Err(PathProblem::TooLong));
    }

    #[test]
    fn a_share_links_token_never_reaches_the_log() {
        assert_eq!(loggable_path("/s/abc/SECRET"), "/s/abc/…");
        assert_eq!(loggable_path("/s/abc/SECRET/more"), "/s/abc/…");
        assert_eq!(loggable_path("/apps/abc"), "/apps/abc");
        assert_eq!(loggable_path("/apps/join/abc/SECRET"), "/apps/join/abc/…");
        assert!(is_share_path("/apps/join/abc/SECRET"));
        assert!(is_share_path("/s/abc/SECRET") && !is_share_path("/security"));
    }

    #[test]
    fn only_an_apps_upload_path_takes_a_large_body() {
        assert!(is_upload_path("/apps/0e5f3e6a-0000-4000-8000-000000000000/files"));
        assert!(!is_upload_path("/apps/x/y/files"));
        assert!(!is_upload_path("/api/apps/files"));
        assert!(!is_upload_path("/apps/files/extra"));
    }

    #[test]
    fn upload_problems_round_trip_and_unknown_codes_name_nothing() {
        for problem in [UploadProblem::ZipBomb, UploadProblem::BadPath] {
            assert_eq!(UploadProblem::parse(problem.code()), Some(problem));
        }
        assert_eq!(UploadProblem::parse("<script>"), None);
        assert_eq!(LinkExpiry::parse("7"), Some(LinkExpiry::SevenDays));
        assert_eq!(LinkExpiry::default().days(), Some(7));
    }
}
