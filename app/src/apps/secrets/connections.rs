//! Connections to outside services over OAuth 2.0 (promise P9): a secret whose value is an
//! access token, kept with its refresh token and client secret (sealed together as its grant).
//! Egress refreshes a token that is about to expire (RFC 6749 §6); disconnecting deletes the
//! sealed values at once and asks the service to revoke the tokens (RFC 7009). Both requests go
//! through the guarded outbound client; the client authenticates in the request body
//! (`client_secret_post`). No token, secret or endpoint address is ever logged.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{
    model::{hint_of, Placement},
    service::{is_named_https, opened, SecretName, SecretValue, SecretsError},
    store::{self, Lock, SealedSecret},
};
use crate::{
    apps::{
        model::{APP_CONNECTION_REVOKED, APP_SECRET_DELETED},
        service::owned,
    },
    platform::{
        context::Sudo,
        crypto::{self, CryptoError, Purpose},
        db::TenantTx,
        error::InfraError,
        ids::AppId,
        outbound::Outbound,
        region::Tenant,
        state::AppState,
    },
};

/// A connection's refresh token and client secret, sealed together. No `Debug`.
#[derive(Serialize, Deserialize)]
pub struct Grant {
    pub refresh_token: String,
    pub client_secret: Option<String>,
}

/// Where a connection's service issues and revokes tokens, and who the client is.
pub struct Endpoints<'a> {
    pub token_url: &'a str,
    pub revocation_url: Option<&'a str>,
    pub client_id: &'a str,
}

/// What the service issued on a refresh.
pub struct Issued {
    pub access_token: String,
    /// A new refresh token, when the service rotates them.
    pub refresh_token: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
}

/// A token is refreshed this long before it expires, so that no call goes out with one that
/// expires on the way.
pub const REFRESH_AHEAD: Duration = Duration::seconds(60);

/// The largest answer a token endpoint may give.
const ANSWER_BYTES: usize = 64 * 1024;

/// Whether a token that expires at `expires_at` should be refreshed before use at `now`.
pub fn due(expires_at: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    expires_at.is_some_and(|at| at - now <= REFRESH_AHEAD)
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

/// Why a refresh did not give a token: the service's refusal or no answer. Names no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshFailure {
    Refused(u16),
    Unreadable,
    Unreachable,
}

/// Asks the service for a new access token.
pub async fn refresh(
    outbound: &Outbound,
    endpoints: &Endpoints<'_>,
    grant: &Grant,
    now: OffsetDateTime,
) -> Result<Issued, RefreshFailure> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", grant.refresh_token.as_str()),
        ("client_id", endpoints.client_id),
    ];
    if let Some(secret) = &grant.client_secret {
        form.push(("client_secret", secret));
    }
    let response = outbound
        .client()
        .post(endpoints.token_url)
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|_| RefreshFailure::Unreachable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(RefreshFailure::Refused(status.as_u16()));
    }
    let bytes = bounded_body(response).await.ok_or(RefreshFailure::Unreadable)?;
    let answer: TokenAnswer =
        serde_json::from_slice(&bytes).map_err(|_| RefreshFailure::Unreadable)?;
    if answer.access_token.is_empty() {
        return Err(RefreshFailure::Unreadable);
    }
    Ok(Issued {
        access_token: answer.access_token,
        refresh_token: answer.refresh_token.filter(|token| !token.is_empty()),
        expires_at: answer
            .expires_in
            .filter(|seconds| *seconds > 0)
            .map(|seconds| now + Duration::seconds(seconds.min(366 * 86_400))),
    })
}

/// The body of `response`, or None past `ANSWER_BYTES`.
async fn bounded_body(mut response: reqwest::Response) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        body.extend_from_slice(&chunk);
        if body.len() > ANSWER_BYTES {
            return None;
        }
    }
    Some(body)
}

/// What became of asking the service to revoke a connection's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The service said it revoked them (RFC 7009 answers 200 for a token it revoked or never
    /// knew).
    Confirmed,
    /// The service offers no revocation endpoint.
    NotOffered,
    /// The service refused or could not be reached.
    Failed,
}

impl Revocation {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Confirmed => "the service confirmed it revoked the tokens",
            Self::NotOffered => "the service offers no revocation",
            Self::Failed => "the service could not be asked to revoke the tokens",
        }
    }
}

