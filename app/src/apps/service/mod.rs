//! Apps (promise P10): making one, changing its details and files, the trash, and what its
//! owner's page shows. Every change is one transaction with its security-log event.

pub mod access;
pub mod capability;
pub mod check;
pub mod links;
pub mod members;
pub mod origin;
pub mod publish;
pub mod purge;
pub mod upload;

use thiserror::Error;
use time::{Duration, OffsetDateTime};

use crate::{
    apps::{
        model::{
            human_size, AppDetail, AppPageData, AppSummary, FileRow, MemberRole, SharedApp,
            SharedDetail, UploadProblem, APP_CREATED, APP_RESTORED,
            APP_TRASHED, APP_UPDATED, APPS_PER_ACCOUNT, CAPABILITY_MINUTES, CONNECT_HOSTS,
            LINKS_PER_APP, MEMBERS_PER_APP, TRASH_DAYS,
        },
        secrets,
        store::{self, files, StoredApp},
    },
    platform::{
        clock::to_minute,
        context::SignedIn,
        db::TenantTx,
        directory,
        error::{infra_conversions, InfraError},
        ids::AppId,
    },
    ui::FormError,
};

use access::Role;
use capability::{Capability, Viewer};

#[derive(Debug, Error)]
pub enum AppsError {
    #[error("That app does not exist or is not yours.")]
    NoSuchApp,
    #[error("The app is in the trash: restore it first.")]
    Trashed,
    #[error("Publishing to Discover is paused while processing of your data is restricted. {0} See Your data to lift it.")]
    Restricted(String),
    #[error("That file does not exist in this app.")]
    NoSuchFile,
    #[error("You have {APPS_PER_ACCOUNT} apps, the most an account may have. Delete one to make another.")]
    TooManyApps,
    #[error("This app has {LINKS_PER_APP} links, the most it may have. Revoke one to make another.")]
    TooManyLinks,
    #[error("Only the app's owner and its editors can change it.")]
    NotEditor,
    #[error("Type an email address, like name@example.com.")]
    InviteAddress,
    #[error("That is your own address: the app is already yours.")]
    InviteSelf,
    #[error("This app is shared with {MEMBERS_PER_APP} people, the most it may be. Remove someone to invite another.")]
    TooManyMembers,
    #[error("That person is not among the app's collaborators.")]
    NoSuchMember,
    #[error("This invitation does not work: it was withdrawn, it expired, or it was already used.")]
    InviteGone,
    #[error("You already have access to this app.")]
    AlreadyMember,
    #[error("You have sent many invitations in the last hour. Try again later.")]
    TooManyInvitations,
    #[error("Verify your email address first (the link we mailed you), then open the invitation again.")]
    InviteUnverified,
    #[error("This invitation was sent to another address. Sign in with the account whose verified address received it.")]
    InviteOtherAddress,
    #[error("Give the app a name of 1 to 80 characters.")]
    Name,
    #[error("Keep the description to 1,000 characters, without control characters.")]
    Description,
    #[error("List at most {CONNECT_HOSTS} hosts, one per line, each like https://api.example.com.")]
    ConnectHosts,
    #[error("{}", .0.text())]
    Upload(UploadProblem),
    #[error("Give the link a label of 1 to 80 characters.")]
    LinkLabel,
    #[error("A link's password needs at least 8 characters.")]
    LinkPassword,
    #[error("That link does not exist or no longer works.")]
    NoSuchLink,
    #[error("This link does not work: it was revoked, it expired, or it never existed.")]
    LinkGone,
    #[error("Too many wrong passwords: this link is locked until {0} (UTC).")]
    LinkLocked(String),
    #[error("That is not the link's password.")]
    WrongPassword,
    #[error("Type the app's name exactly as it is shown, to confirm.")]
    ConfirmName,
    #[error("The app has no files yet: add some before you publish it.")]
    NothingToPublish,
    #[error("The app is already on Discover.")]
    AlreadyPublished,
    #[error("The app is not on Discover.")]
    NotPublished,
    #[error("Give a reason of 10 to 500 characters, or fix the files and try again.")]
    Reason,
    #[error("Give the author name to show, of 1 to 100 characters.")]
    Author,
    #[error("The check of the files could not run; nothing was published. Try again.")]
    CheckFailed,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(AppsError);

impl From<AppsError> for FormError {
    fn from(error: AppsError) -> Self {
        let field = match error {
            AppsError::Name => "name",
            AppsError::Description => "description",
            AppsError::ConnectHosts => "connect_hosts",
            AppsError::LinkLabel => "label",
            AppsError::InviteAddress | AppsError::InviteSelf => "email",
            AppsError::ConfirmName => "confirm_name",
            AppsError::Reason => "reason",
            AppsError::Author => "author",
            AppsError::LinkPassword | AppsError::WrongPassword | AppsError::LinkLocked(_) => {
                "password"
            }
            AppsError::Infra(infra) => return infra.into(),
            refusal => return FormError::Page(refusal.to_string()),
        };
        FormError::field(field, error.to_string())
    }
}

/// An app's name and description as typed, checked once.
pub struct Details {
    name: String,
    description: String,
}

impl Details {
    pub fn parse(name: &str, description: &str) -> Result<Self, AppsError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err(AppsError::Name);
        }
        let description = description.trim();
        let hidden = |c: char| c.is_control() && c != '\n' && c != '\t';
        if description.chars().count() > 1000 || description.chars().any(hidden) {
            return Err(AppsError::Description);
        }
        Ok(Self {
            name: name.to_owned(),
            description: description.to_owned(),
        })
    }
}

