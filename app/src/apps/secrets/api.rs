//! The secrets section's server functions. Each needs sudo and acts on an app of the signed-in
//! owner; none returns a value, and a refusal never repeats what was typed.

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
