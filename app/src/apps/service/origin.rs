//! What an app's own origin answers (promise P10). Only a capability token in the path opens
//! anything, and only while its viewer may still see the app: its owner, a collaborator, a
//! share link that still works, or anyone while the app is on Discover. Nothing here reads or
//! sets a cookie.

use percent_encoding::percent_decode_str;
use sqlx::PgConnection;

use super::{
    capability::{Capability, Refusal, Viewer},
    AppsError,
};
use crate::{
    apps::{
        model::AppPath,
        store::{self, files, links, members, published},
    },
    platform::{
        db::{self, TenantTx},
        directory,
        ids::{AppId, OwnerId},
        region::Tenant,
        state::AppState,
    },
};

/// The answer to a request on an app's origin.
#[derive(Debug)]
pub enum Answer {
    File {
        content_type: String,
        body: Vec<u8>,
        /// Where the app's scripts may connect besides its own origin.
        connect_hosts: Vec<String>,
    },
    /// The app has no file at that path.
    Missing,
    /// The token ran out: the page that framed the app mints a new one when reopened.
    Expired,
    /// No such app, no valid token, or the viewer may no longer see it: the same answer for
    /// each, so that it tells nothing.
    Closed,
}

/// Whom a token opens an app for, judged now.
pub enum Admission {
    /// The viewer may open the app: its owner's tenant, what its scripts may connect to, and
    /// the transaction the check ran in, which may read its files.
    Open {
        tenant: Tenant,
        connect_hosts: Vec<String>,
        reader: Reader,
    },
    Expired,
    Closed,
}

/// The transaction a view reads an app's files in: the viewer's own (owner, link or member),
/// or one for no tenant (a published app, through the Discover policy).
pub enum Reader {
    Tenant(TenantTx),
    Public(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Reader {
    pub fn conn(&mut self) -> &mut PgConnection {
        match self {
            Self::Tenant(tx) => tx,
            Self::Public(tx) => tx,
        }
    }

    pub async fn commit(self) -> Result<(), AppsError> {
        match self {
            Self::Tenant(tx) => tx.commit().await?,
            Self::Public(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Whether the holder of `token` may open `app` now: the token's MAC, app and expiry, and that
/// its viewer still may see the app (its owner, a collaborator, a share link that still works,
/// or anyone while the app is on Discover).
pub async fn admit(state: &AppState, app: AppId, token: &str) -> Result<Admission, AppsError> {
    let now = state.clock.now();
    let capability = match Capability::open(&state.key_encryption_key, token, app, now) {
        Ok(capability) => capability,
        Err(Refusal::Expired) => return Ok(Admission::Expired),
        Err(Refusal::Invalid) => return Ok(Admission::Closed),
    };
    let Some(tenant) = directory::route_of_app(state.regions.directory(), app).await? else {
        return Ok(Admission::Closed);
    };
    let owner = tenant.owner_id;
    // A collaborator's view runs as the collaborator, in the app's region: the database's
    // policies decide what it reaches, and a removed member reaches nothing from then on.
    let acting = match capability.viewer {
        Viewer::Public => return admit_published(state, tenant, app).await,
        Viewer::Member(member) => Tenant::new(member, tenant.region),
        Viewer::Owner(_) | Viewer::Link(_) => tenant,
    };
    let mut tx = TenantTx::begin(&state.regions, acting).await?;
    let may_see = match capability.viewer {
        Viewer::Owner(viewer) => viewer == owner,
        Viewer::Link(link) => links::opens(&mut tx, app, link, now).await?,
        Viewer::Member(_) => members::role(&mut tx, owner, app).await?.is_some(),
        // Answered above, through the Discover policy.
        Viewer::Public => false,
    };
    let live = store::get_of(&mut tx, owner, app)
        .await?
        .filter(|found| found.purge_at.is_none());
    let (true, Some(live), false) = (may_see, live, tx.deletion_scheduled().await?) else {
        return Ok(Admission::Closed);
    };
    Ok(Admission::Open {
        tenant,
        connect_hosts: live.connect_hosts,
        reader: Reader::Tenant(tx),
    })
}

/// A published app, read in a transaction for no tenant: the database's Discover policy alone
/// lets the app and its files through, so an app unpublished, trashed or of a locked account
/// answers `Closed` from the next request on.
async fn admit_published(
    state: &AppState,
    tenant: Tenant,
    app: AppId,
) -> Result<Admission, AppsError> {
    let mut tx = db::begin_public(state.regions.pool(tenant.region)?).await?;
    let Some(listed) = published::one(&mut tx, tenant.owner_id, app).await? else {
        return Ok(Admission::Closed);
    };
    Ok(Admission::Open {
        tenant,
        connect_hosts: listed.connect_hosts,
        reader: Reader::Public(tx),
    })
}

/// The file at `path` (as the request names it, percent-encoded) of `app`, for the holder of
/// `token`.
pub async fn serve(
    state: &AppState,
    app: AppId,
    token: &str,
    path: &str,
) -> Result<Answer, AppsError> {
    let (tenant, connect_hosts, mut reader) = match admit(state, app, token).await? {
        Admission::Open {
            tenant,
            connect_hosts,
            reader,
        } => (tenant, connect_hosts, reader),
        Admission::Expired => return Ok(Answer::Expired),
        Admission::Closed => return Ok(Answer::Closed),
    };
    let answer = file_answer(reader.conn(), tenant.owner_id, app, path, connect_hosts).await?;
    reader.commit().await?;
    Ok(answer)
}

/// The file at the requested `path` of `owner`'s `app`, as the connection may read it.
async fn file_answer(
    conn: &mut PgConnection,
    owner: OwnerId,
    app: AppId,
    path: &str,
    connect_hosts: Vec<String>,
) -> Result<Answer, AppsError> {
    let Some(path) = file_path(path) else {
        return Ok(Answer::Missing);
    };
    Ok(match files::read(conn, owner, app, path.as_str()).await? {
        Some((content_type, body)) => Answer::File {
            content_type,
            body,
            connect_hosts,
        },
        None => Answer::Missing,
    })
}

/// The file a request path names: decoded, with a folder meaning its `index.html`.
fn file_path(requested: &str) -> Option<AppPath> {
    let decoded = percent_decode_str(requested).decode_utf8().ok()?;
    let named = if decoded.is_empty() || decoded.ends_with('/') {
        format!("{decoded}index.html")
    } else {
        decoded.into_owned()
    };
    AppPath::parse(&named).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_name_files_inside_the_app_only() {
        let named = |path: &str| file_path(path).map(|p| p.as_str().to_owned());
        assert_eq!(named("").as_deref(), Some("index.html"));
        assert_eq!(named("docs/").as_deref(), Some("docs/index.html"));
        assert_eq!(named("my%20file.js").as_deref(), Some("my file.js"));
        assert_eq!(named("%2e%2e/secret"), None);
        assert_eq!(named("a%00b"), None);
        assert_eq!(named("%ff"), None);
    }
}
