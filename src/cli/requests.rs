//! `custodian requests`: the operator's side of rights requests (promise P15), with the same
//! rules as everywhere (an extension after its window is refused, with the reason), each
//! action mailed to the person and written to their security log. Also `custodian news send`
//! (product news, only to those who may get it) and `custodian retention sweep` (the daily
//! sweep, run now).

use std::sync::Arc;

use app::{
    data::rights::{
        answer::{self, Action, Answerer},
        model::Right,
        service::{self as rights, RightsError},
        store,
    },
    platform::{
        clock::{Clock, SystemClock},
        config::Settings,
        db::TenantTx,
        error::InfraError,
        ids::OwnerId,
        jobs::JobContext,
        mail::Mailer,
        region::{Region, Tenant},
        retention,
    },
};
use uuid::Uuid;

use super::{app_regions, key_encryption_key, migrated_owner_pools, CliError, OwnerPools};

/// What `requests` is asked to do.
pub enum Command {
    List {
        overdue: bool,
    },
    Show {
        id: Uuid,
    },
    Act {
        id: Uuid,
        right: String,
        action: Action,
    },
}

fn right(name: &str) -> Result<Right, CliError> {
    Right::parse(name.trim()).ok_or_else(|| CliError::UnknownRight(name.to_owned()))
}

/// The request's region and owner, found in whichever region holds it.
async fn find(owners: &OwnerPools, id: Uuid) -> Result<Tenant, CliError> {
    for (region, pool) in &owners.regions {
        let mut tx = pool.begin().await.map_err(InfraError::from)?;
        let owner: Option<OwnerId> = store::owner_of(&mut tx, id)
            .await
            .map_err(InfraError::from)?;
        tx.rollback().await.map_err(InfraError::from)?;
        if let Some(owner) = owner {
            return Ok(Tenant::new(owner, *region));
        }
    }
    Err(RightsError::NoSuchRequest.into())
}

fn line(region: Region, row: &store::OperatorRow, today: time::Date) -> String {
    let item = &row.item;
    let due = item.due();
    let days = (due - today).whole_days();
    let clock = if item.closed_at.is_some() {
        String::new()
    } else if days < 0 {
        format!(" OVERDUE by {} day(s)", -days)
    } else {
        format!(" {days} day(s) left")
    };
    format!(
        "{}  {:<11}  {:<11}  due {due}{clock}  received {}  [{}]",
        item.request_id,
        item.right_kind,
        item.status,
        app::platform::clock::to_minute(row.received_at),
        region.as_str(),
    )
}

pub async fn run(settings: &Settings, command: Command) -> Result<(), CliError> {
    let kek = key_encryption_key(settings)?;
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &kek).await?;
    let public_url = settings.public_url()?;
    let now = SystemClock.now();
    let outcome = async {
        match command {
            Command::List { overdue } => {
                let mut printed = 0;
                for (region, pool) in &owners.regions {
                    let mut tx = pool.begin().await.map_err(InfraError::from)?;
                    let rows = store::all_for_operator(&mut tx, overdue.then_some(now.date()))
                        .await
                        .map_err(InfraError::from)?;
                    tx.rollback().await.map_err(InfraError::from)?;
                    for row in &rows {
                        println!("{}", line(*region, row, now.date()));
                    }
                    printed += rows.len();
                }
                if printed == 0 {
                    println!("No requests{}.", if overdue { " are overdue" } else { "" });
                }
            }
            Command::Show { id } => {
                let tenant = find(&owners, id).await?;
                let mut tx = TenantTx::begin(&regions, tenant).await?;
                let (request, items) = store::one(&mut tx, id)
                    .await
                    .map_err(InfraError::from)?
                    .ok_or(RightsError::NoSuchRequest)?;
                tx.rollback().await.map_err(InfraError::from)?;
                println!(
                    "Request {id} of account {} ({}), received {}, under {}{}",
                    tenant.owner_id,
                    tenant.region.as_str(),
                    app::platform::clock::to_minute(request.received_at),
                    request.regime,
                    request
                        .closed_at
                        .map(|at| format!(", closed {}", app::platform::clock::to_minute(at)))
                        .unwrap_or_default(),
                );
                for item in &items {
                    println!(
                        "- {}: {} (due {}{})\n  asked: {}{}",
                        item.right_kind,
                        item.status,
                        item.due(),
                        item.extended_to
                            .map(|_| format!(", extended: {}", item.extension_reason))
                            .unwrap_or_default(),
                        answer::asked(item),
                        if item.reason.is_empty() {
                            String::new()
                        } else {
                            format!("\n  reason: {}", item.reason)
                        },
                    );
                }
            }
            Command::Act {
                id,
                right: name,
                action,
            } => {
                let right = right(&name)?;
                let tenant = find(&owners, id).await?;
                let mut tx = TenantTx::begin(&regions, tenant).await?;
                let by = Answerer {
                    key: &kek,
                    now,
                    site: &public_url,
                };
                let told = answer::act(&mut tx, &by, id, right, action).await?;
                tx.commit().await.map_err(InfraError::from)?;
                println!("Done; the person was mailed:\n{told}");
            }
        }
        Ok::<_, CliError>(())
    }
    .await;
    owners.close().await;
    regions.close().await;
    outcome
}

/// Queues product news to every account that asked for it and may get it now.
pub async fn send_news(settings: &Settings, subject: &str, body: &str) -> Result<(), CliError> {
    if subject.trim().is_empty() || body.trim().is_empty() {
        return Err(CliError::EmptyNews);
    }
    let kek = key_encryption_key(settings)?;
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &kek).await?;
    let now = SystemClock.now();
    let outcome = async {
        let (mut queued, mut withheld) = (0, 0);
        for (region, pool) in &owners.regions {
            let mut tx = pool.begin().await.map_err(InfraError::from)?;
            let recipients = store::news_recipients(&mut tx)
                .await
                .map_err(InfraError::from)?;
            tx.rollback().await.map_err(InfraError::from)?;
            for owner in recipients {
                let mut tx = TenantTx::begin(&regions, Tenant::new(owner, *region)).await?;
                if rights::queue_product_news(&mut tx, subject.trim(), body, now).await? {
                    queued += 1;
                } else {
                    withheld += 1;
                }
                tx.commit().await.map_err(InfraError::from)?;
            }
        }
        Ok::<_, CliError>((queued, withheld))
    }
    .await;
    owners.close().await;
    regions.close().await;
    let (queued, withheld) = outcome?;
    println!(
        "Queued product news to {queued} account(s); {withheld} withheld (processing restricted)."
    );
    Ok(())
}

/// Runs the retention sweep in every region now (the database's clock decides what is due).
pub async fn sweep(settings: &Settings) -> Result<(), CliError> {
    let kek = Arc::new(key_encryption_key(settings)?);
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &kek).await?;
    owners.close().await;
    let mailer = Mailer::new(&settings.mail_transport()?)?;
    let outcome = async {
        for (region, pool) in regions.cells() {
            let context = JobContext {
                pool: pool.clone(),
                clock: Arc::new(SystemClock),
                mailer: mailer.clone(),
                region,
                directory: regions.directory().clone(),
                data_dir: settings.data_dir.clone().into(),
                key_encryption_key: kek.clone(),
                public_url: settings.public_url()?,
                regions: regions.clone(),
            };
            let removed = retention::run(&context, SystemClock.now())
                .await
                .map_err(|e| CliError::Sweep(e.to_string()))?;
            for (what, count) in removed {
                println!("{}: {what}: {count} removed", region.as_str());
            }
        }
        Ok::<_, CliError>(())
    }
    .await;
    regions.close().await;
    outcome
}