/// Asks the service to revoke the refresh token (which ends the grant) and the access token.
pub async fn revoke(
    outbound: &Outbound,
    endpoints: &Endpoints<'_>,
    grant: &Grant,
    access_token: &str,
) -> Revocation {
    let Some(url) = endpoints.revocation_url else {
        return Revocation::NotOffered;
    };
    let ask = |token: &str, hint: &'static str| {
        let mut form = vec![
            ("token", token.to_owned()),
            ("token_type_hint", hint.to_owned()),
            ("client_id", endpoints.client_id.to_owned()),
        ];
        if let Some(secret) = &grant.client_secret {
            form.push(("client_secret", secret.clone()));
        }
        outbound.client().post(url).form(&form).send()
    };
    // Revoking the refresh token ends the grant (RFC 7009 §2.1); the access token is asked too,
    // but a service that revokes refresh tokens only still confirms the disconnection.
    let ended = ask(&grant.refresh_token, "refresh_token")
        .await
        .is_ok_and(|response| response.status().is_success());
    let _ = ask(access_token, "access_token").await;
    if ended {
        Revocation::Confirmed
    } else {
        Revocation::Failed
    }
}

/// A new connection's parts besides its name, hosts and access token.
pub struct Connection {
    pub grant: Grant,
    pub token_url: String,
    pub revocation_url: Option<String>,
    pub client_id: String,
    pub expires_at: Option<OffsetDateTime>,
}

/// An endpoint of the service: an https address with a name (a path is allowed), never an IP
/// address or credentials.
pub fn parse_endpoint(text: &str) -> Result<String, SecretsError> {
    let url = url::Url::parse(text.trim()).map_err(|_| SecretsError::Endpoint)?;
    if !is_named_https(&url) || url.as_str().len() > 500 {
        return Err(SecretsError::Endpoint);
    }
    Ok(url.into())
}

impl Connection {
    /// The form's fields, checked once.
    pub fn parse(
        refresh_token: &str,
        client_secret: &str,
        token_url: &str,
        revocation_url: &str,
        client_id: &str,
        expires_in_minutes: &str,
        now: OffsetDateTime,
    ) -> Result<Self, SecretsError> {
        let refresh_token = SecretValue::parse(refresh_token)
            .map_err(|_| SecretsError::RefreshToken)?
            .into_inner();
        let client_secret = match client_secret.trim() {
            "" => None,
            typed => Some(
                SecretValue::parse(typed)
                    .map_err(|_| SecretsError::ClientSecret)?
                    .into_inner(),
            ),
        };
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.chars().count() > 200 || client_id.chars().any(char::is_control) {
            return Err(SecretsError::ClientId);
        }
        let expires_at = match expires_in_minutes.trim() {
            "" => None,
            typed => {
                let minutes = typed.parse::<i64>().ok().filter(|m| (1..=525_600).contains(m));
                Some(now + Duration::minutes(minutes.ok_or(SecretsError::ExpiresIn)?))
            }
        };
        Ok(Self {
            grant: Grant {
                refresh_token,
                client_secret,
            },
            token_url: parse_endpoint(token_url)?,
            revocation_url: match revocation_url.trim() {
                "" => None,
                typed => Some(parse_endpoint(typed)?),
            },
            client_id: client_id.to_owned(),
            expires_at,
        })
    }
}

/// Adds a connection to the owner's app: its access token is the secret's value, sent as a
/// bearer token.
pub async fn add(
    me: &Sudo,
    app: AppId,
    name: SecretName,
    access_token: SecretValue,
    hosts: Vec<String>,
    connection: Connection,
) -> Result<(), SecretsError> {
    let placement = Placement::Bearer;
    super::service::add_sealed(me, app, &name, &access_token, &hosts, &placement, Some(&connection))
        .await
}

fn grant_purpose<'a>(app: AppId, name: &'a str) -> Purpose<'a> {
    Purpose::ConnectionGrant { app, name }
}

async fn open_grant(
    state: &AppState,
    tx: &mut TenantTx,
    app: AppId,
    name: &str,
    sealed: &[u8],
) -> Result<Grant, SecretsError> {
    let key = &state.key_encryption_key;
    let grant = crypto::open(tx, key, grant_purpose(app, name), sealed).await?;
    Ok(serde_json::from_slice(&grant).map_err(|_| CryptoError::Unsealable)?)
}

fn endpoints(secret: &SealedSecret) -> Option<Endpoints<'_>> {
    Some(Endpoints {
        token_url: secret.token_url.as_deref()?,
        revocation_url: secret.revocation_url.as_deref(),
        client_id: secret.client_id.as_deref()?,
    })
}

