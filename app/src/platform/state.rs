//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use ipnet::IpNet;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use url::Url;

use super::{
    client::ClientInfo,
    clock::Clock,
    db::DbError,
    hashing::HashingSlots,
    keys::KeyEncryptionKey,
    rate_limit::{Action, Limits, RateLimitError},
    region::Region,
    regions::Regions,
};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// The pool of the region this request is served in: a signed-in person's region, else the
    /// default region. Runs as custodian_app: row-level security applies to every query.
    pub pool: PgPool,
    /// Every region's pool and the directory's; tenant transactions are routed among them.
    pub regions: Regions,
    pub public_url: Url,
    /// Where each app is served, on an origin of its own.
    pub app_hosts: super::app_hosts::AppHosts,
    pub key_encryption_key: Arc<KeyEncryptionKey>,
    /// The time every rule (session expiry, token lifetimes, throttling) is judged by.
    pub clock: Arc<dyn Clock>,
    /// Requests per client address and network per minute, by kind.
    pub limits: Limits,
    /// Where password hashing waits its turn.
    pub hashing: HashingSlots,
    /// How long a re-authentication opens sensitive actions (sudo mode).
    pub sudo_window: time::Duration,
    /// How long a deleted account waits, and how long backups are kept.
    pub retention: super::config::Retention,
    /// Where the server keeps files (export archives), each region's in a folder of its own.
    pub data_dir: Arc<std::path::Path>,
    /// Where mail leaves from, as the Privacy page tells it.
    pub mail_origin: Arc<str>,
    /// Proxies whose X-Forwarded-For names the client.
    pub trusted_proxies: Arc<[IpNet]>,
    /// Where requests to other hosts (an app's egress) leave from.
    pub outbound: super::outbound::Outbound,
}

impl AppState {
    /// This state, serving `region`: the pool becomes that region's.
    pub fn in_region(&self, region: Region) -> Result<Self, DbError> {
        let mut state = self.clone();
        state.pool = self.regions.pool(region)?.clone();
        Ok(state)
    }

    /// The state inside a server function, where leptos_axum provides it as context.
    pub fn from_context() -> Option<Self> {
        leptos::prelude::use_context::<Self>()
    }

    /// Counts one `action` of the client; refused when its address or network is over the limit.
    pub async fn check_rate(
        &self,
        action: Action,
        client: &ClientInfo,
    ) -> Result<(), RateLimitError> {
        self.limits
            .check(
                &self.pool,
                &self.key_encryption_key,
                action,
                client.ip,
                self.clock.now(),
            )
            .await
    }
}
