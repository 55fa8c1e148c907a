//! `GET /healthz`: whether this server can serve. The directory and the default region are
//! needed by everyone (503 without them); another region's outage affects only its own people,
//! so the server stays in rotation and says which region is degraded.

use app::platform::{db, region::Region, state::AppState};
use axum::{extract::State, http::StatusCode};

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, String) {
    let regions = &state.regions;
    let mut down = Vec::new();
    for (region, pool) in regions.cells() {
        if !db::ping(pool).await {
            down.push(region);
        }
    }
    if !db::ping(regions.directory()).await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "directory unavailable".to_owned(),
        );
    }
    if down.contains(&Region::DEFAULT) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{} unavailable", Region::DEFAULT.label()),
        );
    }
    match down.as_slice() {
        [] => (StatusCode::OK, "ok".to_owned()),
        some => {
            let names: Vec<&str> = some.iter().map(|region| region.label()).collect();
            (
                StatusCode::OK,
                format!("degraded: {} unavailable", names.join(", ")),
            )
        }
    }
}
