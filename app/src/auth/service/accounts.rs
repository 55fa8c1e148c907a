//! Accounts: sign-up with an invite and address verification, and what other areas may read and
//! change of an account (its profile, password, address). Every change and the events and mail
//! it causes commit in one transaction.
//!
//! Nothing here tells a stranger whether an address has an account: sign-up checks the invite
//! first and answers a taken address as it answers a fresh one (the owner is mailed instead).

use sqlx::PgPool;
use time::OffsetDateTime;

use super::{
    invites,
    password::NewPassword,
    tokens::{self, Carries, Purpose},
    AuthError,
};
use crate::{
    auth::{
        model::{
            DisplayName, Email, Region, EMAIL_VERIFIED, INVITE_USED, SIGNED_UP,
            SIGN_UP_WITH_YOUR_ADDRESS,
        },
        store::{
            accounts::{self as store, AccountRow, NewAccount},
            invites as invite_store,
        },
    },
    platform::{
        audit,
        clock::to_minute,
        context::Visitor,
        crypto,
        db::{DbError, TenantTx},
        directory,
        error::InfraError,
        ids::OwnerId,
        mail::{self, Mail, MailError},
        rate_limit,
        region::Tenant,
        state::AppState,
    },
    privacy::service::{browser_records, ledger, policies},
};

