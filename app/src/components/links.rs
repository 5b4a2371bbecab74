//! Controls that open a dialog or leave one. A dialog is part of the page's URL (`?add=method`,
//! `?delete=7`, ...), so Back and Forward open and close it and it works before the WebAssembly:
//! openers are buttons in small GET forms (hydrated, a client-side navigation to the same URL),
//! and the ways back (Cancel, No, Done) are links to the page without the dialog.

use leptos::prelude::*;

/// A button that opens the dialog `key=value` on `page`.
#[component]
pub fn OpenDialog(
    page: &'static str,
    key: &'static str,
    #[prop(into)] value: String,
    class: &'static str,
    /// The accessible name when the visible text is not enough ("Delete" of what).
    #[prop(optional, into)]
    label: Option<String>,
    /// `then=create`: a deletion asked from the app-password limit prompt goes back there.
    #[prop(optional)]
    then_create: bool,
    children: Children,
) -> impl IntoView {
    let href = format!(
        "{page}?{key}={}{}",
        crate::account::urlencode(&value),
        if then_create { "&then=create" } else { "" }
    );
    // Hydrated, the submission becomes a client-side navigation to exactly that URL.
    let navigate = leptos_router::hooks::use_navigate();
    let open = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        navigate(&href, Default::default());
    };
    view! {
        <form method="get" action=page class="inline-form" on:submit=open>
            <input type="hidden" name=key value=value/>
            {then_create.then(|| view! { <input type="hidden" name="then" value="create"/> })}
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
