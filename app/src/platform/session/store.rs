//! The session store behind tower-sessions (promise P4): records in `tower_sessions.session`,
//! with two rules the stock PostgreSQL store lacks.
//!
//! - A record lives in one region's database (promise P11): a signed-in one in its account's
//!   region, any other in the default region. The id's lowest byte names that region, so a
//!   request touches only the database of the region its cookie names.
//! - A save updates a record that exists and never re-creates one: a request still running when
//!   its session was ended cannot bring the session back.
//! - A signed-in session moves to a new id (`rotate_listed`) by creating the new record with a
//!   `ListingMove` in it. The store then deletes the old record, writes the new one and points
//!   the session's listing row (`account_sessions`) at it in one transaction, and writes
//!   nothing when the listing no longer names the old id, because the session was ended
//!   meanwhile.

use super::record::{SessionRecord, SESSION_KEY};
use crate::platform::{
    clock::{Clock, SystemClock},
    db::TenantTx,
    ids::{AccountSessionId, OwnerId},
    region::{Region, Tenant},
    regions::Regions,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion, SessionStore},
};

/// Where a record carries its listing move until the store has made it.
pub(super) const LISTING_MOVE_KEY: &str = "listing_move";
/// The store's answer when the listing of a session being moved is gone.
pub(super) const SESSION_ENDED: &str = "the session has ended";

/// A signed-in session's listing row, to be pointed at the record being created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ListingMove {
    pub owner_id: OwnerId,
    pub account_session: AccountSessionId,
    /// The store id the listing names now; the move happens only if it still does.
    pub from: String,
}

#[derive(Clone)]
pub struct SessionRecords {
    regions: Regions,
}

impl std::fmt::Debug for SessionRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionRecords")
    }
}

impl SessionRecords {
    pub fn new(regions: Regions) -> Self {
        Self { regions }
    }

    /// The pool of the region a record belongs in: its account's when signed in.
    fn home(&self, record: &Record) -> session_store::Result<(Region, &PgPool)> {
        let region = record
            .data
            .get(SESSION_KEY)
            .and_then(|value| serde_json::from_value::<SessionRecord>(value.clone()).ok())
            .map_or(Region::DEFAULT, |signed_in| signed_in.region);
        Ok((region, self.regions.pool(region).map_err(backend)?))
    }

    /// The pool of the region an id names; None for an id that names no region served here.
    fn pool_of(&self, id: &Id) -> Option<&PgPool> {
        region_of(id).and_then(|region| self.regions.pool(region).ok())
    }
}

/// A fresh random id whose lowest byte names `region`.
fn tagged_id(region: Region) -> Id {
    Id((Id::default().0 & !0xff) | i128::from(region.tag()))
}

/// The region an id's lowest byte names.
pub(crate) fn region_of(id: &Id) -> Option<Region> {
    Region::from_tag((id.0 & 0xff) as u8)
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    serde_json::to_vec(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

impl SessionRecords {
    /// Writes a record under a fresh id; false when the id was taken (then try another).
    async fn insert(
        conn: &mut sqlx::PgConnection,
        record: &Record,
        data: &[u8],
    ) -> Result<bool, sqlx::Error> {
        Ok(sqlx::query(
            "INSERT INTO tower_sessions.session (id, data, expiry_date) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(record.id.to_string())
        .bind(data)
        .bind(record.expiry_date)
        .execute(conn)
        .await?
        .rows_affected()
            == 1)
    }

    /// Creates the record and moves the listing to it, all or nothing.
    async fn create_moving(
        &self,
        record: &mut Record,
        data: &[u8],
        moving: &ListingMove,
    ) -> session_store::Result<()> {
        let (region, pool) = self.home(record)?;
        loop {
            record.id = tagged_id(region);
            let mut tx = TenantTx::begin_on(pool, Tenant::new(moving.owner_id, region))
                .await
                .map_err(backend)?;
            let moved = sqlx::query(
                "UPDATE account_sessions SET store_id = $3 WHERE id = $1 AND store_id = $2",
            )
            .bind(moving.account_session)
            .bind(&moving.from)
            .bind(record.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            if moved == 0 {
                return Err(backend(SESSION_ENDED));
            }
            sqlx::query("DELETE FROM tower_sessions.session WHERE id = $1")
                .bind(&moving.from)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            if Self::insert(&mut tx, record, data).await.map_err(backend)? {
                return tx.commit().await.map_err(backend);
            }
        }
    }
}

#[async_trait]
impl SessionStore for SessionRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let moving = record
            .data
            .remove(LISTING_MOVE_KEY)
            .map(serde_json::from_value::<ListingMove>)
            .transpose()
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let data = encode(record)?;
        if let Some(moving) = moving {
            return self.create_moving(record, &data, &moving).await;
        }
        let (region, pool) = self.home(record)?;
        let mut conn = pool.acquire().await.map_err(backend)?;
        loop {
            record.id = tagged_id(region);
            if Self::insert(&mut conn, record, &data)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let Some(pool) = self.pool_of(&record.id) else {
            return Ok(());
        };
        // An update only: zero rows means the session was ended, and it stays ended.
        sqlx::query("UPDATE tower_sessions.session SET data = $2, expiry_date = $3 WHERE id = $1")
            .bind(record.id.to_string())
            .bind(encode(record)?)
            .bind(record.expiry_date)
            .execute(pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let Some(pool) = self.pool_of(session_id) else {
            return Ok(None);
        };
        let row: Option<(Vec<u8>, OffsetDateTime)> = sqlx::query_as(
            "SELECT data, expiry_date FROM tower_sessions.session \
             WHERE id = $1 AND expiry_date > $2",
        )
        .bind(session_id.to_string())
        .bind(SystemClock.now())
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
        let Some((data, expiry_date)) = row else {
            return Ok(None);
        };
        match serde_json::from_slice(&data) {
            Ok(data) => Ok(Some(Record {
                id: *session_id,
                data,
                expiry_date,
            })),
            Err(error) => {
                tracing::warn!(%error, "ignored a session record that does not decode");
                Ok(None)
            }
        }
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let Some(pool) = self.pool_of(session_id) else {
            return Ok(());
        };
        sqlx::query("DELETE FROM tower_sessions.session WHERE id = $1")
            .bind(session_id.to_string())
            .execute(pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for SessionRecords {
    async fn delete_expired(&self) -> session_store::Result<()> {
        for (_, pool) in self.regions.cells() {
            delete_expired_in(pool).await.map_err(backend)?;
        }
        Ok(())
    }
}

/// Deletes the expired records of one region's database (its own sweep job runs this).
pub async fn delete_expired_in(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tower_sessions.session WHERE expiry_date < $1")
        .bind(SystemClock.now())
        .execute(pool)
        .await?;
    Ok(())
}
