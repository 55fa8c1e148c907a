//! Collaborators (promise P10): the owner invites an address as Viewer (opens the app and its
//! files) or Editor (also changes its files, name and description). The invitation is mailed,
//! lasts `INVITE_DAYS`, can be sent again, and is accepted only by a signed-in account whose
//! verified address is the invited one. Members see shared apps in "Shared with you" and can
//! leave; the owner removes anyone, and removal holds from the next request on.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{access, live, AppsError};
use crate::{
    apps::{
        model::{
            MemberRole, MemberRow, SharedApp, APP_JOINED, APP_LEFT, APP_MEMBER_INVITED,
            APP_MEMBER_JOINED, APP_MEMBER_LEFT, APP_MEMBER_REMOVED, INVITE_DAYS,
            MEMBERS_PER_APP,
        },
        store::{self, members, members::StoredMember},
    },
    auth::{model::Email, service::accounts},
    platform::{
        keys,
        audit,
        clock::to_minute,
        context::SignedIn,
        db::TenantTx,
        ids::AppId,
        mail::{self, Mail},
        rate_limit,
        region::Tenant,
    },
};

pub(super) fn row(member: StoredMember, now: OffsetDateTime) -> MemberRow {
    MemberRow {
        id: member.id,
        email: member.email,
        role: MemberRole::parse(&member.role),
        joined: member.accepted_at.map(to_minute),
        invitation_expires: to_minute(member.invite_expires_at),
        invitation_expired: member.accepted_at.is_none() && member.invite_expires_at <= now,
    }
}

/// Invitations an account may mail per hour, whoever they go to.
const INVITES_PER_HOUR: u32 = 20;

/// The join page's address for an invitation.
fn join_url(me: &SignedIn, app: AppId, token: &str) -> String {
    let site = me.state().public_url.as_str().trim_end_matches('/');
    format!("{site}/apps/join/{app}/{token}")
}

