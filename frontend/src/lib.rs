//! The browser entry point: hydrates the server-rendered page.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy: a route's code may arrive as its own chunk, which hydration waits for.
    leptos::mount::hydrate_lazy(app::App);
}
