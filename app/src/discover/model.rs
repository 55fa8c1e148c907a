//! Discover's types shared by the pages and the server, and its rules: what a search may be,
//! how many apps a page lists, and which requests may be cached.

use serde::{Deserialize, Serialize};

use crate::platform::ids::AppId;

pub const GALLERY: &str = "/discover";
/// Apps listed per page.
pub const PAGE_SIZE: usize = 20;
/// The last page a visitor may ask for (2,000 apps deep): deeper reads cost more than they
/// show; a search narrows the gallery instead.
pub const LAST_PAGE: usize = 100;
/// The longest search, in characters.
pub const SEARCH_CHARS: usize = 100;

/// Whether `path` is one of Discover's pages, which an anonymous visitor's cache may keep for
/// `DISCOVER_CACHE_SECONDS`.
pub fn is_gallery_path(path: &str) -> bool {
    path == GALLERY || path.strip_prefix(GALLERY).is_some_and(|rest| rest.starts_with('/'))
}

/// The page of one published app.
pub fn app_page(app: AppId) -> String {
    format!("{GALLERY}/{app}")
}

/// The gallery page `page` of the search `query`, as an address.
pub fn gallery_page(query: &str, page: usize) -> String {
    let mut address = if query.is_empty() {
        String::new()
    } else {
        format!("?q={}", crate::ui::percent_encode(query))
    };
    if page > 1 {
        address.push_str(if address.is_empty() { "?" } else { "&" });
        address.push_str(&format!("page={page}"));
    }
    format!("{GALLERY}{address}")
}

/// A published app in the gallery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub id: AppId,
    pub name: String,
    pub description: String,
    /// The author name its owner published with.
    pub author: String,
    /// The day it was published.
    pub published: String,
    pub remix_allowed: bool,
}

/// One page of the gallery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GalleryPage {
    pub query: String,
    pub page: usize,
    pub listings: Vec<Listing>,
    pub has_next: bool,
}

/// One published app's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicApp {
    pub listing: Listing,
    /// The frame's address on the app's own origin.
    pub frame: String,
    pub connect_hosts: Vec<String>,
    /// Whether the visitor is signed in (and so could remix it).
    pub signed_in: bool,
}
