//! Forms in the rows of a long list (the app passwords) as plain markup. Each
//! posts to its server function, so it works before the WebAssembly; once hydrated, one listener
//! on the list dispatches it, as `ActionForm` does for a single form. A component per row (an
//! `ActionForm`, a router `Form`) made Security info's server render with 40 app passwords
//! about twice as slow as its markup alone (BENCHMARKS.md).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The submit listener of a list whose rows hold forms posting to `F`: a row's submission
/// becomes a dispatch of `action`. Other forms in the list (dialog openers) are left alone,
/// and so is a submission whose fields do not read as `F` (the browser then posts it, and the
/// server function answers).
pub fn dispatch_row_forms<F>(action: ServerAction<F>) -> impl Fn(leptos::ev::SubmitEvent) + 'static
where
    F: ServerFn + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    F::Output: Send + Sync + 'static,
    F::Error: Send + Sync + 'static,
{
    move |event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::form::FromFormData;
            use wasm_bindgen::JsCast;
            if event.default_prevented() {
                return;
            }
            let posts_to_action = event
                .target()
                .and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok())
                .is_some_and(|form| form.action().ends_with(F::PATH));
            if let (true, Ok(input)) = (posts_to_action, F::from_event(&event)) {
                event.prevent_default();
                action.dispatch(input);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (event, action);
    }
}
