//! Integration tests of the apps area (promise P10): apps and their files with their limits,
//! isolation between tenants, share links, capability tokens, the app origins' answers, and
//! the trash.

#[path = "../support/mod.rs"]
mod support;

mod connections;
mod discover;
mod files;
mod http;
mod key_rotation;
mod links;
mod members;
mod origin;
mod secrets;
mod trash;

use app::{
    apps::service::{self, upload::Incoming, Details},
    platform::ids::{AppId, OwnerId},
};

use support::TestApp;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// Makes an app for `owner` from the starter.
pub(crate) async fn starter_app(w: &TestApp, owner: OwnerId) -> AppId {
    service::create(
        &w.as_owner(owner),
        Details::parse("My app", "A test app").unwrap(),
        service::Start::Starter,
    )
    .await
    .unwrap()
}

pub(crate) fn file(name: &str, bytes: impl Into<Vec<u8>>) -> Incoming {
    Incoming {
        file_name: name.to_owned(),
        bytes: bytes.into(),
    }
}

/// How many events of `kind` the owner's security log holds.
pub(crate) async fn events(
    w: &TestApp,
    owner: OwnerId,
    kind: app::platform::area::EventKind,
) -> usize {
    let prefix = format!("{}:", kind.code);
    w.kinds(owner)
        .await
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .count()
}

/// Counts the rows of `table` for `owner`, as the migration role.
pub(crate) async fn rows(w: &TestApp, table: &str, owner: OwnerId) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE owner_id = $1"))
        .bind(owner)
        .fetch_one(&w.owner)
        .await
        .unwrap()
}
