//! Changing the account: display name, address (confirmed by a link to the new one, the old one
//! told), password (the current one needed, other sessions ended), and invites. The account's
//! rows belong to the accounts area (`auth`); this area changes them through its services.

use thiserror::Error;

use crate::{
    account::model::{
        AccountSummary, InviteRow, Viewer, DISPLAY_NAME_CHANGED, EMAIL_CHANGED,
        EMAIL_CHANGE_REQUESTED, INVITE_CREATED, PASSWORD_CHANGED, REGION_MOVE_REQUESTED,
    },
    auth::{
        model::{DisplayName, Email, INVITE_LIMIT},
        service::{
            accounts, invites,
            password::NewPassword,
            tokens::{self, Carries, Purpose, TokenError, Undo},
            AuthError,
        },
    },
    platform::{
        clock::to_minute,
        context::{Reauthenticated, SignedIn, Sudo, Visitor},
        directory,
        region::Region,
        error::{infra_conversions, InfraError},
        mail::{self, Mail},
        rate_limit,
    },
    signin::service::{session::end_sessions, sudo, SignInError},
    ui::FormError,
};

/// Address changes an account may ask for per hour (each mails two addresses).
const EMAIL_CHANGES_PER_HOUR: u32 = 5;

#[derive(Debug, Error)]
pub enum AccountError {
    #[error("The current password is not right.")]
    WrongCurrentPassword,
    #[error("Too many attempts. Wait {0} seconds, then try again.")]
    CurrentPasswordThrottled(i64),
    #[error("Too many links were sent to that address in the last hour. Try again later.")]
    TooManyMails,
    #[error("That is already your address.")]
    SameEmail,
    #[error("Verify your email address before inviting anyone.")]
    Unverified,
    #[error("You have used all {INVITE_LIMIT} of your invites.")]
    InviteLimit,
    #[error("Choose one of the regions offered.")]
    NotARegion,
    #[error("Your data is already in that region.")]
    SameRegion,
    #[error(transparent)]
    Auth(AuthError),
    #[error(transparent)]
    SignIn(SignInError),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(AccountError);

impl From<AuthError> for AccountError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Infra(infra) => Self::Infra(infra),
            refusal => Self::Auth(refusal),
        }
    }
}

impl From<SignInError> for AccountError {
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::Infra(infra) => Self::Infra(infra),
            SignInError::Auth(refusal) => Self::Auth(refusal),
            SignInError::SudoPasswordWrong => Self::WrongCurrentPassword,
            SignInError::SudoThrottled(seconds) => Self::CurrentPasswordThrottled(seconds),
            refusal => Self::SignIn(refusal),
        }
    }
}

impl From<AccountError> for FormError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Auth(refusal) => refusal.into(),
            AccountError::SignIn(refusal) => refusal.into(),
            AccountError::Infra(infra) => infra.into(),
            AccountError::WrongCurrentPassword | AccountError::CurrentPasswordThrottled(_) => {
                FormError::field("current_password", error.to_string())
            }
            AccountError::SameEmail => FormError::field("email", error.to_string()),
            AccountError::NotARegion | AccountError::SameRegion => {
                FormError::field("to", error.to_string())
            }
            other => FormError::Page(other.to_string()),
        }
    }
}

/// The Account page's data.
pub async fn overview(me: &SignedIn) -> Result<AccountSummary, AccountError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    let account = accounts::profile(&mut tx).await?;
    let invites = invites::mine(&mut tx).await?;
    let restriction = crate::platform::restriction::of(&mut tx, me.owner_id()).await?;
    tx.commit().await?;
    Ok(AccountSummary {
        restriction: restriction.as_ref().map(crate::platform::restriction::Restriction::line),
        email: account.email,
        email_verified: account.email_verified_at.is_some(),
        display_name: account.display_name,
        region: me.tenant().region.label().to_owned(),
        other_regions: me
            .state()
            .regions
            .cells()
            .map(|(region, _)| region)
            .filter(|region| *region != me.tenant().region)
            .map(|region| (region.as_str().to_owned(), region.label().to_owned()))
            .collect(),
        move_requested: directory::move_request(me.state().regions.directory(), me.owner_id())
            .await?
            .map(|(to, at)| format!("{}, asked on {}", to.label(), to_minute(at))),
        created_on: account.created_at.date().to_string(),
        invites_left: INVITE_LIMIT.saturating_sub(invites.len()) as u8,
        invites: invites
            .into_iter()
            .map(|(created, expires, used_at, used_by)| InviteRow {
                created: to_minute(created),
                status: match (used_at, used_by) {
                    (Some(at), Some(email)) => format!("Used by {email} on {}", to_minute(at)),
                    (Some(at), None) => format!("Used on {}", to_minute(at)),
                    _ if expires <= now => format!("Expired on {}", to_minute(expires)),
                    _ => format!("Unused; expires {}", to_minute(expires)),
                },
            })
            .collect(),
    })
}

