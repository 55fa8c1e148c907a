//! Restriction of processing (promise P15): while a person's correction or objection is open,
//! or they asked for restriction, their data is stored but used for nothing but storage, legal
//! claims and security. The rule is one database function (`custodian_processing_restriction`)
//! that the areas consult here, and that the database's own triggers consult for non-essential
//! mail and publishing to Discover, so no area can forget it.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::ids::OwnerId;

/// Why, and since when, an account's processing is restricted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    pub since: OffsetDateTime,
    pub because: &'static str,
}

impl Restriction {
    /// "Processing restricted since …, because …."
    pub fn line(&self) -> String {
        format!(
            "Processing restricted since {}, because {}.",
            super::clock::to_minute(self.since),
            self.because
        )
    }
}

fn because(right: &str) -> &'static str {
    match right {
        "correction" => "your correction request is open",
        "objection" => "your objection is open",
        _ => "you asked for restriction of processing",
    }
}

/// The account's restriction, if its processing is restricted.
pub async fn of(
    conn: &mut PgConnection,
    owner: OwnerId,
) -> Result<Option<Restriction>, sqlx::Error> {
    let first: Option<(String, OffsetDateTime)> = sqlx::query_as(
        "SELECT right_kind, since FROM custodian_processing_restriction($1) LIMIT 1",
    )
    .bind(owner)
    .fetch_optional(conn)
    .await?;
    Ok(first.map(|(right, since)| Restriction {
        since,
        because: because(&right),
    }))
}

/// Whether a database error is one of the restriction triggers refusing a write.
pub fn refused_by_trigger(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.code().as_deref() == Some("23514") && e.message().contains("restricted"))
}
