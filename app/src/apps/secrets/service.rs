//! Adding, replacing, re-pointing and deleting an app's secrets (each needs sudo and is a
//! security-log event, in one transaction with the change), and what each kind of person may
//! see of them: the owner a row without the value, a collaborator the names alone.

use thiserror::Error;
use time::OffsetDateTime;

use super::{
    model::{
        hint_of, is_secret_name, ConnectionView, Placement, SecretRow, HOSTS_PER_SECRET, SECRETS_PER_APP,
        VALUE_BYTES,
    },
    connections::Connection,
    store::{self, ListedSecret, Lock, NewConnection, NewSecret, Sealed, SealedSecret},
};
use crate::{
    apps::{
        model::{APP_SECRET_ADDED, APP_SECRET_DELETED, APP_SECRET_HOSTS_CHANGED, APP_SECRET_REPLACED},
        service::{live, owned, AppsError},
        store as apps_store,
    },
    platform::{
        clock::to_minute,
        context::{SignedIn, Sudo},
        crypto::{self, CryptoError, Purpose},
        db::TenantTx,
        error::{infra_conversions, InfraError},
        ids::AppId,
        jobs::BoxFuture,
        keys::KeyEncryptionKey,
        state::AppState,
    },
    ui::FormError,
};

#[derive(Debug, Error)]
pub enum SecretsError {
    #[error("Name it in capitals, digits and underscores, starting with a letter (like OPENAI_API_KEY), at most 64 characters.")]
    Name,
    #[error("The app already has a secret of that name.")]
    Taken,
    #[error("That secret does not exist in this app.")]
    NoSuchSecret,
    #[error("Paste a value of 1 to 8,192 bytes, without line breaks or other control characters.")]
    Value,
    #[error("List 1 to {HOSTS_PER_SECRET} hosts, one per line, each like https://api.example.com (a name, not an IP address; a port is allowed).")]
    Hosts,
    #[error("Give the header's name (letters, digits and -), not one the server sets itself.")]
    HeaderName,
    #[error("Give the query parameter's name (letters, digits, _ . and -), at most 64 characters.")]
    ParameterName,
    #[error("This app has {SECRETS_PER_APP} secrets, the most it may have. Delete one to add another.")]
    TooMany,
    #[error("Give the service's endpoint as an https address with a name, like https://auth.example.com/oauth/token.")]
    Endpoint,
    #[error("Give the client id the service gave you (1 to 200 characters).")]
    ClientId,
    #[error("Paste the access token the service issued (up to 8,192 bytes, on one line).")]
    AccessToken,
    #[error("Paste the refresh token the service issued (up to 8,192 bytes, on one line).")]
    RefreshToken,
    #[error("Paste the client secret on one line (up to 8,192 bytes), or leave it empty.")]
    ClientSecret,
    #[error("Give the minutes until the access token expires (1 to 525,600), or leave it empty.")]
    ExpiresIn,
    #[error(transparent)]
    Apps(#[from] AppsError),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(SecretsError);

impl From<SecretsError> for FormError {
    fn from(error: SecretsError) -> Self {
        let field = match error {
            SecretsError::Name | SecretsError::Taken => "name",
            SecretsError::Value => "value",
            SecretsError::Hosts => "hosts",
            SecretsError::HeaderName | SecretsError::ParameterName => "placement_name",
            SecretsError::Endpoint => "token_url",
            SecretsError::ClientId => "client_id",
            SecretsError::AccessToken => "access_token",
            SecretsError::RefreshToken => "refresh_token",
            SecretsError::ClientSecret => "client_secret",
            SecretsError::ExpiresIn => "expires_in",
            SecretsError::Apps(error) => return error.into(),
            SecretsError::Infra(infra) => return infra.into(),
            refusal => return FormError::Page(refusal.to_string()),
        };
        FormError::field(field, error.to_string())
    }
}

/// A secret's name, checked once.
#[derive(Debug, Clone)]
pub struct SecretName(String);

impl SecretName {
    pub fn parse(text: &str) -> Result<Self, SecretsError> {
        let text = text.trim();
        if !is_secret_name(text) {
            return Err(SecretsError::Name);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A secret's value as pasted, checked once. Deliberately has no `Debug` or `Display`.
pub struct SecretValue(String);

impl SecretValue {
    pub(super) fn into_inner(self) -> String {
        self.0
    }

    /// The value without the spaces and line break a paste brings along.
    pub fn parse(text: &str) -> Result<Self, SecretsError> {
        let text = text.trim();
        if text.is_empty() || text.len() > VALUE_BYTES || text.chars().any(char::is_control) {
            return Err(SecretsError::Value);
        }
        Ok(Self(text.to_owned()))
    }
}

/// Whether `url` is https to a domain name (never an IP address, in any of its spellings),
/// without credentials or a fragment: where a secret or a connection's token may go.
pub(super) fn is_named_https(url: &url::Url) -> bool {
    let named = matches!(url.host(), Some(url::Host::Domain(domain)) if domain.contains(|c: char| c.is_ascii_alphabetic()));
    named
        && url.scheme() == "https"
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
}

/// The hosts a secret may be sent to, one per line: each `https://host[:port]` with a domain
/// name, written as its origin.
pub fn parse_hosts(text: &str) -> Result<Vec<String>, SecretsError> {
    let mut hosts: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let url = url::Url::parse(line).map_err(|_| SecretsError::Hosts)?;
        let bare = url.path() == "/"
            && url.query().is_none()
            && !line.trim_end_matches('/').ends_with(':');
        if !bare || !is_named_https(&url) {
            return Err(SecretsError::Hosts);
        }
        let origin = url.origin().ascii_serialization();
        if !hosts.contains(&origin) {
            hosts.push(origin);
        }
    }
    if hosts.is_empty() || hosts.len() > HOSTS_PER_SECRET {
        return Err(SecretsError::Hosts);
    }
    Ok(hosts)
}

/// Headers the server sets or that steer the connection: a secret never replaces them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "cookie",
    "expect",
    "proxy-authorization",
    "proxy-connection",
    super::model::EGRESS_HOST_HEADER,
];

/// How the secret is sent, from the form's kind and name.
pub fn parse_placement(kind: &str, name: &str) -> Result<Placement, SecretsError> {
    let name = name.trim();
    match kind {
        "header" => {
            let valid = (1..=64).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str());
            if !valid {
                return Err(SecretsError::HeaderName);
            }
            Ok(Placement::Header(name.to_owned()))
        }
        "query" => {
            let valid = (1..=64).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err(SecretsError::ParameterName);
            }
            Ok(Placement::Query(name.to_owned()))
        }
        _ => Ok(Placement::Bearer),
    }
}

/// A placement as stored.
pub fn placement_of(kind: &str, name: &str) -> Placement {
    match kind {
        "header" => Placement::Header(name.to_owned()),
        "query" => Placement::Query(name.to_owned()),
        _ => Placement::Bearer,
    }
}

/// `plaintext` sealed for the transaction's tenant, bound to `purpose`.
pub(super) async fn seal(
    me: &SignedIn,
    tx: &mut TenantTx,
    purpose: Purpose<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, SecretsError> {
    let key = &me.state().key_encryption_key;
    Ok(crypto::seal(tx, key, purpose, plaintext, me.now()).await?)
}

fn value_purpose(app: AppId, name: &SecretName) -> Purpose<'_> {
    Purpose::AppSecret {
        app,
        name: name.as_str(),
    }
}

/// Adds a secret to the owner's app.
pub async fn add(
    me: &Sudo,
    app: AppId,
    name: SecretName,
    value: SecretValue,
    hosts: Vec<String>,
    placement: Placement,
) -> Result<(), SecretsError> {
    add_sealed(me, app, &name, &value, &hosts, &placement, None).await
}

/// Adds a secret, or a connection with `connection`'s parts, in one transaction with its event.
pub(super) async fn add_sealed(
    me: &Sudo,
    app: AppId,
    name: &SecretName,
    value: &SecretValue,
    hosts: &[String],
    placement: &Placement,
    connection: Option<&Connection>,
) -> Result<(), SecretsError> {
    let mut tx = me.begin_own().await?;
    // One change of the account's apps at a time: two adds cannot both see room for one more.
    apps_store::lock_changes(&mut tx, me.owner_id()).await?;
    live(&mut tx, app).await?;
    if store::count(&mut tx, app).await? >= SECRETS_PER_APP {
        return Err(SecretsError::TooMany);
    }
    let sealed_value = seal(me, &mut tx, value_purpose(app, name), value.0.as_bytes()).await?;
    let sealed_grant = match connection {
        Some(connection) => {
            let purpose = Purpose::ConnectionGrant {
                app,
                name: name.as_str(),
            };
            let grant = serde_json::to_vec(&connection.grant).map_err(InfraError::from)?;
            Some(seal(me, &mut tx, purpose, &grant).await?)
        }
        None => None,
    };
    let secret = NewSecret {
        name: name.as_str(),
        hosts,
        placement: placement.code(),
        placement_name: placement.name(),
        sealed_value: &sealed_value,
        hint: &hint_of(&value.0),
        connection: connection.zip(sealed_grant.as_deref()).map(|(c, sealed_grant)| {
            NewConnection {
                sealed_grant,
                access_expires_at: c.expires_at,
                token_url: &c.token_url,
                revocation_url: c.revocation_url.as_deref(),
                client_id: &c.client_id,
            }
        }),
    };
    if !store::insert(&mut tx, app, &secret, me.now()).await? {
        return Err(SecretsError::Taken);
    }
    let what = if connection.is_some() { "connection " } else { "" };
    let detail = format!("{what}{} on app {app}, sent to {}", name.as_str(), hosts.join(", "));
    me.audit(&mut tx, APP_SECRET_ADDED, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces a secret's value (rotation); the old value is gone at once.
pub async fn replace(
    me: &Sudo,
    app: AppId,
    name: SecretName,
    value: SecretValue,
) -> Result<(), SecretsError> {
    let mut tx = me.begin_own().await?;
    live(&mut tx, app).await?;
    let sealed_value = seal(me, &mut tx, value_purpose(app, &name), value.0.as_bytes()).await?;
    let hint = hint_of(&value.0);
    if !store::replace_value(&mut tx, app, name.as_str(), &sealed_value, &hint, me.now()).await? {
        return Err(SecretsError::NoSuchSecret);
    }
    let detail = format!("{} on app {app}", name.as_str());
    me.audit(&mut tx, APP_SECRET_REPLACED, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the hosts a secret may be sent to.
pub async fn change_hosts(
    me: &Sudo,
    app: AppId,
    name: SecretName,
    hosts: Vec<String>,
) -> Result<(), SecretsError> {
    let mut tx = me.begin_own().await?;
    live(&mut tx, app).await?;
    if !store::set_hosts(&mut tx, app, name.as_str(), &hosts).await? {
        return Err(SecretsError::NoSuchSecret);
    }
    let detail = format!("{} on app {app}, now sent to {}", name.as_str(), hosts.join(", "));
    me.audit(&mut tx, APP_SECRET_HOSTS_CHANGED, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a secret and its sealed value (a connection is disconnected instead).
pub async fn delete(me: &Sudo, app: AppId, name: SecretName) -> Result<(), SecretsError> {
    let mut tx = me.begin_own().await?;
    owned(&mut tx, app).await?;
    if !store::delete(&mut tx, app, name.as_str(), "key").await? {
        return Err(SecretsError::NoSuchSecret);
    }
    let detail = format!("{} on app {app}", name.as_str());
    me.audit(&mut tx, APP_SECRET_DELETED, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// The owner's rows of `app`'s secrets, in the owner's transaction.
pub async fn rows(me: &SignedIn, tx: &mut TenantTx, app: AppId) -> Result<Vec<SecretRow>, sqlx::Error> {
    Ok(store::list(tx, app, me.now())
        .await?
        .into_iter()
        .map(row)
        .collect())
}

fn row(secret: ListedSecret) -> SecretRow {
    SecretRow {
        placement: placement_of(&secret.placement, &secret.placement_name),
        name: secret.name,
        hosts: secret.hosts,
        created: to_minute(secret.created_at),
        rotated: to_minute(secret.rotated_at),
        last_used: secret.last_used_at.map(to_minute),
        hint: secret.hint,
        uses_last_day: secret.uses_last_day,
        connection: (secret.kind == "connection").then(|| ConnectionView {
            expires: secret.access_expires_at.map(to_minute),
            revocable: secret.revocable,
        }),
    }
}

/// A secret of the transaction's tenant with its value opened, for egress.
pub(super) async fn opened(
    state: &AppState,
    tx: &mut TenantTx,
    app: AppId,
    name: &SecretName,
    lock: Lock,
) -> Result<Option<(SealedSecret, String)>, SecretsError> {
    let Some(secret) = store::sealed(tx, app, name.as_str(), lock).await? else {
        return Ok(None);
    };
    let purpose = value_purpose(app, name);
    let value = crypto::open(tx, &state.key_encryption_key, purpose, &secret.sealed_value).await?;
    let value = String::from_utf8(value).map_err(|_| CryptoError::Unsealable)?;
    Ok(Some((secret, value)))
}

/// The values of every secret of the tenant, for the publish check to look for in the files.
/// One that does not open (tampered) is left out and logged, by app and name only.
pub async fn values(state: &AppState, tx: &mut TenantTx) -> Result<Vec<String>, InfraError> {
    let mut values = Vec::new();
    for (app, name, sealed) in store::all_sealed(tx, Sealed::Value).await? {
        let purpose = Purpose::AppSecret { app, name: &name };
        match crypto::open(tx, &state.key_encryption_key, purpose, &sealed).await {
            Ok(value) => values.extend(String::from_utf8(value).ok()),
            Err(CryptoError::Unsealable) => {
                tracing::warn!(%app, secret = %name, "a stored secret does not open");
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(values)
}

/// Every secret of the tenant sealed again with the newest data key (after a rotation).
pub fn reseal<'a>(
    tx: &'a mut TenantTx,
    key: &'a KeyEncryptionKey,
    now: OffsetDateTime,
) -> BoxFuture<'a, Result<usize, CryptoError>> {
    Box::pin(async move {
        let mut changed = 0;
        for column in [Sealed::Value, Sealed::Grant] {
            for (app, name, sealed) in store::all_sealed(tx, column).await? {
                let purpose = match column {
                    Sealed::Value => Purpose::AppSecret { app, name: &name },
                    Sealed::Grant => Purpose::ConnectionGrant { app, name: &name },
                };
                if let Some(resealed) = crypto::reseal(tx, key, purpose, &sealed, now).await? {
                    // What was replaced meanwhile is kept as its replacement sealed it.
                    let kept = store::reseal(tx, column, app, &name, &sealed, &resealed).await?;
                    changed += usize::from(kept);
                }
            }
        }
        Ok(changed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_https_names_written_as_origins() {
        assert_eq!(
            parse_hosts("https://api.example.com\nhttps://API.example.com/\n\nhttps://x.example:8443").unwrap(),
            vec!["https://api.example.com".to_owned(), "https://x.example:8443".to_owned()]
        );
        assert_eq!(parse_hosts("https://api.example.com:443").unwrap(), vec!["https://api.example.com".to_owned()]);
        for bad in [
            "",
            "http://api.example.com",
            "https://127.0.0.1",
            "https://[::1]",
            "https://2130706433",
            "https://api.example.com/v1",
            "https://user@api.example.com",
            "https://api.example.com?x=1",
            "api.example.com",
            "ftp://api.example.com",
        ] {
            assert!(parse_hosts(bad).is_err(), "{bad}");
        }
        let eleven = (0..11).map(|i| format!("https://h{i}.example.com\n")).collect::<String>();
        assert!(parse_hosts(&eleven).is_err());
    }

    #[test]
    fn values_are_trimmed_and_bounded() {
        assert_eq!(SecretValue::parse("  sk-123\n").unwrap().0, "sk-123");
        assert!(SecretValue::parse("").is_err());
        assert!(SecretValue::parse("a\nb").is_err());
        assert!(SecretValue::parse(&"a".repeat(VALUE_BYTES)).is_ok());
        assert!(SecretValue::parse(&"a".repeat(VALUE_BYTES + 1)).is_err());
    }

    #[test]
    fn placements_name_a_harmless_header_or_parameter() {
        assert_eq!(parse_placement("bearer", "ignored").unwrap(), Placement::Bearer);
        assert_eq!(parse_placement("header", "X-Api-Key").unwrap(), Placement::Header("X-Api-Key".into()));
        assert_eq!(parse_placement("query", "api_key").unwrap(), Placement::Query("api_key".into()));
        for reserved in ["Host", "cookie", "Content-Length", "X-Egress-Host", "", "a b", "a:b"] {
            assert!(parse_placement("header", reserved).is_err(), "{reserved}");
        }
        assert!(parse_placement("query", "a&b").is_err());
        assert!(parse_placement("query", "").is_err());
    }
}
