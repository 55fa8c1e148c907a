//! The confirmation a page shows after a redirect: `?notice=code`, looked up among the notices
//! every area declares (the app's `Catalog`), so a page can show another area's confirmation.

use leptos::prelude::*;

use super::url::query_value;
use crate::platform::area::Catalog;

/// The confirmation named by the page's `?notice=`, if any area declares it.
pub fn query_notice() -> Signal<Option<String>> {
    let catalog = use_context::<Catalog>().unwrap_or_default();
    let code = query_value("notice");
    Signal::derive(move || {
        code.get()
            .and_then(|code| catalog.notice(&code))
            .map(str::to_owned)
    })
}