/// Invites `email` to the owner's app with `role` (again, when already invited: a new link and
/// a new expiry), and mails the invitation.
pub async fn invite(
    me: &SignedIn,
    app: AppId,
    email: &str,
    role: MemberRole,
) -> Result<(), AppsError> {
    let email = Email::parse(email).map_err(|_| AppsError::InviteAddress)?;
    let now = me.now();
    let expires_at = now + Duration::days(INVITE_DAYS);
    let token = keys::link_secret();
    let mut tx = me.begin_own().await?;
    let shared = live(&mut tx, app).await?;
    let me_as_owner = accounts::profile(&mut tx).await?;
    if me_as_owner.email.eq_ignore_ascii_case(email.as_str()) {
        return Err(AppsError::InviteSelf);
    }
    let known = members::list(&mut tx, app)
        .await?
        .into_iter()
        .find(|member| member.email.eq_ignore_ascii_case(email.as_str()));
    if known.is_none() && members::count(&mut tx, app).await? >= MEMBERS_PER_APP {
        return Err(AppsError::TooManyMembers);
    }
    members::invite(&mut tx, app, email.as_str(), role.code(), &keys::secret_sha256(&token), now, expires_at)
        .await?;
    let detail = format!("{} as {} ({})", email.as_str(), role.label(), shared.name);
    if known.is_some_and(|member| member.accepted_at.is_some()) {
        // Already a member: the role changes, and no invitation is mailed.
        me.audit(&mut tx, APP_MEMBER_INVITED, &format!("role changed: {detail}")).await?;
        tx.commit().await?;
        return Ok(());
    }
    let kek = &me.state().key_encryption_key;
    let within_limits = rate_limit::allow_mail(&mut tx, kek, "app invite", email.as_str(), now)
        .await?
        && rate_limit::allow_for_account(&mut tx, kek, "app invite", me.owner_id(), INVITES_PER_HOUR, now)
            .await?;
    if !within_limits {
        return Err(AppsError::TooManyInvitations);
    }
    let body = format!(
        "{} shared the app \"{}\" with you on Custodian, as {}.\n\n\
         To accept, sign in with the account whose verified address is {} and open:\n{}\n\n\
         The invitation works until {} (UTC). If you did not expect it, ignore this mail.\n",
        me_as_owner.display_name,
        shared.name,
        role.label(),
        email.as_str(),
        join_url(me, app, &token),
        to_minute(expires_at),
    );
    mail::enqueue(
        &mut tx,
        Mail {
            account: me.owner_id(),
            to: email.as_str(),
            subject: "An app was shared with you",
            body,
        },
        now,
    )
    .await?;
    me.audit(&mut tx, APP_MEMBER_INVITED, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a member or an invitation of the owner's app.
pub async fn remove(me: &SignedIn, app: AppId, member: Uuid) -> Result<(), AppsError> {
    let mut tx = me.begin_own().await?;
    let shared = super::owned(&mut tx, app).await?;
    let email = members::remove(&mut tx, app, member)
        .await?
        .ok_or(AppsError::NoSuchMember)?;
    me.audit(&mut tx, APP_MEMBER_REMOVED, &format!("{email} ({})", shared.name))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Accepts an invitation as `me`: only with the verified address it was sent to.
pub async fn accept(me: &SignedIn, app: AppId, token: &str) -> Result<(), AppsError> {
    if token.len() != keys::LINK_SECRET_LEN {
        return Err(AppsError::InviteGone);
    }
    let now = me.now();
    let mut own = me.begin_own().await?;
    let profile = accounts::profile(&mut own).await?;
    own.commit().await?;
    if profile.email_verified_at.is_none() {
        return Err(AppsError::InviteUnverified);
    }
    let tenant = access::route(me.state(), app).await?.ok_or(AppsError::InviteGone)?;
    let mut tx = me.begin(Tenant::new(me.owner_id(), tenant.region)).await?;
    let answer = members::accept(&mut tx, tenant.owner_id, app, &keys::secret_sha256(token), &profile.email, now)
        .await?;
    let role = match answer.as_str() {
        "viewer" | "editor" => MemberRole::parse(&answer),
        "other-address" => return Err(AppsError::InviteOtherAddress),
        "own-app" => return Err(AppsError::InviteSelf),
        "already-member" => return Err(AppsError::AlreadyMember),
        _ => return Err(AppsError::InviteGone),
    };
    let name = store::get_of(&mut tx, tenant.owner_id, app)
        .await?
        .map(|found| found.name)
        .unwrap_or_default();
    tx.switch_tenant(tenant.owner_id).await?;
    let detail = format!("{} as {} ({name})", profile.email, role.label());
    audit::record_unattributed(&mut tx, &me.state().key_encryption_key, APP_MEMBER_JOINED, &detail, now)
        .await?;
    tx.commit().await?;
    record_own(me, APP_JOINED, &format!("{name}, as {}", role.label())).await
}

/// An event in the member's own security log, in their own region.
async fn record_own(
    me: &SignedIn,
    kind: crate::platform::area::EventKind,
    detail: &str,
) -> Result<(), AppsError> {
    let mut own = me.begin_own().await?;
    me.audit(&mut own, kind, detail).await?;
    own.commit().await?;
    Ok(())
}

/// The member leaves a shared app.
pub async fn leave(me: &SignedIn, app: AppId) -> Result<(), AppsError> {
    let mut opened = access::open(me, app).await?;
    if opened.role == access::Role::Owner {
        return Err(AppsError::NoSuchApp);
    }
    let name = opened.app.name.clone();
    let address = access::member_address(&mut opened).await?;
    if !members::leave(&mut opened.tx, opened.owner, app).await? {
        return Err(AppsError::NoSuchApp);
    }
    access::record_as_owner(me, &mut opened, APP_MEMBER_LEFT, &format!("left {name}, by {address}"))
        .await?;
    opened.tx.commit().await?;
    record_own(me, APP_LEFT, &name).await
}

/// The apps shared with `me`, from every region's database, each read as `me` (once each, where
/// two regions share a database).
pub async fn shared_with_me(me: &SignedIn) -> Result<Vec<SharedApp>, AppsError> {
    let mut shared: Vec<SharedApp> = Vec::new();
    for (region, pool) in me.state().regions.cells() {
        let mut tx = TenantTx::begin_on(pool, Tenant::new(me.owner_id(), region)).await?;
        for app in members::shared_with_me(&mut tx).await? {
            if shared.iter().any(|known| known.id == app.app_id) {
                continue;
            }
            shared.push(SharedApp {
                id: app.app_id,
                name: app.name,
                description: app.description,
                role: MemberRole::parse(&app.role),
            });
        }
        tx.commit().await?;
    }
    Ok(shared)
}

/// Leaves every app shared with the transaction's tenant in its database: its account's purge,
/// in each region.
pub fn leave_everywhere(
    tx: &mut TenantTx,
) -> crate::platform::jobs::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move { members::leave_all(tx).await.map(drop) })
}
