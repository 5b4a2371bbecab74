//! Controls that open a dialog or leave one. A dialog is part of the page's URL (`?add=method`,
//! `?delete=7`, ...), so Back and Forward open and close it and it works before the WebAssembly:
//! openers are buttons in small GET forms (hydrated, a client-side navigation to the same URL),
//! and the ways back (Cancel, No, Done) are links to the page without the dialog.

use leptos::prelude::*;

use crate::routes::{Page, SecurityInfoDialog, SecurityInfoQuery, query_pairs};

/// A button that opens `dialog` on `page` (Security info or the legacy app-password page).
#[component]
pub fn OpenDialog(
    page: Page,
    dialog: SecurityInfoDialog,
    class: &'static str,
    /// The accessible name when the visible text is not enough ("Delete" of what).
    #[prop(optional, into)]
    label: Option<String>,
    children: Children,
) -> impl IntoView {
    let href = dialog.on(page);
    // Without the WebAssembly the form itself asks for that URL: the query, field by field.
    let fields = query_pairs(&SecurityInfoQuery {
        dialog: Some(dialog),
    });
    // Hydrated, the submission becomes a client-side navigation to exactly that URL.
    let navigate = leptos_router::hooks::use_navigate();
    let open = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        navigate(&href, Default::default());
    };
    view! {
        <form method="get" action=page.path() class="inline-form" on:submit=open>
            {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            <button type="submit" class=class aria-label=label>{children()}</button>
        </form>
    }
}

/// A link out of a dialog (Cancel, No, Done): to the page without it.
#[component]
pub fn DialogBack(
    #[prop(into)] href: String,
    #[prop(default = "button")] class: &'static str,
    children: Children,
) -> impl IntoView {
    view! { <a href=href class=class>{children()}</a> }
}

/// A dialog form's buttons: the way back (a link: Cancel, No) and the submit button.
#[component]
pub fn DialogActions(
    #[prop(into)] back: String,
    back_label: &'static str,
    submit: &'static str,
    /// The call is on its way: the submit button says so and ignores more clicks.
    #[prop(optional, into)]
    pending: Signal<bool>,
) -> impl IntoView {
    view! {
        <div class="modal-actions">
            <DialogBack href=back>{back_label}</DialogBack>
            <button type="submit" class="button primary" aria-disabled=move || pending.get().to_string()>{submit}</button>
        </div>
    }
}
