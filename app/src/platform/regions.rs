//! The databases of the data regions (promise P11, DESIGN §3 and §5): where each region's
//! database is, and the pools a tenant-scoped transaction is routed among.
//!
//! With no configuration, the region databases sit next to the directory database on the same
//! PostgreSQL, named after it: `custodian` gives `custodian_us_east` and `custodian_eu_west`.
//!
//! Owns: `database_identity` (each database's random name).

use std::sync::Arc;

use sqlx::PgPool;

use super::{config::ConfigError, db::DbError, region::Region};

/// Where each region's database is: `REGION_DATABASE_URLS` when set
/// (`us-east=postgres://…,eu-west=postgres://…`), else derived from the directory's URL.
pub fn region_urls(
    directory_url: &str,
    configured: Option<&str>,
) -> Result<Vec<(Region, String)>, ConfigError> {
    let configured = configured.map(str::trim).filter(|c| !c.is_empty());
    let Some(configured) = configured else {
        return Region::ALL
            .into_iter()
            .map(|region| Ok((region, derived_url(directory_url, region)?)))
            .collect();
    };
    let mut urls: Vec<(Region, String)> = Vec::new();
    for entry in configured.split(',') {
        let bad = || ConfigError::RegionDatabaseUrls(entry_name(entry));
        let (name, url) = entry.split_once('=').ok_or_else(bad)?;
        let region = Region::parse(name.trim()).ok_or_else(bad)?;
        let url = url.trim();
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(bad());
        }
        if urls.iter().any(|(seen, _)| *seen == region) {
            return Err(bad());
        }
        urls.push((region, url.to_owned()));
    }
    if !urls.iter().any(|(region, _)| *region == Region::DEFAULT) {
        return Err(ConfigError::RegionDatabaseUrls(format!(
            "no {}, the default region, which serves visitors not signed in",
            Region::DEFAULT.as_str()
        )));
    }
    Ok(urls)
}

/// What an entry is called in an error: its region name, never its URL (it may hold a password).
fn entry_name(entry: &str) -> String {
    entry
        .split_once('=')
        .map_or("an entry without \"region=\"", |(name, _)| name)
        .trim()
        .to_owned()
}

fn derived_url(directory_url: &str, region: Region) -> Result<String, ConfigError> {
    let mut url = url::Url::parse(directory_url)
        .map_err(|_| ConfigError::RegionDatabaseUrls("DATABASE_URL".to_owned()))?;
    let database = url.path().trim_start_matches('/');
    let database = if database.is_empty() {
        "postgres"
    } else {
        database
    };
    let name = format!("{database}{}", region.database_suffix());
    // PostgreSQL cuts names at 63 bytes: a longer one would silently name another database.
    if name.len() > 63 {
        return Err(ConfigError::RegionDatabaseUrls(format!(
            "DATABASE_URL's database name is too long to name {name:?} after it; set the URLs"
        )));
    }
    url.set_path(&name);
    Ok(url.to_string())
}

/// The directory's pool and one pool per region served, all logged in as the app role.
#[derive(Clone)]
pub struct Regions {
    directory: PgPool,
    cells: Arc<[(Region, PgPool)]>,
}

impl Regions {
    pub fn new(directory: PgPool, cells: Vec<(Region, PgPool)>) -> Self {
        Self {
            directory,
            cells: cells.into(),
        }
    }

    /// One database as the directory and every region: a test's own database, where what
    /// regions change is not under test.
    pub fn single(pool: PgPool) -> Self {
        let cells = Region::ALL.map(|region| (region, pool.clone())).to_vec();
        Self::new(pool, cells)
    }

    /// The directory database: routing entries only.
    pub fn directory(&self) -> &PgPool {
        &self.directory
    }

    /// The pool of `region`'s database; refused when this server does not serve the region.
    pub fn pool(&self, region: Region) -> Result<&PgPool, DbError> {
        self.cells
            .iter()
            .find(|(served, _)| *served == region)
            .map(|(_, pool)| pool)
            .ok_or(DbError::RegionNotServed(region))
    }

    /// Whether two regions are served from one database (a test's or a developer's layout),
    /// where moving rows between them would move nothing: each database's own random identity
    /// says, whatever URLs name it.
    pub async fn same_database(&self, a: Region, b: Region) -> Result<bool, DbError> {
        if a == b {
            return Ok(true);
        }
        Ok(database_identity(self.pool(a)?).await? == database_identity(self.pool(b)?).await?)
    }

    pub fn serves(&self, region: Region) -> bool {
        self.cells.iter().any(|(served, _)| *served == region)
    }

    /// The pool of each database that holds regions, once each (several regions may share one
    /// database in a test's or a developer's layout): for reads across every region.
    pub fn databases(&self) -> Vec<&PgPool> {
        let mut seen = Vec::new();
        let mut pools = Vec::new();
        for (_, pool) in self.cells.iter() {
            let options = pool.connect_options();
            let name = (
                options.get_host().to_owned(),
                options.get_port(),
                options.get_database().map(str::to_owned),
            );
            if !seen.contains(&name) {
                seen.push(name);
                pools.push(pool);
            }
        }
        pools
    }

    /// Every region served, with its pool.
    pub fn cells(&self) -> impl Iterator<Item = (Region, &PgPool)> {
        self.cells.iter().map(|(region, pool)| (*region, pool))
    }

    /// Closes every pool, the directory's last (the end of an operator's command).
    pub async fn close(&self) {
        for (_, pool) in self.cells() {
            pool.close().await;
        }
        self.directory.close().await;
    }
}

/// The random identity a database got when it was migrated.
pub async fn database_identity(pool: &PgPool) -> Result<uuid::Uuid, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM database_identity")
        .fetch_one(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconfigured_regions_are_named_after_the_directory() {
        let urls = region_urls("postgres://postgres@127.0.0.1:5432/foo", None).unwrap();
        assert_eq!(
            urls,
            vec![
                (
                    Region::UsEast,
                    "postgres://postgres@127.0.0.1:5432/foo_us_east".to_owned()
                ),
                (
                    Region::EuWest,
                    "postgres://postgres@127.0.0.1:5432/foo_eu_west".to_owned()
                ),
            ]
        );
        let blank = region_urls("postgres://postgres@127.0.0.1:5432/custodian", Some(" ")).unwrap();
        assert_eq!(
            blank[1].1,
            "postgres://postgres@127.0.0.1:5432/custodian_eu_west"
        );
    }

    #[test]
    fn configured_regions_are_read_and_junk_is_refused_without_echoing_urls() {
        let urls = region_urls(
            "postgres://x@h/d",
            Some("eu-west=postgres://a:secret@eu/db, us-east=postgresql://b@us/db"),
        )
        .unwrap();
        assert_eq!(
            urls[0],
            (Region::EuWest, "postgres://a:secret@eu/db".to_owned())
        );
        assert_eq!(urls[1].0, Region::UsEast);
        for junk in [
            "mars=postgres://a@h/d",
            "eu-west=mysql://a:secret@h/d",
            "postgres://a:secret@h/d",
            "eu-west=postgres://a@h/d,eu-west=postgres://b@h/d",
            "eu-west=postgres://a:secret@h/d",
        ] {
            let error = region_urls("postgres://x@h/d", Some(junk))
                .unwrap_err()
                .to_string();
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