/// The hosts an app's scripts may connect to, one per line: each an https origin (http only
/// for this machine), as its CSP's connect-src names it.
pub fn parse_connect_hosts(text: &str) -> Result<Vec<String>, AppsError> {
    let mut hosts = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let url = url::Url::parse(line).map_err(|_| AppsError::ConnectHosts)?;
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1"));
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
        let bare = url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        let plain_host = url.host_str().is_some_and(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        });
        if !scheme_ok || !bare || !plain_host {
            return Err(AppsError::ConnectHosts);
        }
        let origin = url.origin().ascii_serialization();
        if !hosts.contains(&origin) {
            hosts.push(origin);
        }
    }
    if hosts.len() > CONNECT_HOSTS {
        return Err(AppsError::ConnectHosts);
    }
    Ok(hosts)
}

fn summary(app: &StoredApp) -> AppSummary {
    AppSummary {
        id: app.id,
        name: app.name.clone(),
        description: app.description.clone(),
        files: app.files,
        size: human_size(app.bytes),
        updated: to_minute(app.updated_at),
        purge_on: app.purge_at.map(to_minute),
    }
}

/// The person's apps, the trash's included.
pub async fn list(me: &SignedIn) -> Result<Vec<AppSummary>, AppsError> {
    let mut tx = me.begin_own().await?;
    let apps = store::list(&mut tx).await?;
    tx.commit().await?;
    Ok(apps.iter().map(summary).collect())
}

/// The app, when it is the tenant's.
pub(crate) async fn owned(tx: &mut TenantTx, id: AppId) -> Result<StoredApp, AppsError> {
    store::get(tx, id).await?.ok_or(AppsError::NoSuchApp)
}

/// The app, when it is the tenant's and out of the trash.
pub(crate) async fn live(tx: &mut TenantTx, id: AppId) -> Result<StoredApp, AppsError> {
    let app = owned(tx, id).await?;
    match app.purge_at {
        Some(_) => Err(AppsError::Trashed),
        None => Ok(app),
    }
}

fn file_rows(stored: Vec<files::StoredFile>) -> Vec<FileRow> {
    stored
        .into_iter()
        .map(|file| FileRow {
            path: file.path,
            content_type: file.content_type,
            size: human_size(file.size_bytes.into()),
        })
        .collect()
}

/// Everything the app's page shows its owner.
pub async fn detail(me: &SignedIn, id: AppId) -> Result<AppDetail, AppsError> {
    let mut tx = me.begin_own().await?;
    let app = owned(&mut tx, id).await?;
    owner_view(me, tx, app).await
}

/// The owner's view of `app`, read in the owner's transaction `tx` (which it commits).
async fn owner_view(me: &SignedIn, mut tx: TenantTx, app: StoredApp) -> Result<AppDetail, AppsError> {
    let now = me.now();
    let id = app.id;
    let stored_files = files::list(&mut tx, me.owner_id(), id).await?;
    let stored_links = store::links::list(&mut tx, id).await?;
    let stored_members = store::members::list(&mut tx, id).await?;
    let publication = Box::new(publish::view(&mut tx, &app).await?);
    let secrets = secrets::service::rows(me, &mut tx, id).await?;
    tx.commit().await?;
    Ok(AppDetail {
        summary: summary(&app),
        connect_hosts: app.connect_hosts,
        files: file_rows(stored_files),
        links: stored_links
            .into_iter()
            .map(|link| links::row(link, now))
            .collect(),
        members: stored_members
            .into_iter()
            .map(|member| members::row(member, now))
            .collect(),
        origin: me.state().app_hosts.origin(id),
        publication,
        secrets,
    })
}