/// The account of an address, if any, and the region that holds it (from the directory). An
/// account moving between regions answers as none: the same answer as an unknown address, and
/// nothing is done for it until the move ends.
pub async fn account_for_email(
    state: &AppState,
    email: &Email,
) -> Result<Option<Tenant>, InfraError> {
    let route = directory::route_of_address(
        state.regions.directory(),
        &state.key_encryption_key,
        email.as_str(),
    )
    .await;
    match route {
        Ok(tenant) => Ok(tenant),
        Err(DbError::TenantMoving) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Every address and its account (operator's commands, migration role).
pub async fn directory(owner: &PgPool) -> Result<Vec<(String, OwnerId)>, InfraError> {
    Ok(store::directory(owner).await?)
}

/// The account of one address (operator's commands, migration role).
pub async fn directory_entry(owner: &PgPool, email: &str) -> Result<Option<OwnerId>, InfraError> {
    Ok(store::directory_entry(owner, &email.trim().to_lowercase()).await?)
}

/// The transaction's account as it shows itself.
pub async fn profile(tx: &mut TenantTx) -> Result<AccountRow, InfraError> {
    Ok(store::account(tx).await?)
}

/// Whether the account's address is verified.
pub async fn is_verified(tx: &mut TenantTx) -> Result<bool, InfraError> {
    Ok(profile(tx).await?.email_verified_at.is_some())
}

pub async fn set_display_name(tx: &mut TenantTx, name: &DisplayName) -> Result<(), InfraError> {
    Ok(store::set_display_name(tx, name.as_str()).await?)
}

/// Stores a new password hash and clears the failure count (a reset unlocks the account).
pub async fn set_password(
    tx: &mut TenantTx,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<(), InfraError> {
    Ok(store::set_password(tx, password_hash, now).await?)
}

/// The account's address is the person's: a link sent there was opened.
pub async fn mark_verified(tx: &mut TenantTx, now: OffsetDateTime) -> Result<(), InfraError> {
    Ok(store::mark_verified(tx, now).await?)
}

/// Makes `email` the account's address, verified by the link that led here; refused when another
/// account has it. The directory moves the tenant's route to the new address first; when the
/// region refuses, the route goes back to `old`.
pub async fn change_address(
    state: &AppState,
    tx: &mut TenantTx,
    old: &str,
    email: &Email,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let (directory, kek, tenant) = (state.regions.directory(), &state.key_encryption_key, tx.tenant());
    if !directory::claim_address(directory, kek, email.as_str(), tenant, true, now).await? {
        return Err(AuthError::EmailTaken);
    }
    if !store::claim_email(tx, email.as_str(), now, true).await? {
        // The route goes back to the old address. A sign-up that claimed it in the moment
        // between would keep it: the account is then unreachable by address, which an
        // operator must hear of.
        if !directory::claim_address(directory, kek, old, tenant, true, now).await? {
            tracing::error!(owner = %tenant.owner_id, "an address change was refused and the old address could not be routed back");
        }
        return Err(AuthError::EmailTaken);
    }
    store::set_email(tx, email.as_str(), now).await?;
    Ok(())
}

fn invite_refusal(status: &str) -> AuthError {
    AuthError::Invite(match status {
        "used" => "This invite code has already been used.",
        "expired" => "This invite code has expired. Ask for a new one.",
        _ => "This invite code is not valid. Check it and try again.",
    })
}

pub struct SignUp {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub region: Region,
    pub invite: String,
}

/// Creates a tenant and its account in the chosen region, redeems the invite and queues the
/// verification mail, and returns the new owner id. When the address already has an account,
/// the invite is spent all the same, the owner is mailed, no account is made, and the answer is
/// the same (None): the caller must not tell the two apart.
///
/// The directory claims the address first (it alone sees every region's addresses); when the
/// account cannot be made, the claim is released. The account and everything it causes commit
/// in one transaction in its region; an invite kept in another region is spent in a transaction
/// of its own there, just before.
pub async fn sign_up(visitor: &Visitor, input: SignUp) -> Result<Option<OwnerId>, AuthError> {
    let state = visitor.state();
    let email = Email::parse(&input.email)?;
    let display_name = DisplayName::parse(&input.display_name)?;
    let password = NewPassword::check(&input.password, &[email.as_str(), display_name.as_str()])?;
    let invite = input.invite.trim();
    if invite.is_empty() {
        return Err(AuthError::Invite("Enter the invite code you were sent."));
    }
    if !state.regions.serves(input.region) {
        return Err(AuthError::RegionUnavailable(input.region.label()));
    }
    let now = visitor.now();
    // The invite first: without one, sign-up costs no hashing and reveals nothing.
    let directory = state.regions.directory();
    let invite = InviteUse {
        code: invite,
        region: directory::invite_region(directory, invite).await?,
    };
    let status = invites::status(state.regions.pool(invite.region)?, invite.code, now).await?;
    if status != "ok" {
        return Err(invite_refusal(&status));
    }
    let password_hash = password.hash(&state.hashing).await?;
    let tenant = Tenant::new(OwnerId::random(), input.region);
    let kek = &state.key_encryption_key;
    // What the inviter sees of who joined depends only on what was asked, never on whether the
    // address was taken (nor on where its holder lives).
    let joined = if state.regions.same_database(invite.region, tenant.region).await? {
        email.as_str().to_owned()
    } else {
        format!("someone in {}", tenant.region.label())
    };
    if !directory::claim_address(directory, kek, email.as_str(), tenant, false, now).await? {
        sign_up_with_taken_address(visitor, &invite, &email, &joined).await?;
        return Ok(None);
    }
    let account = NewAccount {
        email: email.as_str(),
        display_name: display_name.as_str(),
        password_hash: &password_hash,
        now,
    };
    if let Err(error) = create_account(visitor, tenant, &account, &invite, &joined).await {
        // No account was made: the address is free again.
        if let Err(release) = directory::release(directory, tenant.owner_id).await {
            tracing::error!(error = %release, owner = %tenant.owner_id, "could not release an address claim");
        }
        return Err(error);
    }
    tracing::info!(owner = %tenant.owner_id, region = tenant.region.as_str(), "account created");
    Ok(Some(tenant.owner_id))
}

/// An invite being used, and the region that keeps it.
struct InviteUse<'a> {
    code: &'a str,
    region: Region,
}

async fn create_account(
    visitor: &Visitor,
    tenant: Tenant,
    account: &NewAccount<'_>,
    invite: &InviteUse<'_>,
    joined: &str,
) -> Result<(), AuthError> {
    let state = visitor.state();
    let now = account.now;
    let email = Email::parse(account.email)?;
    let mut tx = visitor.begin(tenant).await?;
    tx.create_tenant(now).await?;
    crypto::create_data_key(&mut tx, &state.key_encryption_key, now).await?;
    store::insert(&mut tx, account).await?;
    if !store::claim_email(&mut tx, email.as_str(), now, false).await? {
        // The region still lists the address for another account the directory let go of.
        return Err(AuthError::Invite(
            "That did not work. Check the form and try again.",
        ));
    }
    visitor
        .audit(&mut tx, SIGNED_UP, "joined with an invite")
        .await?;
    let brought = browser_records::bring(state, &mut tx, visitor.client()).await?;
    ledger::record_sign_up(&mut tx, visitor.client(), now).await?;
    policies::acknowledge_current(&mut tx, now).await?;
    send_verification(state, &mut tx, &email, now).await?;
    if state.regions.same_database(invite.region, tenant.region).await? {
        let inviter = redeem_invite(&mut tx, invite.code, joined, true, now).await?;
        tell_inviter(state, &mut tx, inviter, joined, now).await?;
    } else {
        // The inviter's region learns only that someone joined elsewhere: the new account's
        // address and id stay in its own region.
        let mut spent = visitor
            .begin(Tenant::new(tenant.owner_id, invite.region))
            .await?;
        let inviter = redeem_invite(&mut spent, invite.code, joined, false, now).await?;
        tell_inviter(state, &mut spent, inviter, joined, now).await?;
        spent.commit().await?;
    }
    tx.commit().await?;
    browser_records::finish(brought).await;
    Ok(())
}

/// Spends the invite; `joined` is what its inviter will see of who used it.
async fn redeem_invite(
    tx: &mut TenantTx,
    invite: &str,
    joined: &str,
    for_tenant: bool,
    now: OffsetDateTime,
) -> Result<Option<OwnerId>, AuthError> {
    let (status, inviter) = invite_store::redeem(tx, invite, joined, now, for_tenant).await?;
    if status == "ok" {
        Ok(inviter)
    } else {
        Err(invite_refusal(&status))
    }
}

/// Last in a transaction in the invite's region: from here it acts for the inviter, who sees
/// who joined.
async fn tell_inviter(
    state: &AppState,
    tx: &mut TenantTx,
    inviter: Option<OwnerId>,
    joined: &str,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    if let Some(inviter) = inviter {
        tx.switch_tenant(inviter).await?;
        audit::record_unattributed(
            tx,
            &state.key_encryption_key,
            INVITE_USED,
            &format!("by {joined}"),
            now,
        )
        .await?;
    }
    Ok(())
}

/// A sign-up with an address that has an account: the invite is spent as for any sign-up, the
/// owner hears of it, and nothing else changes.
async fn sign_up_with_taken_address(
    visitor: &Visitor,
    invite: &InviteUse<'_>,
    email: &Email,
    joined: &str,
) -> Result<(), AuthError> {
    let state = visitor.state();
    let now = visitor.now();
    let mut spent = visitor
        .begin(Tenant::new(OwnerId::random(), invite.region))
        .await?;
    let inviter = redeem_invite(&mut spent, invite.code, joined, false, now).await?;
    tell_inviter(state, &mut spent, inviter, joined, now).await?;
    spent.commit().await?;
    let Some(holder) = account_for_email(state, email).await? else {
        // Released between the two looks, or moving between regions: no owner to tell now.
        return Ok(());
    };
    let mut tx = visitor.begin(holder).await?;
    if !tx.tenant_exists().await? {
        // The holder is a sign-up of the same address still being made (a second submit, say):
        // there is no owner to tell yet, and the answer stays the same.
        return Ok(());
    }
    visitor
        .audit(&mut tx, SIGN_UP_WITH_YOUR_ADDRESS, "no account was created")
        .await?;
    let key = &state.key_encryption_key;
    if rate_limit::allow_mail(&mut tx, key, "signup", email.as_str(), now).await? {
        mail::enqueue(
            &mut tx,
            Mail {
                account: holder.owner_id,
                to: email.as_str(),
                subject: "Someone tried to sign up with your address",
                body: format!(
                    "At {} someone tried to create a Custodian account with this address, which already has one. No account was created and nothing of yours changed.\n\nIf it was you, sign in instead, or reset your password from the sign-in page if you forgot it.",
                    to_minute(now)
                ),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Queues the "verify your address" mail in the tenant's transaction, unless the address had
/// its share of such mail this hour. Whether it was queued.
pub async fn send_verification(
    state: &AppState,
    tx: &mut TenantTx,
    email: &Email,
    now: OffsetDateTime,
) -> Result<bool, AuthError> {
    let key = &state.key_encryption_key;
    if !rate_limit::allow_mail(tx, key, "verify", email.as_str(), now).await? {
        return Ok(false);
    }
    let token = tokens::issue(tx, key, Purpose::VerifyEmail, &Carries::Nothing, now).await?;
    let link = tokens::link(state, "/verify-email", &token);
    let owner_id = tx.owner_id();
    let hours = Purpose::VerifyEmail.lifetime().whole_hours();
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: email.as_str(),
            subject: "Verify your email address",
            body: format!(
                "Welcome to Custodian.\n\nOpen this link to verify your email address (it works once, for {hours} hours):\n\n{link}\n\nIf you did not sign up, ignore this message."
            ),
        },
        now,
    )
    .await?;
    Ok(true)
}

/// Marks the address verified. The token proves the person reads that mailbox.
pub async fn verify_email(visitor: &Visitor, token: &str) -> Result<(), AuthError> {
    let state = visitor.state();
    let now = visitor.now();
    let (_, mut tx) = tokens::tenant_of(state, token).await?;
    tokens::redeem(&mut tx, token, Purpose::VerifyEmail, now).await?;
    mark_verified(&mut tx, now).await?;
    // The directory's claim first: if the region then fails to commit, the address is only
    // held more firmly than it need be, never left open to another sign-up.
    directory::mark_verified(state.regions.directory(), tx.owner_id()).await?;
    visitor.audit(&mut tx, EMAIL_VERIFIED, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Tells the account's address that its password changed (and, after a reset that asked for it,
/// that its second factors were removed).
pub async fn notify_password_changed(
    tx: &mut TenantTx,
    email: &str,
    factors_removed: bool,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    let owner_id = tx.owner_id();
    let factors = if factors_removed {
        " Every passkey and the authenticator app were removed as you asked; add them again on your Security page."
    } else {
        ""
    };
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: email,
            subject: "Your password was changed",
            body: format!(
                "The password of your Custodian account was changed at {}. Every other session was signed out.{factors}\n\nIf this was not you, reset your password now from the sign-in page.",
                to_minute(now)
            ),
        },
        now,
    )
    .await
}
