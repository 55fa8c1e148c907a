//! First-party analytics (promise P6): a page-view counter per page and day. It stores no
//! person, browser, address or time of day, and counts only visits with analytics consent and
//! without Global Privacy Control (the middleware decides; this only counts). Views are counted
//! per route ("/policies/{document}"), never per address typed, so made-up addresses add no
//! rows.

use std::sync::Arc;

use sqlx::PgPool;
use time::Date;

use super::PrivacyError;

/// The site's pages as route patterns; a segment in braces matches any one segment.
#[derive(Clone)]
pub struct PageRoutes(Arc<[String]>);

impl PageRoutes {
    pub fn new(patterns: impl IntoIterator<Item = String>) -> Self {
        Self(patterns.into_iter().collect())
    }

    /// The pattern `path` is an address of, if any.
    pub fn route_of(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .find(|pattern| {
                let parts: Vec<&str> = pattern.split('/').collect();
                parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(part, segment)| {
                        if part.starts_with('{') || part.starts_with(':') {
                            !segment.is_empty()
                        } else {
                            part == segment
                        }
                    })
            })
            .map(String::as_str)
    }
}

/// Adds one view of the page `route` on `day`.
pub async fn count_view(pool: &PgPool, route: &str, day: Date) -> Result<(), PrivacyError> {
    Ok(crate::privacy::store::analytics::count_view(pool, route, day).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_under_their_route_and_unknown_ones_not_at_all() {
        let routes = PageRoutes::new(
            [
                "/",
                "/account",
                "/policies/{document}",
                "/policies/{document}/v/{version}",
            ]
            .map(String::from),
        );
        assert_eq!(routes.route_of("/"), Some("/"));
        assert_eq!(routes.route_of("/account"), Some("/account"));
        assert_eq!(
            routes.route_of("/policies/privacy"),
            Some("/policies/{document}")
        );
        assert_eq!(
            routes.route_of("/policies/x/v/007"),
            Some("/policies/{document}/v/{version}")
        );
        for unknown in [
            "/nowhere",
            "/account/x",
            "/policies",
            "/policies//v/1",
            "/polic%69es/x",
        ] {
            assert_eq!(routes.route_of(unknown), None, "{unknown}");
        }
    }
}
