//! Controls that open a dialog or leave one. A dialog is part of the page's URL (`?add=method`,
//! `?delete=7`, ...), so Back and Forward open and close it and it works before the WebAssembly:
//! openers are buttons in small GET forms (`leptos_router`'s `Form`: hydrated, a client-side
//! navigation to the same URL), and the ways back (Cancel, No, Done) are links to the page
//! without the dialog.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::components::Form;

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
    // The query, field by field: the browser asks for that URL, and once hydrated the
    // router's `Form` navigates to it client-side.
    let fields = query_pairs(&SecurityInfoQuery {
        dialog: Some(dialog),
    });
    view! {
        <GetForm action=page.path() attr:class="inline-form">
            {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            <button type="submit" class=class aria-label=label>{children()}</button>
        </GetForm>
    }
}

/// A GET form (its fields are the query of `action`): `leptos_router`'s `Form`, so that once
/// hydrated a submission is a client-side navigation to the URL the browser itself would load.
/// Leptos 0.8 adds the submit button to the query even when it has no name (`?q=x&=`), which
/// a browser does not: that empty pair is taken out first.
#[component]
pub fn GetForm(action: &'static str, children: Children) -> impl IntoView {
    let without_nameless_button: Arc<dyn Fn(&leptos::web_sys::FormData)> =
        Arc::new(|fields| fields.delete(""));
    view! {
        <Form method="get" action=action on_form_data=without_nameless_button>
            {children()}
        </Form>
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
