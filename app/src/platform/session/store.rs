//! The session store behind tower-sessions (promise P4): records in `tower_sessions.session`,
//! with two rules the stock PostgreSQL store lacks.
//!
//! - A save updates a record that exists and never re-creates one: a request still running when
//!   its session was ended cannot bring the session back.
//! - A signed-in session moves to a new id (`rotate_listed`) by creating the new record with a
//!   `ListingMove` in it. The store then deletes the old record, writes the new one and points
//!   the session's listing row (`account_sessions`) at it in one transaction, and writes
//!   nothing when the listing no longer names the old id, because the session was ended
//!   meanwhile.

use crate::platform::{
    clock::{Clock, SystemClock},
    db::TenantTx,
    ids::{AccountSessionId, OwnerId},
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

#[derive(Debug, Clone)]
pub struct SessionRecords {
    pool: PgPool,
}

impl SessionRecords {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
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
        loop {
            record.id = Id::default();
            let mut tx = TenantTx::begin(&self.pool, moving.owner_id)
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
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        loop {
            record.id = Id::default();
            if Self::insert(&mut conn, record, &data)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // An update only: zero rows means the session was ended, and it stays ended.
        sqlx::query("UPDATE tower_sessions.session SET data = $2, expiry_date = $3 WHERE id = $1")
            .bind(record.id.to_string())
            .bind(encode(record)?)
            .bind(record.expiry_date)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(Vec<u8>, OffsetDateTime)> = sqlx::query_as(
            "SELECT data, expiry_date FROM tower_sessions.session \
             WHERE id = $1 AND expiry_date > $2",
        )
        .bind(session_id.to_string())
        .bind(SystemClock.now())
        .fetch_optional(&self.pool)
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
        sqlx::query("DELETE FROM tower_sessions.session WHERE id = $1")
            .bind(session_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for SessionRecords {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query("DELETE FROM tower_sessions.session WHERE expiry_date < $1")
            .bind(SystemClock.now())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
