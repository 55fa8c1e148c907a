//! An export holds each app's details and files under `apps/<app-id>/` (promise P8 meets P10),
//! listed in the manifest with their hashes, and never a share link's token or password.

use app::{
    apps::{
        model::LinkExpiry,
        service::{self, links, upload::Incoming, Details},
    },
    platform::db::MIGRATOR,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::{archive_path, exported, support::test_app, unzip};

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_archive_holds_every_app_with_its_files(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let me = w.as_owner(ada);
    let app = service::create(
        &me,
        Details::parse("Exported", "mine").unwrap(),
        service::Start::Empty,
    )
    .await
    .unwrap();
    let page = b"<h1>exported page</h1>".to_vec();
    let upload = vec![
        Incoming {
            file_name: "index.html".to_owned(),
            bytes: page.clone(),
        },
        Incoming {
            file_name: "data.bin".to_owned(),
            bytes: vec![0, 159, 146, 150],
        },
    ];
    service::upload::upload(&me, app, upload).await.unwrap();
    let link = links::create(
        &me,
        app,
        "Friends",
        LinkExpiry::SevenDays,
        Some("open sesame"),
    )
    .await
    .unwrap();
    let token = link.url.rsplit('/').next().unwrap().to_owned();

    let id = exported(&w, ada).await;
    let files = unzip(&archive_path(&w, ada, id));
    let folder = format!("apps/{app}");
    assert_eq!(files[&format!("{folder}/files/index.html")], page);
    assert_eq!(
        files[&format!("{folder}/files/data.bin")],
        vec![0, 159, 146, 150]
    );
    let details: Value = serde_json::from_slice(&files[&format!("{folder}/app.json")]).unwrap();
    assert_eq!(details["name"], "Exported");
    let listed: Value = serde_json::from_slice(&files["apps/files.json"]).unwrap();
    let sha = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "index.html")
        .unwrap()["sha256"]
        .clone();
    assert_eq!(
        sha,
        Value::String(app::platform::keys::hex(&Sha256::digest(&page)))
    );
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert!(manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == format!("{folder}/files/index.html").as_str()));
    let links_file = String::from_utf8(files["apps/share_links.json"].clone()).unwrap();
    assert!(links_file.contains("Friends"));
    let everything: Vec<u8> = files.values().flatten().copied().collect();
    let everything = String::from_utf8_lossy(&everything);
    assert!(!everything.contains(&token), "the link's token is nowhere");
    assert!(!everything.contains("argon2"), "nor its password's hash");
}
