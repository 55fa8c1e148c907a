//! Two data regions and a directory, each its own database, as a server with the default
//! configuration has them (promise P11). The test's own database is the directory; the regions'
//! databases are made for the test and dropped when it ends.

use app::{
    auth::service::{accounts, invites},
    platform::{
        config::Settings,
        db::{self, MIGRATOR},
        ids::OwnerId,
        region::Region,
        regions::Regions,
    },
    privacy::service::policies,
};
use axum::Router;
use sqlx::{postgres::PgPoolOptions, Executor, PgPool};

use super::{app_pool, browser, test_app, TestApp};

/// A server whose regions each have a database of their own.
pub(crate) struct Cells {
    pub(crate) app: TestApp,
    /// The migration role on the directory's database (the test's own).
    pub(crate) directory: PgPool,
    /// The migration role on each region's database.
    pub(crate) us: PgPool,
    pub(crate) eu: PgPool,
    names: [String; 2],
}

async fn region_database(server: &PgPool, name: &str) -> PgPool {
    server
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    server
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let owner = db::connect_owner(&format!("postgres://postgres@127.0.0.1:5432/{name}"))
        .await
        .unwrap();
    MIGRATOR.run(&owner).await.unwrap();
    policies::sync_bundled(&owner).await.unwrap();
    owner
}

/// The server of `directory` (a #[sqlx::test] database), with a database per region.
pub(crate) async fn cells(directory: PgPool) -> Cells {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let names = [
        format!("custodian_test_{}_us", &tag[..12]),
        format!("custodian_test_{}_eu", &tag[..12]),
    ];
    let server = maintenance_pool().await;
    let us = region_database(&server, &names[0]).await;
    let eu = region_database(&server, &names[1]).await;
    let mut app = test_app(directory.clone()).await;
    let (us_app, eu_app) = (app_pool(&us, 4).await, app_pool(&eu, 4).await);
    app.state.regions = Regions::new(
        app_pool(&directory, 4).await,
        vec![(Region::UsEast, us_app.clone()), (Region::EuWest, eu_app)],
    );
    app.state.pool = us_app;
    Cells {
        app,
        directory,
        us,
        eu,
        names,
    }
}

async fn maintenance_pool() -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .unwrap()
}

impl Cells {
    /// The migration role's pool of `region`'s database.
    pub(crate) fn owner_of(&self, region: Region) -> &PgPool {
        match region {
            Region::UsEast => &self.us,
            Region::EuWest => &self.eu,
        }
    }

    /// The settings an operator's command gets on this server.
    pub(crate) fn settings(&self) -> Settings {
        let url = |name: &str| format!("postgres://postgres@127.0.0.1:5432/{name}");
        let regions = format!(
            "us-east={},eu-west={}",
            url(&self.names[0]),
            url(&self.names[1])
        );
        Settings::from_args([
            "custodian",
            "--database-url",
            &self.app.database_url(),
            "--region-database-urls",
            &regions,
            "--key-file",
            self.app.key_file().to_str().unwrap(),
        ])
        .unwrap()
    }

    /// The whole site on this server's state.
    pub(crate) fn router(&self) -> Router {
        browser::router(&self.app.state)
    }

    /// An operator's invite (kept in the default region).
    pub(crate) async fn invite(&self) -> String {
        invites::create(&self.us, 7, None).await.unwrap().code
    }

    /// Signs `email` up in `region`, verified.
    pub(crate) async fn join(&self, email: &str, region: Region) -> OwnerId {
        let mut sign_up = self.app.sign_up_as(email, self.invite().await);
        sign_up.region = region;
        let owner = accounts::sign_up(&self.app.visitor(), sign_up)
            .await
            .unwrap()
            .expect("a fresh address gets an account");
        let body: String = sqlx::query_scalar(
            "SELECT body FROM mail_outbox WHERE recipient = $1 \
             AND subject = 'Verify your email address'",
        )
        .bind(email)
        .fetch_one(self.owner_of(region))
        .await
        .unwrap();
        accounts::verify_email(&self.app.visitor(), &super::token_in(&body))
            .await
            .unwrap();
        owner
    }
}

/// The regions' databases go when the test ends, passed or failed (a panicking test unwinds
/// through here too): dropped with FORCE, which also ends the pools' connections.
impl Drop for Cells {
    fn drop(&mut self) {
        let names = self.names.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for dropping the test's databases");
            runtime.block_on(async {
                let server = maintenance_pool().await;
                for name in &names {
                    let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(error) = server.execute(statement.as_str()).await {
                        eprintln!("could not drop {name}: {error}");
                    }
                }
            });
        })
        .join();
        if dropped.is_err() {
            eprintln!("dropping the regions' databases panicked");
        }
    }
}

/// A pool whose database never answers (a closed port): a region, or the directory, that is down.
fn dead_pool() -> PgPool {
    PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy("postgres://custodian_app:x@127.0.0.1:1/custodian")
        .unwrap()
}

/// `live` with `down`'s database not answering.
pub(crate) fn with_region_down(live: &Regions, down: Region) -> Regions {
    let cells = live
        .cells()
        .map(|(region, pool)| {
            (
                region,
                if region == down {
                    dead_pool()
                } else {
                    pool.clone()
                },
            )
        })
        .collect();
    Regions::new(live.directory().clone(), cells)
}

/// `live` with the directory's database not answering.
pub(crate) fn with_directory_down(live: &Regions) -> Regions {
    let cells = live
        .cells()
        .map(|(region, pool)| (region, pool.clone()))
        .collect();
    Regions::new(dead_pool(), cells)
}

/// Every row of every table of a database (read as its owner) whose text holds `needle`, as
/// "table: count".
pub(crate) async fn rows_mentioning(owner: &PgPool, needle: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1",
    )
    .fetch_all(owner)
    .await
    .unwrap();
    let mut found = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} AS t WHERE t::text ILIKE '%' || $1 || '%'"
        ))
        .bind(needle)
        .fetch_one(owner)
        .await
        .unwrap();
        if count > 0 {
            found.push(format!("{table}: {count}"));
        }
    }
    found
}