/// Who the header names.
pub async fn viewer(me: &SignedIn) -> Result<Viewer, AccountError> {
    let mut tx = me.begin_own().await?;
    let display_name = accounts::profile(&mut tx).await?.display_name;
    tx.commit().await?;
    Ok(Viewer { display_name })
}

pub async fn change_display_name(me: &SignedIn, display_name: &str) -> Result<(), AccountError> {
    let display_name = DisplayName::parse(display_name).map_err(AuthError::from)?;
    let mut tx = me.begin_own().await?;
    accounts::set_display_name(&mut tx, &display_name).await?;
    me.audit(&mut tx, DISPLAY_NAME_CHANGED, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a confirmation link to the new address and tells the old one, with a link that cancels
/// the change and signs out every session if it was not them. Nothing changes until the
/// confirmation link is used. At most `EMAIL_CHANGES_PER_HOUR` an hour per account. The address
/// is how the account is recovered, so this needs a re-authentication made for it.
pub async fn request_email_change(
    me: &Reauthenticated,
    new_email: &str,
) -> Result<(), AccountError> {
    let new_email = Email::parse(new_email).map_err(AuthError::from)?;
    let state = me.state();
    let now = me.now();
    let owner_id = me.owner_id();
    let mut tx = me.begin_own().await?;
    let account = accounts::profile(&mut tx).await?;
    if account.email == new_email.as_str() {
        return Err(AccountError::SameEmail);
    }
    let key = &state.key_encryption_key;
    let within_limits = rate_limit::allow_for_account(
        &mut tx,
        key,
        "email change",
        owner_id,
        EMAIL_CHANGES_PER_HOUR,
        now,
    )
    .await?
        && rate_limit::allow_mail(&mut tx, key, "change", new_email.as_str(), now).await?;
    if !within_limits {
        return Err(AccountError::TooManyMails);
    }
    let carries = Carries::NewEmail(new_email.as_str().to_owned());
    let token = tokens::issue(&mut tx, key, Purpose::ChangeEmail, &carries, now).await?;
    let link = tokens::link(state, "/confirm-email", &token);
    let hours = Purpose::ChangeEmail.lifetime().whole_hours();
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: new_email.as_str(),
            subject: "Confirm your new email address",
            body: format!(
                "Open this link to make this the address of your Custodian account (it works once, for {hours} hours):\n\n{link}\n\nIf you did not ask for this, ignore this message."
            ),
        },
        now,
    )
    .await?;
    let not_me = tokens::not_me_link(state, &mut tx, Undo::EmailChange, now).await?;
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: &account.email,
            subject: "Your email address is being changed",
            body: format!(
                "Someone signed in to your Custodian account asked to change its address to {new_email}. It changes once the link sent there is opened.\n\nIf this was not you, open this link: it cancels the change, signs out every session at once and lets you choose a new password (it works once, for 3 days):\n\n{not_me}"
            ),
        },
        now,
    )
    .await?;
    me.audit(&mut tx, EMAIL_CHANGE_REQUESTED, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Uses a confirmation link: the address becomes the account's (and is verified by the link).
pub async fn confirm_email_change(visitor: &Visitor, token: &str) -> Result<(), AccountError> {
    let state = visitor.state();
    let now = visitor.now();
    let (owner_id, mut tx) =
        tokens::tenant_of(state, token).await?;
    let Carries::NewEmail(new_email) =
        tokens::redeem(&mut tx, token, Purpose::ChangeEmail, now).await?
    else {
        return Err(AuthError::Token(TokenError::Invalid).into());
    };
    let new_email = Email::parse(&new_email).map_err(AuthError::from)?;
    let old = accounts::profile(&mut tx).await?;
    // The link proves the person reads the new mailbox: the claim is verified at once.
    accounts::change_address(state, &mut tx, &old.email, &new_email, now).await?;
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: &old.email,
            subject: "Your email address was changed",
            body: format!(
                "The address of your Custodian account is now {new_email}. Mail about the account no longer comes here.\n\nIf this was not you, contact us and reset your password from the sign-in page."
            ),
        },
        now,
    )
    .await?;
    // Links mailed to the old address (a reset, say) must not outlive the change.
    tokens::revoke_outstanding(&mut tx).await?;
    visitor.audit(&mut tx, EMAIL_CHANGED, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Needs the current password, checked under the same counters as re-authentication; ends
/// every other session and every link mailed before.
pub async fn change_password(
    me: &Sudo,
    current: &str,
    new_password: &str,
    confirm: &str,
) -> Result<(), AccountError> {
    let mut tx = me.begin_own().await?;
    let account = accounts::profile(&mut tx).await?;
    tx.commit().await?;
    // The rules first: a new password that would be refused costs no attempt.
    let new_password = NewPassword::check(new_password, &[&account.email, &account.display_name])
        .map_err(AuthError::from)?;
    if !new_password.matches(confirm) {
        return Err(AuthError::PasswordMismatch.into());
    }
    sudo::check_password(
        me,
        current,
        "wrong current password",
        SignInError::SudoPasswordWrong,
    )
    .await?;
    let hash = new_password.hash(&me.state().hashing).await?;
    let now = me.now();
    let mut tx = me.begin_own().await?;
    accounts::set_password(&mut tx, &hash, now).await?;
    let ended = end_sessions(&mut tx, Some(me.user().account_session())).await?;
    tokens::revoke_outstanding(&mut tx).await?;
    accounts::notify_password_changed(&mut tx, &account.email, false, now).await?;
    me.audit(
        &mut tx,
        PASSWORD_CHANGED,
        &format!("{ended} other sessions ended"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Asks for the account's data to move to another region; an operator approves and makes the
/// move (`custodian tenant move`). Moving everything is a big step: it needs sudo.
pub async fn request_region_move(me: &Sudo, to: &str) -> Result<(), AccountError> {
    let to = Region::parse(to)
        .filter(|region| me.state().regions.serves(*region))
        .ok_or(AccountError::NotARegion)?;
    if to == me.tenant().region {
        return Err(AccountError::SameRegion);
    }
    let now = me.now();
    let mut tx = me.begin_own().await?;
    directory::request_move(me.state().regions.directory(), me.owner_id(), to, now).await?;
    me.audit(&mut tx, REGION_MOVE_REQUESTED, &format!("to {}", to.label()))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates an invite for a verified account; returns the sign-up link with its code, shown once,
/// and when it expires.
pub async fn create_invite(me: &SignedIn) -> Result<(String, String), AccountError> {
    let mut tx = me.begin_own().await?;
    if !accounts::is_verified(&mut tx).await? {
        return Err(AccountError::Unverified);
    }
    let invite = invites::create_for_tenant(me.state().regions.directory(), &mut tx, me.now())
        .await?
        .ok_or(AccountError::InviteLimit)?;
    me.audit(&mut tx, INVITE_CREATED, "").await?;
    tx.commit().await?;
    let mut link = invite.signup_url(&me.state().public_url);
    link.query_pairs_mut()
        .append_pair("region", me.tenant().region.as_str());
    Ok((
        link.to_string(),
        invite.expires_on(),
    ))
}

/// Sends the verification link again, a few times an hour at most.
pub async fn resend_verification(me: &SignedIn) -> Result<(), AccountError> {
    let mut tx = me.begin_own().await?;
    let account = accounts::profile(&mut tx).await?;
    if account.email_verified_at.is_none() {
        let email = Email::parse(&account.email).map_err(AuthError::from)?;
        if !accounts::send_verification(me.state(), &mut tx, &email, me.now()).await? {
            return Err(AccountError::TooManyMails);
        }
    }
    tx.commit().await?;
    Ok(())
}
