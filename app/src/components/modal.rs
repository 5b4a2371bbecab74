use leptos::prelude::*;

/// A modal dialog on the native `<dialog>` element: opened with `showModal()`, it moves focus
/// inside, keeps it there, closes on Esc and hides the page from screen readers. `open` is both
/// the switch and what closing by any means (Esc, the × button) sets back to false.
#[component]
pub fn Modal(
    open: RwSignal<bool>,
    /// Heading text; also the dialog's accessible name.
    #[prop(into)]
    title: Signal<String>,
    /// A stable id prefix for the dialog's heading.
    id: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let Some(element) = dialog.get() else { return };
        if open.get() {
            // Rendered open by the server (before the WebAssembly loaded) it is a plain open
            // dialog; make it modal. Removing the attribute hides it without a close event.
            if element.open() && !element.matches(":modal").unwrap_or(false) {
                let _ = element.remove_attribute("open");
            }
            if !element.open() {
                // Fails only if the element is detached; then there is nothing to show.
                let _ = element.show_modal();
            }
        } else if element.open() {
            element.close();
        }
    });
    let heading_id = format!("{id}-title");
    let labelled_by = heading_id.clone();
    view! {
        // Starts with the `open` attribute when it should be visible without the WebAssembly.
        <dialog
            node_ref=dialog
            class="modal"
            id=id
            aria-labelledby=labelled_by
            open=open.get_untracked()
            on:close=move |_| open.set(false)
        >
            <div class="modal-header">
                <h2 id=heading_id>{move || title.get()}</h2>
                <a href="?" role="button" class="icon-button" aria-label="Close" on:click=move |ev| {
                    ev.prevent_default();
                    open.set(false);
                }>
                    "×"
                </a>
            </div>
            <Show when=move || open.get()>{children()}</Show>
        </dialog>
    }
}
