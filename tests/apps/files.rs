//! An app's files: the starter, uploads (single files and zips), the limits per app and per
//! account, all or nothing, audit events, and no reach into another tenant's apps.

use app::{
    apps::{
        model::{UploadProblem, APP_CREATED, APP_FILES_CHANGED},
        service::{self, upload, AppsError, Details},
    },
    platform::{db::MIGRATOR, ids::AppId},
};
use sqlx::PgPool;

use crate::{events, file, rows, starter_app, support::test_app, ADA, BOB};

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_app_made_from_the_starter_has_its_files_and_is_in_the_log(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let detail = service::detail(&w.as_owner(ada), app).await.unwrap();
    let paths: Vec<&str> = detail.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["app.js", "index.html", "style.css"]);
    assert!(detail.links.is_empty(), "private by default: no link");
    assert!(detail.origin.starts_with(&format!(
        "http://{}.apps.localhost:3000",
        app.as_uuid().simple()
    )));
    assert_eq!(events(&w, ada, APP_CREATED).await, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn uploads_replace_files_and_every_change_is_recorded(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let me = w.as_owner(ada);
    upload::upload(
        &me,
        app,
        vec![
            file("index.html", "<h1>New</h1>"),
            file("img.png", vec![0x89, b'P']),
        ],
    )
    .await
    .unwrap();
    let detail = service::detail(&me, app).await.unwrap();
    assert_eq!(detail.files.len(), 4);
    let png = detail.files.iter().find(|f| f.path == "img.png").unwrap();
    assert_eq!(png.content_type, "image/png");
    upload::delete_file(&me, app, "img.png").await.unwrap();
    assert!(matches!(
        upload::delete_file(&me, app, "img.png").await,
        Err(AppsError::NoSuchFile)
    ));
    assert_eq!(events(&w, ada, APP_FILES_CHANGED).await, 2);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_upload_over_a_limit_writes_nothing(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let app = starter_app(&w, ada).await;
    let me = w.as_owner(ada);
    let before = rows(&w, "app_files", ada).await;

    let big = vec![
        file("a.bin", vec![1u8; 6 << 20]),
        file("b.bin", vec![2u8; 5 << 20]),
    ];
    let refused = upload::upload(&me, app, big).await;
    assert!(
        matches!(refused, Err(AppsError::Upload(UploadProblem::AppTooLarge))),
        "{refused:?}"
    );

    let many: Vec<_> = (0..498).map(|i| file(&format!("f{i}.txt"), "x")).collect();
    let refused = upload::upload(&me, app, many).await;
    assert!(
        matches!(refused, Err(AppsError::Upload(UploadProblem::TooManyFiles))),
        "{refused:?}"
    );

    let traversal = upload::upload(&me, app, vec![file("../evil.js", "x")]).await;
    assert!(matches!(
        traversal,
        Err(AppsError::Upload(UploadProblem::BadPath))
    ));
    assert_eq!(
        rows(&w, "app_files", ada).await,
        before,
        "nothing half-written"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn all_of_an_accounts_apps_weigh_at_most_100_mb(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let me = w.as_owner(ada);
    let chunk = vec![7u8; 10_000_000];
    for n in 0..10 {
        let app = service::create(
            &me,
            Details::parse(&format!("App {n}"), "").unwrap(),
            service::Start::Empty,
        )
        .await
        .unwrap();
        upload::upload(&me, app, vec![file("data.bin", chunk.clone())])
            .await
            .unwrap();
    }
    let last = service::create(
        &me,
        Details::parse("One more", "").unwrap(),
        service::Start::Empty,
    )
    .await
    .unwrap();
    let refused = upload::upload(&me, last, vec![file("data.bin", vec![1u8; 5 << 20])]).await;
    assert!(
        matches!(
            refused,
            Err(AppsError::Upload(UploadProblem::AccountTooLarge))
        ),
        "{refused:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn another_tenant_cannot_see_or_change_an_app_even_knowing_its_id(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let bob = w.sign_up(BOB).await;
    let app = starter_app(&w, ada).await;
    let bob_me = w.as_owner(bob);
    let details = || Details::parse("Stolen", "").unwrap();
    assert!(matches!(
        service::detail(&bob_me, app).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(matches!(
        service::update(&bob_me, app, details(), vec![]).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(matches!(
        service::trash(&bob_me, app).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(matches!(
        service::frame(&bob_me, app).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(matches!(
        upload::upload(&bob_me, app, vec![file("index.html", "pwned")]).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(matches!(
        upload::delete_file(&bob_me, app, "index.html").await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(matches!(
        service::links::create(&bob_me, app, "mine", Default::default(), None).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(matches!(
        service::links::revoke(&bob_me, app, None).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(service::list(&bob_me).await.unwrap().is_empty());
    let unknown = AppId::random();
    assert!(matches!(
        service::detail(&w.as_owner(ada), unknown).await,
        Err(AppsError::NoSuchApp)
    ));
    let detail = service::detail(&w.as_owner(ada), app).await.unwrap();
    assert_eq!(detail.summary.name, "My app");
    assert_eq!(detail.files.len(), 3);
}