/// Disconnects a connection: its row and sealed values are deleted at once, with a security-
/// log event; then the service is asked to revoke the tokens. Says what became of that.
pub async fn disconnect(me: &Sudo, app: AppId, name: SecretName) -> Result<Revocation, SecretsError> {
    let state = me.state();
    let mut tx = me.begin_own().await?;
    owned(&mut tx, app).await?;
    let Some(secret) = store::sealed(&mut tx, app, name.as_str(), Lock::Row).await? else {
        return Err(SecretsError::NoSuchSecret);
    };
    // Whatever does not open (tampered) cannot be revoked, but is deleted all the same.
    let key = &state.key_encryption_key;
    let purpose = Purpose::AppSecret { app, name: name.as_str() };
    let access = crypto::open(&mut tx, key, purpose, &secret.sealed_value)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default();
    let grant = match &secret.sealed_grant {
        Some(sealed) => open_grant(state, &mut tx, app, name.as_str(), sealed).await.ok(),
        None => None,
    };
    if !store::delete(&mut tx, app, name.as_str(), "connection").await? {
        return Err(SecretsError::NoSuchSecret);
    }
    let detail = format!("connection {} on app {app}, disconnected", name.as_str());
    me.audit(&mut tx, APP_SECRET_DELETED, &detail).await?;
    tx.commit().await?;
    let revocation = match (endpoints(&secret), &grant) {
        (Some(endpoints), Some(grant)) => revoke(&state.outbound, &endpoints, grant, &access).await,
        (Some(endpoints), None) if endpoints.revocation_url.is_some() => Revocation::Failed,
        _ => Revocation::NotOffered,
    };
    let mut tx = me.begin_own().await?;
    let detail = format!("connection {} on app {app}: {}", name.as_str(), revocation.describe());
    me.audit(&mut tx, APP_CONNECTION_REVOKED, &detail).await?;
    tx.commit().await?;
    Ok(revocation)
}

/// The connection's access token, refreshed first when it is about to expire, in a
/// transaction of its own that holds the row: a call that waited for another's refresh finds
/// the token fresh and sends it as it is.
pub async fn refresh_if_due(
    state: AppState,
    tenant: Tenant,
    app: AppId,
    name: SecretName,
) -> Result<String, RefreshError> {
    let mut tx = TenantTx::begin(&state.regions, tenant)
        .await
        .map_err(SecretsError::from)?;
    let Some((secret, access)) = opened(&state, &mut tx, app, &name, Lock::Row).await? else {
        return Err(SecretsError::NoSuchSecret.into());
    };
    let access = fresh_access(&state, &mut tx, app, &name, &secret, access).await?;
    tx.commit().await.map_err(SecretsError::from)?;
    Ok(access)
}

/// The access token to send for `secret` (`access`), refreshed first when it is about to
/// expire; the new tokens are sealed and kept in `tx`.
async fn fresh_access(
    state: &AppState,
    tx: &mut TenantTx,
    app: AppId,
    name: &SecretName,
    secret: &SealedSecret,
    access: String,
) -> Result<String, RefreshError> {
    let now = state.clock.now();
    let (Some(sealed_grant), Some(endpoints)) = (&secret.sealed_grant, endpoints(secret)) else {
        return Ok(access);
    };
    if !due(secret.access_expires_at, now) {
        return Ok(access);
    }
    let grant = open_grant(state, tx, app, name.as_str(), sealed_grant).await?;
    let issued = refresh(&state.outbound, &endpoints, &grant, now)
        .await
        .map_err(RefreshError::Refused)?;
    let grant = Grant {
        refresh_token: issued.refresh_token.unwrap_or(grant.refresh_token),
        client_secret: grant.client_secret,
    };
    let key = &state.key_encryption_key;
    let purpose = Purpose::AppSecret { app, name: name.as_str() };
    let sealed_value = crypto::seal(tx, key, purpose, issued.access_token.as_bytes(), now)
        .await
        .map_err(SecretsError::from)?;
    let grant_bytes = serde_json::to_vec(&grant).map_err(|error| SecretsError::Infra(InfraError::from(error)))?;
    let sealed_grant = crypto::seal(tx, key, grant_purpose(app, name.as_str()), &grant_bytes, now)
        .await
        .map_err(SecretsError::from)?;
    let hint = hint_of(&issued.access_token);
    store::refreshed(tx, app, name.as_str(), &sealed_value, &hint, &sealed_grant, issued.expires_at)
        .await
        .map_err(SecretsError::from)?;
    Ok(issued.access_token)
}

/// Why a connection's token could not be refreshed.
#[derive(Debug)]
pub enum RefreshError {
    /// The service refused or did not answer.
    Refused(RefreshFailure),
    Secrets(SecretsError),
}

impl From<SecretsError> for RefreshError {
    fn from(error: SecretsError) -> Self {
        Self::Secrets(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_refreshed_a_minute_before_it_expires() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert!(!due(None, now));
        assert!(!due(Some(now + Duration::minutes(5)), now));
        assert!(due(Some(now + Duration::seconds(60)), now));
        assert!(due(Some(now - Duration::hours(1)), now));
    }
}
