//! Reading the page's address.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A value from the page's query string.
pub fn query_value(key: &'static str) -> Signal<Option<String>> {
    let query = use_query_map();
    Signal::derive(move || query.read().get(key))
}
