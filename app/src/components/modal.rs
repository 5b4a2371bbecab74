use leptos::prelude::*;

/// A modal dialog on the native `<dialog>` element, rendered open by the server when the page's
/// URL or a form post asks for it. Its [`ModalBehaviour`] island makes it modal once the
/// WebAssembly is there (`showModal()`: focus moves inside and stays there, Esc closes, the page
/// behind is hidden from screen readers). Closing it in any way follows its close link (×).
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
    view! {
        <dialog class="modal" id=id aria-labelledby=labelled_by open=true>
            <div class="modal-header">
                <h2 id=heading_id>{title}</h2>
                <a href=close_href role="button" class="icon-button" aria-label="Close" data-close="">"×"</a>
            </div>
            {children()}
            <ModalBehaviour/>
        </dialog>
    }
}

/// Makes the server-rendered open `<dialog>` around it modal, and turns closing it by Esc into
/// following its close link, so the page underneath is the one without the dialog.
#[island]
pub fn ModalBehaviour() -> impl IntoView {
    let marker = NodeRef::<leptos::html::Span>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move || {
        use wasm_bindgen::JsCast;
        let Some(dialog) = marker
            .get()
            .and_then(|marker| marker.closest("dialog").ok().flatten())
            .and_then(|dialog| dialog.dyn_into::<web_sys::HtmlDialogElement>().ok())
        else {
            return;
        };
        if dialog.open() && !dialog.matches(":modal").unwrap_or(false) {
            // Removing the attribute hides it without a close event; then show it as modal.
            let _ = dialog.remove_attribute("open");
            // Fails only if the element is detached; then there is nothing to show.
            let _ = dialog.show_modal();
        }
        let closed = dialog.clone();
        let follow_close_link = wasm_bindgen::closure::Closure::once_into_js(move || {
            // A dialog removed by a navigation is no longer connected: nothing to follow. And
            // when a link was followed meanwhile (the page script marks the document busy while
            // it fetches), that one wins: the close event may come after a quick click.
            let navigating = closed
                .owner_document()
                .and_then(|document| document.document_element())
                .is_some_and(|root| root.has_attribute("aria-busy"));
            if closed.is_connected()
                && !navigating
                && let Ok(Some(link)) = closed.query_selector("[data-close]")
                && let Ok(link) = link.dyn_into::<web_sys::HtmlElement>()
            {
                link.click();
            }
        });
        let _ = dialog.add_event_listener_with_callback("close", follow_close_link.unchecked_ref());
    });
    view! { <span node_ref=marker hidden></span> }
}
