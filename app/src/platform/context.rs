//! The request context (DESIGN §2): what a server function or a plain route knows about its
//! request, obtained in one call.
//!
//! - `Visitor`: anyone; the state, the client, the session, and the signed-in person if any.
//! - `SignedIn`: a person whose session is listed (the middleware checked it this request).
//! - `Sudo`: a signed-in person inside the sudo window (they signed in or proved again who they
//!   are within SUDO_MINUTES).
//! - `Reauthenticated`: a person who proved again who they are since signing in, within the
//!   window; adding a sign-in method or changing the address needs it.
//!
//! `Sudo` and `Reauthenticated` are made only here, after their check: a service that takes
//! `&Sudo` cannot be called without it.

use std::ops::Deref;

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, StatusCode},
};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    area::EventKind,
    audit::{self, AuditError},
    client::ClientInfo,
    db::TenantTx,
    error::InfraError,
    ids::OwnerId,
    rate_limit::{Action, RateLimitError},
    region::Tenant,
    session::CurrentUser,
    state::AppState,
};

/// Why a request may not go on.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The server is still starting (no state in the request).
    #[error("The service is starting; try again in a moment.")]
    Unavailable,
    #[error("You are signed out. Sign in to continue.")]
    SignedOut,
    #[error("Confirm your password to continue.")]
    SudoRequired,
    #[error("Too many attempts from your network. Wait a minute, then try again.")]
    RateLimited,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Anyone making a request.
#[derive(Clone)]
pub struct Visitor {
    state: AppState,
    client: ClientInfo,
    session: Session,
    user: Option<CurrentUser>,
    parts: Option<Parts>,
}

impl Visitor {
    /// A visitor of a request the middleware has seen, with the user it found (None when not
    /// signed in).
    pub(crate) fn new(
        state: &AppState,
        client: ClientInfo,
        session: Session,
        user: Option<CurrentUser>,
    ) -> Result<Self, ContextError> {
        Ok(Self {
            state: served_in_region(state, user.as_ref())?,
            client,
            session,
            user,
            parts: None,
        })
    }

    /// A visitor for an integration test, signed in as `user` without a request behind it.
    #[cfg(feature = "testing")]
    pub fn for_tests(
        state: AppState,
        client: ClientInfo,
        session: Session,
        user: Option<CurrentUser>,
    ) -> Result<Self, ContextError> {
        Self::new(&state, client, session, user)
    }

    /// The visitor of a request whose head the middleware has seen, served in the signed-in
    /// person's region (anyone else in the default region).
    pub fn from_parts(state: &AppState, parts: &Parts) -> Result<Self, ContextError> {
        let client = parts
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .ok_or(ContextError::Unavailable)?;
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(ContextError::Unavailable)?;
        let mut visitor = Self::new(
            state,
            client,
            session,
            parts.extensions.get::<CurrentUser>().cloned(),
        )?;
        visitor.parts = Some(parts.clone());
        Ok(visitor)
    }

    /// The visitor of the current server function or page.
    pub fn current() -> Result<Self, ContextError> {
        let state = AppState::from_context().ok_or(ContextError::Unavailable)?;
        let parts = leptos::prelude::use_context::<Parts>().ok_or(ContextError::Unavailable)?;
        Self::from_parts(&state, &parts)
    }

    /// The current visitor, once `action` is counted against their address and network;
    /// refused when either is over its limit.
    pub async fn limited(action: Action) -> Result<Self, ContextError> {
        let visitor = Self::current()?;
        visitor.count(action).await?;
        Ok(visitor)
    }