/// What the app's page shows `me`: the owner's view, or a collaborator's.
pub async fn page(me: &SignedIn, id: AppId) -> Result<AppPageData, AppsError> {
    let mut opened = access::open(me, id).await?;
    let role = match opened.role {
        Role::Owner => return Ok(AppPageData::Own(owner_view(me, opened.tx, opened.app).await?)),
        Role::Editor => MemberRole::Editor,
        Role::Viewer => MemberRole::Viewer,
    };
    let stored_files = files::list(&mut opened.tx, opened.owner, id).await?;
    let secret_names = secrets::store::names_for_member(&mut opened.tx, opened.owner, id).await?;
    opened.tx.commit().await?;
    Ok(AppPageData::Shared(SharedDetail {
        app: SharedApp {
            id,
            name: opened.app.name,
            description: opened.app.description,
            role,
        },
        files: file_rows(stored_files),
        connect_hosts: opened.app.connect_hosts,
        origin: me.state().app_hosts.origin(id),
        secret_names,
    }))
}

/// An editor's change of a shared app's name and description, recorded in its owner's log.
pub async fn update_shared(me: &SignedIn, id: AppId, details: Details) -> Result<(), AppsError> {
    let mut opened = access::open(me, id).await?;
    if opened.role != Role::Editor {
        return Err(AppsError::NotEditor);
    }
    let changed = store::members::edit_shared(
        &mut opened.tx,
        opened.owner,
        id,
        &details.name,
        &details.description,
        me.now(),
    )
    .await?;
    if !changed {
        return Err(AppsError::NotEditor);
    }
    let detail = format!("renamed {}", details.name);
    access::record_for_owner(me, &mut opened, APP_UPDATED, &detail).await?;
    opened.tx.commit().await?;
    Ok(())
}

/// What a new app starts with.
pub enum Start {
    Empty,
    Starter,
    /// A copy of a published app's files (a remix), noting where they came from.
    Remix {
        from: String,
        files: Vec<upload::Unpacked>,
    },
}

/// Makes an app, routed in the directory to the owner's region.
pub async fn create(me: &SignedIn, details: Details, start: Start) -> Result<AppId, AppsError> {
    let id = AppId::random();
    let now = me.now();
    // The route first: a request can find the app only once its rows exist, and a route left
    // by a failed transaction leads to no app (its purge would forget it).
    let directory = me.state().regions.directory();
    directory::route_app(directory, id, me.tenant()).await?;
    let made = async {
        let mut tx = me.begin_own().await?;
        store::lock_changes(&mut tx, me.owner_id()).await?;
        if store::count(&mut tx).await? >= APPS_PER_ACCOUNT {
            return Err(AppsError::TooManyApps);
        }
        let remixed_from = match &start {
            Start::Remix { from, .. } => Some(from.as_str()),
            Start::Empty | Start::Starter => None,
        };
        store::insert(&mut tx, id, &details.name, &details.description, remixed_from, now).await?;
        let detail = match remixed_from {
            Some(from) => format!("{}; a remix of {from}", details.name),
            None => details.name.clone(),
        };
        match &start {
            Start::Empty => {}
            Start::Starter => upload::add_starter(&mut tx, id, now).await?,
            Start::Remix { files, .. } => upload::write(&mut tx, me.owner_id(), id, files, now).await?,
        }
        me.audit(&mut tx, APP_CREATED, &detail).await?;
        tx.commit().await?;
        Ok(())
    };
    if let Err(error) = made.await {
        if let Err(forgetting) = directory::forget_app(directory, id).await {
            tracing::warn!(app = %id, error = %forgetting, "the route of an app not made stays");
        }
        return Err(error);
    }
    tracing::info!(app = %id, "app created");
    Ok(id)
}

