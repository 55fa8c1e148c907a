//! The factors of an account: what it has, what it can use, removing them all or undoing one
//! change, and the mail that tells the owner of every change.

use time::OffsetDateTime;

use super::MfaError;
use crate::{
    auth::service::{
        accounts,
        tokens::{self, Undo},
    },
    mfa::{
        model::{Factors, PasskeyRow, TotpState, UsableFactors},
        store,
    },
    platform::{
        client::ClientInfo,
        clock::to_minute,
        context::SignedIn,
        db::TenantTx,
        error::InfraError,
        mail::{self, Mail},
        state::AppState,
    },
};

/// The factors of the transaction's account, for the Security page. A pending authenticator
/// setup shows as pending only: its secret is in the answer of the (re-authenticated) setup
/// request alone.
pub async fn factors(tx: &mut TenantTx) -> Result<Factors, InfraError> {
    let totp = match store::totp_enabled(tx).await? {
        None => TotpState::Off,
        Some(true) => TotpState::On,
        Some(false) => TotpState::Pending,
    };
    let passkeys = store::passkey_listing(tx).await?;
    let (total, unused) = store::backup_code_counts(tx).await?;
    Ok(Factors {
        totp,
        passkeys: passkeys
            .into_iter()
            .map(|(id, name, created, last_used)| PasskeyRow {
                id,
                name,
                created: to_minute(created),
                last_used: last_used.map(to_minute),
            })
            .collect(),
        backup_codes_left: (total > 0).then_some(unused),
    })
}

/// The signed-in person's factors, for the Security page.
pub async fn of(me: &SignedIn) -> Result<Factors, MfaError> {
    let mut tx = me.begin_own().await?;
    let factors = factors(&mut tx).await?;
    tx.commit().await?;
    Ok(factors)
}

/// The factors the transaction's account can use right now.
pub async fn usable(tx: &mut TenantTx) -> Result<UsableFactors, InfraError> {
    let (passkey, totp, backup_code) = store::usable(tx).await?;
    Ok(UsableFactors {
        passkey,
        totp,
        backup_code,
    })
}

/// Whether signing in to the transaction's account asks for a second step.
pub async fn has_second_factor(tx: &mut TenantTx) -> Result<bool, InfraError> {
    Ok(store::factor_count(tx).await? > 0)
}

pub(super) async fn factor_count(tx: &mut TenantTx) -> Result<i64, InfraError> {
    Ok(store::factor_count(tx).await?)
}

/// Removes every second factor of the account, with its backup codes (a reset that a "this
/// wasn't me" link led to).
pub async fn remove_all(tx: &mut TenantTx) -> Result<(), InfraError> {
    Ok(store::erase(tx).await?)
}

/// Undoes the factor change a "this wasn't me" link reported, if it is still there; returns what
/// it did, for the security log. With no factor left, the backup codes go too.
pub async fn undo(tx: &mut TenantTx, what: Undo) -> Result<&'static str, InfraError> {
    let done = match what {
        Undo::Totp => {
            store::delete_totp(tx).await?;
            "authenticator app removed"
        }
        Undo::Passkey(id) => {
            store::delete_passkey(tx, id).await?;
            "passkey removed"
        }
        Undo::BackupCodes => {
            store::delete_backup_codes(tx).await?;
            "backup codes removed"
        }
        Undo::EmailChange | Undo::SignOutOnly => "nothing to undo",
    };
    store::delete_orphaned_backup_codes(tx).await?;
    Ok(done)
}

/// Refuses to add a sign-in method to an account whose address is not verified: otherwise
/// someone could sign up with another person's address, add a passkey, and keep it when the
/// address's owner later takes the account over with a password reset.
pub(super) async fn require_verified(tx: &mut TenantTx) -> Result<(), MfaError> {
    if accounts::is_verified(tx).await? {
        Ok(())
    } else {
        Err(MfaError::Unverified)
    }
}

/// A change of the sign-in methods, as the owner's mail tells it.
pub(super) struct Change<'a> {
    pub subject: &'a str,
    /// "A passkey “Laptop” was added".
    pub what: &'a str,
    pub undo: Undo,
}

/// Tells the owner, in the change's transaction, that their sign-in methods changed, with a link
/// that undoes the change, ends every session and leads to a password reset if it was not them.
pub(super) async fn tell_owner(
    state: &AppState,
    tx: &mut TenantTx,
    change: Change<'_>,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), MfaError> {
    let email = accounts::profile(tx).await?.email;
    let not_me = tokens::not_me_link(state, tx, change.undo, now).await?;
    let owner_id = tx.owner_id();
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: &email,
            subject: change.subject,
            body: format!(
                "{} on your Custodian account at {}, from {} ({}).\n\nIf this was you, there is nothing to do.\n\nIf it was not you, open this link: it undoes the change, signs out every session of your account at once, and lets you choose a new password and remove any other sign-in method you did not add (it works once, for 3 days):\n\n{not_me}",
                change.what,
                to_minute(now),
                client.device(),
                client.ip_prefix(),
            ),
        },
        now,
    )
    .await?;
    Ok(())
}
