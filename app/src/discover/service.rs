//! Discover's server side: the gallery read across every region's database through the
//! published-apps policy only, one app's public page, and remixing. A search is bounded and
//! escaped, so that its `%`, `_` and `\` match themselves.

use thiserror::Error;

use super::model::{
    GalleryPage, Listing, PublicApp, GALLERY, LAST_PAGE, PAGE_SIZE, SEARCH_CHARS,
};
use crate::{
    apps::{
        model::AppPath,
        service::{
            capability::Viewer, create, frame_for, publish, upload::Unpacked, AppsError, Details,
            Start,
        },
        store::published::Listed,
    },
    platform::{
        clock::to_minute,
        context::SignedIn,
        error::{infra_conversions, InfraError},
        ids::AppId,
        state::AppState,
    },
    ui::FormError,
};

#[derive(Debug, Error)]
pub enum DiscoverError {
    #[error("Search with {SEARCH_CHARS} characters or fewer.")]
    Search,
    #[error("Pages are numbered from 1 to {LAST_PAGE}.")]
    Page,
    #[error("There is no such app on Discover: it was never published, or its owner took it down.")]
    NoSuchApp,
    #[error("Its owner does not allow remixing this app.")]
    NoRemix,
    #[error(transparent)]
    Apps(#[from] AppsError),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(DiscoverError);

impl From<DiscoverError> for FormError {
    fn from(error: DiscoverError) -> Self {
        match error {
            DiscoverError::Search => FormError::field("q", error.to_string()),
            DiscoverError::Apps(apps) => apps.into(),
            DiscoverError::Infra(infra) => infra.into(),
            refusal => FormError::Page(refusal.to_string()),
        }
    }
}

/// A search as typed, checked once: trimmed, without control characters, at most
/// `SEARCH_CHARS` long.
pub struct Search(String);

impl Search {
    pub fn parse(text: &str) -> Result<Self, DiscoverError> {
        let text: String = text.trim().chars().filter(|c| !c.is_control()).collect();
        if text.chars().count() > SEARCH_CHARS {
            return Err(DiscoverError::Search);
        }
        Ok(Self(text))
    }

    /// The LIKE pattern that finds the text anywhere, its own wildcards escaped; None for an
    /// empty search.
    pub fn pattern(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut pattern = String::from("%");
        for c in self.0.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        Some(pattern)
    }
}

/// The page number a query names: 1 when absent.
pub fn page_number(text: Option<&str>) -> Result<usize, DiscoverError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(1),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|page| (1..=LAST_PAGE).contains(page))
            .ok_or(DiscoverError::Page),
    }
}

fn listing(listed: Listed) -> Listing {
    Listing {
        id: listed.id,
        name: listed.name,
        description: listed.description,
        author: listed.published_author,
        published: listed.published_at.date().to_string(),
        remix_allowed: listed.remix_allowed,
    }
}

/// Page `page` of the published apps matching `search`, the newest first.
pub async fn gallery(
    state: &AppState,
    search: &Search,
    page: usize,
) -> Result<GalleryPage, DiscoverError> {
    let skipped = (page - 1) * PAGE_SIZE;
    let limit = i64::try_from(skipped + PAGE_SIZE + 1).unwrap_or(i64::MAX);
    let found = publish::listed(state, search.pattern().as_deref(), limit).await?;
    let has_next = found.len() > skipped + PAGE_SIZE;
    Ok(GalleryPage {
        query: search.0.clone(),
        page,
        listings: found
            .into_iter()
            .skip(skipped)
            .take(PAGE_SIZE)
            .map(listing)
            .collect(),
        has_next,
    })
}

/// A published app's page, its frame opened for anyone.
pub async fn public_app(
    state: &AppState,
    id: AppId,
    signed_in: bool,
) -> Result<PublicApp, DiscoverError> {
    let (listed, _) = publish::published_app(state, id, false)
        .await?
        .ok_or(DiscoverError::NoSuchApp)?;
    let connect_hosts = listed.connect_hosts.clone();
    Ok(PublicApp {
        listing: listing(listed),
        frame: frame_for(state, id, Viewer::Public, state.clock.now()),
        connect_hosts,
        signed_in,
    })
}

/// The name of a remix: the original's, marked, within the 80 characters a name may have.
fn remix_name(name: &str) -> String {
    const MARK: &str = " (remix)";
    let kept: String = name.chars().take(80 - MARK.chars().count()).collect();
    format!("{}{MARK}", kept.trim_end())
}

/// Copies a published app's files (never its links, collaborators or secrets) into a new
/// private app of `me`'s, which notes where it came from.
pub async fn remix(me: &SignedIn, id: AppId) -> Result<AppId, DiscoverError> {
    let (listed, contents) = publish::published_app(me.state(), id, true)
        .await?
        .ok_or(DiscoverError::NoSuchApp)?;
    if !listed.remix_allowed {
        return Err(DiscoverError::NoRemix);
    }
    let files = contents
        .into_iter()
        .filter_map(|(path, _, bytes)| {
            AppPath::parse(&path).ok().map(|path| Unpacked { path, bytes })
        })
        .collect();
    // The app and where it was, not its author's name: the copy is the remixer's data.
    let from = format!(
        "\u{201c}{}\u{201d}, {GALLERY}/{id}, as published on {}",
        listed.name,
        to_minute(listed.published_at)
    );
    let details = Details::parse(&remix_name(&listed.name), &listed.description)?;
    Ok(create(me, details, Start::Remix { from, files }).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_matches_its_wildcards_literally() {
        let pattern = |text: &str| Search::parse(text).unwrap().pattern();
        assert_eq!(pattern("  "), None);
        assert_eq!(pattern("weather").as_deref(), Some("%weather%"));
        assert_eq!(pattern("100%").as_deref(), Some("%100\\%%"));
        assert_eq!(pattern("a_b").as_deref(), Some("%a\\_b%"));
        assert_eq!(pattern("c:\\dir").as_deref(), Some("%c:\\\\dir%"));
        assert_eq!(pattern("x'; DROP TABLE apps;--").as_deref(), Some("%x'; DROP TABLE apps;--%"));
        assert_eq!(pattern("tab\there").as_deref(), Some("%tabhere%"));
        assert!(Search::parse(&"a".repeat(SEARCH_CHARS)).is_ok());
        assert!(matches!(Search::parse(&"a".repeat(SEARCH_CHARS + 1)), Err(DiscoverError::Search)));
    }

    #[test]
    fn page_numbers_are_bounded() {
        assert_eq!(page_number(None).unwrap(), 1);
        assert_eq!(page_number(Some("")).unwrap(), 1);
        assert_eq!(page_number(Some("3")).unwrap(), 3);
        for bad in ["0", "-1", "501", "99999999999999999999999", "two", "1.5"] {
            assert!(page_number(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_remix_is_named_within_the_limit() {
        assert_eq!(remix_name("Weather"), "Weather (remix)");
        assert_eq!(remix_name(&"x".repeat(80)).chars().count(), 80);
    }
}
