//! The secrets section's server functions. Each needs sudo and acts on an app of the signed-in
//! owner; none returns a value, and a refusal never repeats what was typed.
// A form's fields arrive as its server function's arguments; connecting takes ten, and the
// macro's browser-side copy of the function carries no attribute of the function's own.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{platform::ids::AppId, ui::FormError};

/// Adds a secret: sealed at once, never shown again.
#[server(endpoint = "apps/secrets/add")]
pub async fn add_secret(
    id: AppId,
    name: String,
    value: String,
    hosts: String,
    placement: String,
    placement_name: String,
) -> Result<(), FormError> {
    use super::service::{self, parse_hosts, parse_placement, SecretName, SecretValue};
    use crate::{
        apps::model::{app_page, AppsNotice},
        platform::context::Sudo,
    };

    let me = Sudo::current()?;
    let name = SecretName::parse(&name)?;
    let value = SecretValue::parse(&value)?;
    let hosts = parse_hosts(&hosts)?;
    let placement = parse_placement(&placement, &placement_name)?;
    service::add(&me, id, name, value, hosts, placement).await?;
    leptos_axum::redirect(&AppsNotice::SecretAdded.at(&app_page(id)));
    Ok(())
}

/// Replaces a secret's value (rotation).
#[server(endpoint = "apps/secrets/replace")]
pub async fn replace_secret(id: AppId, name: String, value: String) -> Result<(), FormError> {
    use super::service::{self, SecretName, SecretValue};
    use crate::{
        apps::model::{app_page, AppsNotice},
        platform::context::Sudo,
    };

    let me = Sudo::current()?;
    let name = SecretName::parse(&name)?;
    let value = SecretValue::parse(&value)?;
    service::replace(&me, id, name, value).await?;
    leptos_axum::redirect(&AppsNotice::SecretReplaced.at(&app_page(id)));
    Ok(())
}

/// Changes the hosts a secret may be sent to.
#[server(endpoint = "apps/secrets/hosts")]
pub async fn change_secret_hosts(id: AppId, name: String, hosts: String) -> Result<(), FormError> {
    use super::service::{self, parse_hosts, SecretName};
    use crate::{
        apps::model::{app_page, AppsNotice},
        platform::context::Sudo,
    };

    let me = Sudo::current()?;
    let name = SecretName::parse(&name)?;
    let hosts = parse_hosts(&hosts)?;
    service::change_hosts(&me, id, name, hosts).await?;
    leptos_axum::redirect(&AppsNotice::SecretHostsChanged.at(&app_page(id)));
    Ok(())
}

/// Deletes a secret and its sealed value.
#[server(endpoint = "apps/secrets/delete")]
pub async fn delete_secret(id: AppId, name: String) -> Result<(), FormError> {
    use super::service::{self, SecretName};
    use crate::{
        apps::model::{app_page, AppsNotice},
        platform::context::Sudo,
    };

    let me = Sudo::current()?;
    service::delete(&me, id, SecretName::parse(&name)?).await?;
    leptos_axum::redirect(&AppsNotice::SecretDeleted.at(&app_page(id)));
    Ok(())
}

/// Adds a connection: an OAuth 2.0 access token with its refresh token and the service's
/// endpoints, all sealed at once.
#[server(endpoint = "apps/secrets/connect")]
pub async fn add_app_connection(
    id: AppId,
    name: String,
    hosts: String,
    access_token: String,
    refresh_token: String,
    expires_in: String,
    token_url: String,
    revocation_url: String,
    client_id: String,
    client_secret: String,
) -> Result<(), FormError> {
    use super::{
        connections::{self, Connection},
        service::{parse_hosts, SecretName, SecretValue, SecretsError},
    };
    use crate::{
        apps::model::{app_page, AppsNotice},
        platform::context::Sudo,
    };

    let me = Sudo::current()?;
    let name = SecretName::parse(&name)?;
    let hosts = parse_hosts(&hosts)?;
    let access_token = SecretValue::parse(&access_token).map_err(|_| SecretsError::AccessToken)?;
    let connection = Connection::parse(
        &refresh_token,
        &client_secret,
        &token_url,
        &revocation_url,
        &client_id,
        &expires_in,
        me.now(),
    )?;
    connections::add(&me, id, name, access_token, hosts, connection).await?;
    leptos_axum::redirect(&AppsNotice::ConnectionAdded.at(&app_page(id)));
    Ok(())
}

/// Disconnects a connection: its tokens are deleted, and the service asked to revoke them.
#[server(endpoint = "apps/secrets/disconnect")]
pub async fn disconnect_app_connection(id: AppId, name: String) -> Result<(), FormError> {
    use super::{
        connections::{self, Revocation},
        service::SecretName,
    };
    use crate::{
        apps::model::{app_page, AppsNotice},
        platform::context::Sudo,
    };

    let me = Sudo::current()?;
    let notice = match connections::disconnect(&me, id, SecretName::parse(&name)?).await? {
        Revocation::Confirmed => AppsNotice::Disconnected,
        Revocation::Failed => AppsNotice::DisconnectedUnrevoked,
        Revocation::NotOffered => AppsNotice::DisconnectedNoRevocation,
    };
    leptos_axum::redirect(&notice.at(&app_page(id)));
    Ok(())
}
