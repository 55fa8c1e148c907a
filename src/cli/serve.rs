//! `custodian serve` (the default): checks every setting and resource, then serves the site and
//! runs the background jobs.

use std::{fs, io::ErrorKind, net::SocketAddr, sync::Arc, time::Duration};

use app::{
    auth::service::invites,
    platform::{
        audit,
        clock::{Clock, SystemClock},
        config::{MailTransport, Settings},
        crypto,
        error::InfraError,
        hashing::HashingSlots,
        jobs::{JobContext, Runner},
        mail::Mailer,
        outbound::Outbound,
        rate_limit::Limits,
        region::Region,
        session::SessionRecords,
        state::AppState,
    },
};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use super::{app_regions, key_encryption_key, leptos_options, migrated_owner_pools, CliError};
use crate::router;

const FIRST_INVITE_DAYS: u32 = 7;
/// How often each process looks for due jobs (mail goes out within this).
const JOB_POLL: Duration = Duration::from_millis(500);

/// Creates the data directory (and the mail folder when mail goes to files, readable by the
/// server's user alone: mail holds single-use links) and proves each can be written to.
fn prepare_data_dir(settings: &Settings) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;

    // Export archives hold people's data: only the server's user may read them.
    let mut dirs = vec![
        (settings.data_dir.clone(), None),
        (settings.data_dir.join("exports"), Some(0o700)),
    ];
    if let MailTransport::Directory(mail) = settings.mail_transport()? {
        dirs.push((mail, Some(0o700)));
    }
    for (dir, mode) in dirs {
        let fail = |source| CliError::DataDir {
            path: dir.display().to_string(),
            source,
        };
        fs::create_dir_all(&dir).map_err(fail)?;
        if let Some(mode) = mode {
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(fail)?;
        }
        let probe = dir.join(".write-check");
        fs::write(&probe, b"").map_err(fail)?;
        fs::remove_file(&probe).map_err(fail)?;
    }
    Ok(())
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, CliError> {
    TcpListener::bind(addr).await.map_err(|e| CliError::Bind {
        addr,
        reason: match e.kind() {
            ErrorKind::AddrInUse => "the address is already in use".to_owned(),
            ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        },
    })
}

pub async fn serve(settings: Settings) -> Result<(), CliError> {
    let public_url = settings.public_url()?;
    let trusted_proxies = settings.trusted_proxies()?;
    let transport = settings.mail_transport()?;
    let mailer = Mailer::new(&transport)?;
    prepare_data_dir(&settings)?;
    let key_encryption_key = key_encryption_key(&settings)?;
    let listener = bind(settings.site_addr).await?;

    let owners = migrated_owner_pools(&settings).await?;
    for (region, owner) in &owners.regions {
        audit::rekey_legacy_chains(owner, &key_encryption_key, SystemClock.now()).await?;
        // Fail closed: a data key this server would refuse means a rotation is unfinished.
        let current = key_encryption_key.wrapping_id();
        let others = crypto::other_wrapping_ids(owner, &current)
            .await
            .map_err(InfraError::from)?;
        if !others.is_empty() {
            return Err(CliError::OtherWrappingKeys {
                region: region.as_str().to_owned(),
                ids: others.join(", "),
                current,
            });
        }
    }
    let regions = app_regions(&settings, &owners, &key_encryption_key).await?;
    let first = invites::create_first(owners.region(Region::DEFAULT)?, FIRST_INVITE_DAYS).await?;
    if let Some(invite) = first {
        println!("First start: sign up at {}", invite.signup_url(&public_url));
        println!("(the invite code expires {})", invite.expires_on());
    }
    owners.close().await;

    let session_store = SessionRecords::new(regions.clone());
    let state = AppState {
        leptos_options: leptos_options(&settings),
        pool: regions.pool(Region::DEFAULT)?.clone(),
        regions: regions.clone(),
        public_url: public_url.clone(),
        app_hosts: settings.app_hosts(&public_url)?,
        key_encryption_key: Arc::new(key_encryption_key),
        clock: Arc::new(SystemClock),
        limits: Limits {
            per_address: settings.auth_rate_limit,
        },
        hashing: HashingSlots::per_core(),
        sudo_window: settings.sudo_window(),
        retention: settings.retention()?,
        trusted_proxies: trusted_proxies.into(),
        mail_origin: transport.origin().into(),
        data_dir: settings.data_dir.clone().into(),
        outbound: Outbound::new(&settings.outbound())?,
    };
    // Each region runs its own jobs on its own database (a region is a cell).
    for (region, _) in regions.cells() {
        let jobs = JobContext::of_region(&state, mailer.clone(), region)?;
        tokio::spawn(Runner::new(jobs, app::server::jobs()).run_forever(JOB_POLL));
    }
    let app = router::build(state, session_store);
    // Without TCP_NODELAY, a response written in pieces waits for the client's delayed ACK
    // (about 40 ms) on every kept-alive request.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    tracing::info!(addr = %settings.site_addr, public_url = %public_url, "serving");
    if public_url.domain().is_none() {
        tracing::warn!(
            public_url = %public_url,
            "passkeys need a domain name in PUBLIC_URL (an IP address cannot be a WebAuthn relying party)"
        );
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(CliError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; in-flight requests then finish before the server exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