    /// Counts `action` against the visitor's address and network.
    pub async fn count(&self, action: Action) -> Result<(), ContextError> {
        match self.state.check_rate(action, &self.client).await {
            Ok(()) => Ok(()),
            Err(RateLimitError::Exceeded) => Err(ContextError::RateLimited),
            Err(RateLimitError::Database(error)) => Err(InfraError::from(error).into()),
        }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The request's head, when there is a request.
    pub fn parts(&self) -> Option<&Parts> {
        self.parts.as_ref()
    }

    /// The signed-in person, if any.
    pub fn user(&self) -> Option<&CurrentUser> {
        self.user.as_ref()
    }

    /// The time every rule of this request is judged by.
    pub fn now(&self) -> OffsetDateTime {
        self.state.clock.now()
    }

    /// A transaction acting for `tenant`, in its region.
    pub async fn begin(&self, tenant: Tenant) -> Result<TenantTx, InfraError> {
        Ok(TenantTx::begin(&self.state.regions, tenant).await?)
    }

    /// Records an event in the transaction's security log, from this visitor's network and
    /// device.
    pub async fn audit(
        &self,
        tx: &mut TenantTx,
        kind: EventKind,
        detail: &str,
    ) -> Result<(), AuditError> {
        audit::record(
            tx,
            &self.state.key_encryption_key,
            kind,
            detail,
            &self.client,
            self.now(),
        )
        .await
    }

    /// This visitor as a signed-in person.
    pub fn signed_in(&self) -> Result<SignedIn, ContextError> {
        let user = self.user.clone().ok_or(ContextError::SignedOut)?;
        Ok(SignedIn {
            visitor: self.clone(),
            user,
        })
    }
}

/// The state serving a request: in the signed-in person's region, anyone else's in the default
/// region. Never another region than the person's: a region not served refuses the request.
fn served_in_region(
    state: &AppState,
    user: Option<&CurrentUser>,
) -> Result<AppState, ContextError> {
    match user {
        Some(user) => Ok(state
            .in_region(user.record.region)
            .map_err(InfraError::from)?),
        None => Ok(state.clone()),
    }
}

/// A person whose session is listed.
#[derive(Clone)]
pub struct SignedIn {
    visitor: Visitor,
    user: CurrentUser,
}

impl SignedIn {
    /// The signed-in person of the current server function or page.
    pub fn current() -> Result<Self, ContextError> {
        Visitor::current()?.signed_in()
    }

    pub fn user(&self) -> &CurrentUser {
        &self.user
    }

    pub fn owner_id(&self) -> OwnerId {
        self.user.owner_id()
    }

    /// The signed-in tenant and its region.
    pub fn tenant(&self) -> Tenant {
        self.user.tenant()
    }

    /// A transaction acting for this person.
    pub async fn begin_own(&self) -> Result<TenantTx, InfraError> {
        self.visitor.begin(self.tenant()).await
    }

    /// This person, when they are inside the sudo window.
    pub fn sudo(self) -> Result<Sudo, ContextError> {
        if self.user.record.in_sudo(self.now()) {
            Ok(Sudo(self))
        } else {
            Err(ContextError::SudoRequired)
        }
    }

    /// This person, when they re-authenticated since signing in, within the window.
    pub fn reauthenticated(self) -> Result<Reauthenticated, ContextError> {
        let sudo = self.sudo()?;
        if sudo.user.record.reauthenticated(sudo.now()) {
            Ok(Reauthenticated(sudo))
        } else {
            Err(ContextError::SudoRequired)
        }
    }
}

impl Deref for SignedIn {
    type Target = Visitor;

    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

/// A signed-in person inside the sudo window.
pub struct Sudo(SignedIn);

impl Sudo {
    pub fn current() -> Result<Self, ContextError> {
        SignedIn::current()?.sudo()
    }
}

impl Deref for Sudo {
    type Target = SignedIn;

    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

/// A person who re-authenticated since signing in, within the sudo window.
pub struct Reauthenticated(Sudo);

impl Reauthenticated {
    pub fn current() -> Result<Self, ContextError> {
        SignedIn::current()?.reauthenticated()
    }
}

impl Deref for Reauthenticated {
    type Target = Sudo;

    fn deref(&self) -> &Sudo {
        &self.0
    }
}

/// A plain axum route takes a `Visitor` as an argument; a request the middleware has not seen
/// is answered 503.
impl FromRequestParts<AppState> for Visitor {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::from_parts(state, parts).map_err(|_| {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is unavailable; try again in a moment.",
            )
        })
    }
}