/// Changes an app's name, description and the hosts it may connect to.
pub async fn update(
    me: &SignedIn,
    id: AppId,
    details: Details,
    connect_hosts: Vec<String>,
) -> Result<(), AppsError> {
    let mut tx = me.begin_own().await?;
    live(&mut tx, id).await?;
    store::update_details(
        &mut tx,
        id,
        &details.name,
        &details.description,
        &connect_hosts,
        me.now(),
    )
    .await?;
    let hosts = if connect_hosts.is_empty() {
        "none".to_owned()
    } else {
        connect_hosts.join(" ")
    };
    let detail = format!("{}; connects to: {hosts}", details.name);
    me.audit(&mut tx, APP_UPDATED, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves an app to the trash: its links and frames stop at once, and it is purged after
/// `TRASH_DAYS` unless restored. Returns the day of the purge.
pub async fn trash(me: &SignedIn, id: AppId) -> Result<String, AppsError> {
    let now = me.now();
    let purge_at = now + Duration::days(TRASH_DAYS);
    let mut tx = me.begin_own().await?;
    store::lock_changes(&mut tx, me.owner_id()).await?;
    let app = live(&mut tx, id).await?;
    store::trash(&mut tx, id, now, purge_at).await?;
    if app.published_at.is_some() {
        publish::record_withdrawal(me, &mut tx, &app, "moved to the trash", now).await?;
    }
    purge::schedule(&mut tx, id, purge_at, now).await?;
    let purge_on = to_minute(purge_at);
    me.audit(&mut tx, APP_TRASHED, &format!("{}; purged on {purge_on}", app.name))
        .await?;
    tx.commit().await?;
    Ok(purge_on)
}

/// Takes an app out of the trash, as it was (its links work again unless they expired).
pub async fn restore(me: &SignedIn, id: AppId) -> Result<(), AppsError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    let app = owned(&mut tx, id).await?;
    if !store::restore(&mut tx, id, now).await? {
        return Err(AppsError::NoSuchApp);
    }
    purge::call_off(&mut tx, id).await?;
    me.audit(&mut tx, APP_RESTORED, &app.name).await?;
    tx.commit().await?;
    Ok(())
}

/// The frame of an app on its page: its own origin, opened by a capability token for its owner
/// or a collaborator that lasts `CAPABILITY_MINUTES`.
pub async fn frame(me: &SignedIn, id: AppId) -> Result<String, AppsError> {
    let opened = access::open(me, id).await?;
    let viewer = match opened.role {
        Role::Owner if opened.app.purge_at.is_some() => return Err(AppsError::Trashed),
        Role::Owner => Viewer::Owner(me.owner_id()),
        Role::Editor | Role::Viewer => Viewer::Member(me.owner_id()),
    };
    opened.tx.commit().await?;
    Ok(frame_for(me.state(), id, viewer, me.now()))
}

/// The address of `app`'s index on its own origin, for `viewer`, from `now`.
pub(crate) fn frame_for(
    state: &crate::platform::state::AppState,
    app: AppId,
    viewer: Viewer,
    now: OffsetDateTime,
) -> String {
    let token = Capability {
        app,
        viewer,
        expires_at: now + Duration::minutes(CAPABILITY_MINUTES),
    }
    .mint(&state.key_encryption_key);
    format!("{}/_t/{token}/", state.app_hosts.origin(app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_hosts_are_bare_https_origins() {
        assert_eq!(
            parse_connect_hosts("https://api.example.com\n\nhttps://API.example.com/\n").unwrap(),
            vec!["https://api.example.com".to_owned()]
        );
        assert_eq!(
            parse_connect_hosts("http://localhost:8080").unwrap(),
            vec!["http://localhost:8080".to_owned()]
        );
        for bad in [
            "http://api.example.com",
            "https://api.example.com/path",
            "https://user@api.example.com",
            "javascript:alert(1)",
            "https://a.example; script-src *",
            "https://a,b.example",
            "https://a;x.example",
            "https://a'b.example",
            "https://*.example",
            "*",
        ] {
            assert!(parse_connect_hosts(bad).is_err(), "{bad}");
        }
        let many: String = (0..11).map(|i| format!("https://h{i}.example\n")).collect();
        assert!(parse_connect_hosts(&many).is_err());
    }

    #[test]
    fn names_are_checked_once() {
        assert!(Details::parse("  My app ", "").is_ok());
        assert!(matches!(Details::parse(" ", ""), Err(AppsError::Name)));
        assert!(matches!(Details::parse(&"x".repeat(81), ""), Err(AppsError::Name)));
        assert!(matches!(Details::parse("a\u{7}", ""), Err(AppsError::Name)));
        assert!(matches!(Details::parse("a", &"d".repeat(1001)), Err(AppsError::Description)));
        assert!(matches!(Details::parse("a", "nul\u{0}here"), Err(AppsError::Description)));
        assert!(Details::parse("a", "two\nlines\tand a tab").is_ok());
    }
}
