//! Publishing to Discover (promise P10): an explicit, checked and reversible choice of the
//! owner. Publishing needs sudo, the app's name typed again and a clean publish check (or a
//! recorded reason to publish anyway); unpublishing is one click. Each writes a security-log
//! event and a signed receipt in the same transaction. The public side (what anyone reads)
//! goes through transactions with no tenant, where the database's policy decides.

use time::OffsetDateTime;

use super::{
    check::PublishCheck,
    live, owned,
    upload::{content_type, Unpacked},
    AppsError,
};
use crate::{
    apps::{
        secrets,
        model::{
            Finding, Publication as PublicationView, PublishOutcome, ReceiptRow,
            APP_PUBLISHED, APP_REMIX_CHANGED, APP_UNPUBLISHED, REASON_CHARS,
        },
        store::{
            self, files,
            published::{self, Listed},
            StoredApp,
        },
    },
    auth,
    platform::{
        clock::to_minute,
        context::{SignedIn, Sudo},
        db::{self, TenantTx},
        ids::{AppId, OwnerId},
        publication::{self, PublishedFile},
        restriction,
        state::AppState,
    },
};

/// Why the owner publishes despite the check's findings, checked once.
pub struct Reason(String);

impl Reason {
    /// None when nothing was typed.
    pub fn parse(text: &str) -> Result<Option<Self>, AppsError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let hidden = |c: char| c.is_control() && c != '\n';
        if !REASON_CHARS.contains(&text.chars().count()) || text.chars().any(hidden) {
            return Err(AppsError::Reason);
        }
        Ok(Some(Self(text.to_owned())))
    }
}

/// The author name Discover shows, as the owner typed it (their display name, or another).
pub struct Author(String);

impl Author {
    pub fn parse(text: &str) -> Result<Self, AppsError> {
        let text = text.trim();
        let count = text.chars().count();
        if !(1..=100).contains(&count) || text.chars().any(char::is_control) {
            return Err(AppsError::Author);
        }
        Ok(Self(text.to_owned()))
    }
}

/// What the publish check finds in `contents` (path, content type, content), read off the
/// async threads: up to an app's 10 MB of text.
pub(super) async fn findings(
    state: &AppState,
    secret_values: Vec<String>,
    contents: Vec<(String, String, Vec<u8>)>,
) -> Result<Vec<Finding>, AppsError> {
    let check = PublishCheck::new(&state.public_url, secret_values);
    tokio::task::spawn_blocking(move || {
        check.scan(
            contents
                .iter()
                .map(|(path, content_type, content)| {
                    (path.as_str(), content_type.as_str(), content.as_slice())
                }),
        )
    })
    .await
    .map_err(|_| AppsError::CheckFailed)
}

/// Whether files about to be added to `app` may be: always, unless the app is on Discover and
/// the publish check finds something in them (what was accepted when it was published stays).
pub(super) async fn may_add(
    state: &AppState,
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
    added: &[Unpacked],
) -> Result<bool, AppsError> {
    let published = store::get_of(tx, owner, app)
        .await?
        .is_some_and(|found| found.published_at.is_some());
    if !published {
        return Ok(true);
    }
    let added = added
        .iter()
        .map(|file| (file.path.as_str().to_owned(), content_type(&file.path), file.bytes.clone()))
        .collect();
    // The owner's secret values are in the owner's transaction only; an editor, who never
    // sees them, is checked for the formats of secrets.
    let values = if tx.owner_id() == owner {
        secrets::service::values(state, tx).await?
    } else {
        Vec::new()
    };
    Ok(findings(state, values, added).await?.is_empty())
}

/// The display name, which a publication offers as its author name.
async fn display_name(tx: &mut TenantTx) -> Result<String, AppsError> {
    Ok(auth::service::accounts::profile(tx).await?.display_name)
}

