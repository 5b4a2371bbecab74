//! The modal dialog every page uses, server-rendered open and made modal once hydrated.

use leptos::prelude::*;

/// A modal dialog on the native `<dialog>` element. The server renders it open (the page's URL
/// asks for it), so it works before the WebAssembly; once hydrated it is made modal with
/// `showModal()` (focus moves inside and stays there, Esc closes it, the page behind is hidden
/// from screen readers). Closing it by Esc leads to `close_href`, the page without it; when it
/// goes because the URL changed (Cancel, Done), focus returns to what opened it.
#[component]
pub fn Modal(
    /// Heading text; also the dialog's accessible name.
    #[prop(into)]
    title: String,
    /// A stable id prefix for the dialog's heading.
    id: &'static str,
    /// Where closing the dialog leads: the page without it.
    #[prop(into)]
    close_href: String,
    children: Children,
) -> impl IntoView {
    let heading_id = format!("{id}-title");
    let labelled_by = heading_id.clone();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    #[cfg(feature = "hydrate")]
    let on_close = behave_as_modal(dialog, close_href.clone());
    #[cfg(not(feature = "hydrate"))]
    let on_close = |_: leptos::ev::Event| {};
    view! {
        <dialog class="modal" id=id aria-labelledby=labelled_by open=true node_ref=dialog on:close=on_close>
            <div class="modal-header">
                <h2 id=heading_id>{title}</h2>
                <a href=close_href class="icon-button" aria-label="Close">"×"</a>
            </div>
            {children()}
        </dialog>
    }
}

/// Makes the dialog modal once it is in the page; a close (Esc) leads to `close_href` unless the
/// dialog is going anyway because the URL changed, or is open again because it was redrawn.
/// Returns the `close` event handler.
#[cfg(feature = "hydrate")]
fn behave_as_modal(
    dialog: NodeRef<leptos::html::Dialog>,
    close_href: String,
) -> impl Fn(leptos::ev::Event) + 'static {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let navigate = leptos_router::hooks::use_navigate();
    // Set when the dialog goes with its page state: its close event must not navigate again.
    let leaving = Arc::new(AtomicBool::new(false));
    let shown = Arc::new(std::sync::Mutex::new(None));
    dialog.on_load({
        let shown = shown.clone();
        move |element: web_sys::HtmlDialogElement| {
            if let Ok(mut shown) = shown.lock() {
                *shown = Some(send_wrapper::SendWrapper::new(element.clone()));
            }
            show_as_modal(element, 60);
        }
    });
    on_cleanup({
        let leaving = leaving.clone();
        move || {
            leaving.store(true, Ordering::Relaxed);
            // Closing gives focus back to what opened the dialog (the browser remembers it).
            if let Some(element) = shown.lock().ok().and_then(|mut shown| shown.take()) {
                element.close();
            }
        }
    });
    move |event: leptos::ev::Event| {
        // A page that draws the dialog again (its list was read again behind it) rebuilds it
        // in place: the old drawing's cleanup closed the element and the new one opened it
        // again, so the close event that arrives now is stale.
        let open_again = event
            .target()
            .and_then(|target| {
                wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlDialogElement>(target).ok()
            })
            .is_some_and(|element| element.open());
        if !leaving.load(Ordering::Relaxed) && !open_again {
            // Replacing the dialog's history entry: Back does not open it again. (A push is
            // also lost after Forward, as the router keeps its stack.)
            let options = leptos_router::NavigateOptions {
                replace: true,
                ..Default::default()
            };
            navigate(&close_href, options);
        }
    }
}

/// Shows `element` as a modal dialog once it is in the document: a page drawn by a client-side
/// navigation is built before it is placed (checked each frame, for at most `frames`), and
/// `showModal()` fails on a detached element.
#[cfg(feature = "hydrate")]
fn show_as_modal(element: web_sys::HtmlDialogElement, frames: u32) {
    if element.is_connected() {
        if !element.matches(":modal").unwrap_or(false) {
            // Removing the attribute hides it without a close event; then show it as modal.
            let _ = element.remove_attribute("open");
            let _ = element.show_modal();
        }
    } else if frames > 0 {
        request_animation_frame(move || show_as_modal(element, frames - 1));
    }
}