/// Publishes the app when the typed name matches and the check finds nothing (or the owner
/// gave a reason to publish anyway); otherwise nothing becomes public.
pub async fn publish(
    me: &Sudo,
    id: AppId,
    typed_name: &str,
    author: Author,
    remix_allowed: bool,
    reason: Option<Reason>,
) -> Result<PublishOutcome, AppsError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    // The files checked are the files published: uploads wait until this ends.
    store::lock_changes(&mut tx, me.owner_id()).await?;
    let app = live(&mut tx, id).await?;
    if app.published_at.is_some() {
        return Err(AppsError::AlreadyPublished);
    }
    if typed_name.trim() != app.name {
        return Err(AppsError::ConfirmName);
    }
    let contents = files::contents(&mut tx, me.owner_id(), id).await?;
    if contents.is_empty() {
        return Err(AppsError::NothingToPublish);
    }
    // A value of one of the account's secrets pasted into a file is a finding too.
    let values = secrets::service::values(me.state(), &mut tx).await?;
    let findings = findings(me.state(), values, contents).await?;
    let reason = match (findings.is_empty(), reason) {
        (true, _) => None,
        (false, Some(reason)) => Some(reason.0),
        (false, None) => return Ok(PublishOutcome::Blocked(findings)),
    };
    let author = author.0;
    if let Some(restriction) = restriction::of(&mut tx, me.owner_id()).await? {
        return Err(AppsError::Restricted(restriction.line()));
    }
    // The database refuses it too, should a restriction begin between the check and here.
    match published::publish(&mut tx, id, &author, remix_allowed, now).await {
        Ok(true) => {}
        Ok(false) => return Err(AppsError::Trashed),
        Err(error) if restriction::refused_by_trigger(&error) => {
            return Err(AppsError::Restricted("It began just now.".to_owned()))
        }
        Err(error) => return Err(error.into()),
    }
    let files = files::digests(&mut tx, me.owner_id(), id)
        .await?
        .into_iter()
        .map(|(path, sha256, bytes)| PublishedFile {
            path,
            sha256,
            bytes,
        })
        .collect();
    let publication = publication::Publication {
        receipt_id: uuid::Uuid::new_v4(),
        action: "published".to_owned(),
        app_id: id,
        app_name: app.name.clone(),
        description: app.description.clone(),
        author,
        account: me.owner_id().to_string(),
        at: now,
        files,
        remix_allowed,
        findings: findings.len(),
        override_reason: reason.clone(),
    };
    keep_receipt(me, &mut tx, &publication).await?;
    let detail = match &reason {
        Some(reason) => format!(
            "{}; published despite {} finding(s) of the check, because: {reason}",
            app.name,
            findings.len()
        ),
        None => format!("{}; the check found nothing", app.name),
    };
    me.audit(&mut tx, APP_PUBLISHED, &detail).await?;
    tx.commit().await?;
    tracing::info!(app = %id, overridden = reason.is_some(), "app published");
    Ok(PublishOutcome::Published)
}

/// Signs and keeps the receipt of `publication`, in the owner's transaction.
async fn keep_receipt(
    me: &SignedIn,
    tx: &mut TenantTx,
    publication: &publication::Publication,
) -> Result<(), AppsError> {
    let receipt = publication::receipt(&me.state().key_encryption_key, publication);
    published::record(
        tx,
        publication.receipt_id,
        publication.app_id,
        &publication.action,
        publication.at,
        &receipt,
    )
    .await?;
    Ok(())
}

/// The receipt and event of `app` leaving Discover, in the owner's transaction: by its owner's
/// click, or because it went to the trash.
pub(super) async fn record_withdrawal(
    me: &SignedIn,
    tx: &mut TenantTx,
    app: &StoredApp,
    why: &str,
    now: OffsetDateTime,
) -> Result<(), AppsError> {
    let publication = publication::Publication {
        receipt_id: uuid::Uuid::new_v4(),
        action: "unpublished".to_owned(),
        app_id: app.id,
        app_name: app.name.clone(),
        description: app.description.clone(),
        author: app.published_author.clone().unwrap_or_default(),
        account: me.owner_id().to_string(),
        at: now,
        files: Vec::new(),
        remix_allowed: false,
        findings: 0,
        override_reason: None,
    };
    keep_receipt(me, tx, &publication).await?;
    me.audit(tx, APP_UNPUBLISHED, &format!("{}; {why}", app.name)).await?;
    Ok(())
}

/// Takes the app off Discover at once.
pub async fn unpublish(me: &SignedIn, id: AppId) -> Result<(), AppsError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    let app = owned(&mut tx, id).await?;
    if !published::unpublish(&mut tx, id).await? {
        return Err(AppsError::NotPublished);
    }
    record_withdrawal(me, &mut tx, &app, "unpublished by its owner", now).await?;
    tx.commit().await?;
    tracing::info!(app = %id, "app unpublished");
    Ok(())
}

/// Allows or stops remixing of a published app; copies made before stay.
pub async fn set_remix(me: &SignedIn, id: AppId, allowed: bool) -> Result<(), AppsError> {
    let mut tx = me.begin_own().await?;
    let app = owned(&mut tx, id).await?;
    if !published::set_remix(&mut tx, id, allowed).await? {
        return Err(AppsError::NotPublished);
    }
    let state = if allowed { "allowed" } else { "stopped" };
    me.audit(&mut tx, APP_REMIX_CHANGED, &format!("{}; remixing {state}", app.name))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// What the owner's page shows of the app's publication, in the owner's transaction.
pub(super) async fn view(tx: &mut TenantTx, app: &StoredApp) -> Result<PublicationView, AppsError> {
    let receipts = published::receipts(tx, app.id)
        .await?
        .into_iter()
        .map(|(id, action, at)| ReceiptRow {
            id,
            published: action == "published",
            at: to_minute(at),
        })
        .collect();
    Ok(PublicationView {
        published: app
            .published_at
            .zip(app.published_author.clone())
            .map(|(at, author)| (to_minute(at), author)),
        remix_allowed: app.remix_allowed,
        author: display_name(tx).await?,
        remixed_from: app.remixed_from.clone(),
        receipts,
    })
}

/// One of the owner's publication receipts, for download.
pub async fn receipt(
    me: &SignedIn,
    app: AppId,
    id: uuid::Uuid,
) -> Result<Option<serde_json::Value>, AppsError> {
    let mut tx = me.begin_own().await?;
    let receipt = published::receipt(&mut tx, app, id).await?;
    tx.commit().await?;
    Ok(receipt)
}

/// Published apps in every database, the newest first, at most `limit`, matching `pattern`
/// (a LIKE pattern, escaped by the caller) when given.
pub async fn listed(
    state: &AppState,
    pattern: Option<&str>,
    limit: i64,
) -> Result<Vec<Listed>, AppsError> {
    let mut all = Vec::new();
    for pool in state.regions.databases() {
        let mut tx = db::begin_public(pool).await?;
        all.extend(published::listed(&mut tx, pattern, limit).await?);
        tx.commit().await?;
    }
    all.sort_by_key(|listed| std::cmp::Reverse((listed.published_at, listed.id)));
    // A tenant being copied to another region is in both databases until the copy switches.
    all.dedup_by_key(|listed| listed.id);
    all.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(all)
}

/// A published app, as anyone may read it, with its files when `with_files`.
pub async fn published_app(
    state: &AppState,
    id: AppId,
    with_files: bool,
) -> Result<Option<(Listed, Vec<(String, String, Vec<u8>)>)>, AppsError> {
    let Some(tenant) = super::access::route(state, id).await? else {
        return Ok(None);
    };
    let mut tx = db::begin_public(state.regions.pool(tenant.region)?).await?;
    let Some(listed) = published::one(&mut tx, tenant.owner_id, id).await? else {
        return Ok(None);
    };
    let contents = if with_files {
        files::contents(&mut tx, tenant.owner_id, id).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(Some((listed, contents)))
}
