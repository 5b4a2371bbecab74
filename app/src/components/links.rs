//! Controls that open a dialog or leave one. A dialog is part of the page's URL (`?add=method`,
//! `?delete=7`, ...), so Back and Forward open and close it and it works before the WebAssembly:
//! openers are buttons in small GET forms (hydrated, a client-side navigation to the same URL:
//! [`GetFormsNavigate`]), and the ways back (Cancel, No, Done) are links to the page
//! without the dialog.

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
    dialog_opener(page, dialog, class, label, children())
}

/// [`OpenDialog`] as plain markup, for the rows of a list: a small GET form whose fields are
/// the dialog's query. The browser asks for that URL; hydrated, [`GetFormsNavigate`] makes it a
/// client-side navigation. No component per row: a server render of a list pays only for
/// its markup.
pub fn dialog_opener(
    page: Page,
    dialog: SecurityInfoDialog,
    class: &'static str,
    label: Option<String>,
    content: impl IntoView,
) -> impl IntoView {
    let fields = query_pairs(&SecurityInfoQuery {
        dialog: Some(dialog),
    });
    view! {
        <form method="get" action=page.path() class="inline-form">
            {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            <button type="submit" class=class aria-label=label>{content}</button>
        </form>
    }
}

/// Hydrated, the submission of any GET form (a dialog opener, the console's search, the
/// sign-in name) becomes a client-side navigation to the URL the browser itself would load, as
/// the router does for a link. One listener for the document, so GET forms stay plain markup
/// (`leptos_router`'s `Form` per dialog opener was a tenth of Security info's server render
/// with 40 app passwords). A form whose own handler took the submission is left alone.
#[component]
pub fn GetFormsNavigate() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let navigate = leptos_router::hooks::use_navigate();
        let listener = window_event_listener(leptos::ev::submit, move |event| {
            if let Some(url) = get_form_url(&event) {
                event.prevent_default();
                navigate(&url, Default::default());
            }
        });
        on_cleanup(move || listener.remove());
    }
}

/// Where a same-origin GET form's submission leads (path and query), if `event` is one that
/// no handler has taken.
#[cfg(feature = "hydrate")]
fn get_form_url(event: &leptos::ev::SubmitEvent) -> Option<String> {
    use wasm_bindgen::JsCast;
    use web_sys::{FormData, HtmlFormElement, Url, UrlSearchParams};
    if event.default_prevented() {
        return None;
    }
    let form = event.target()?.dyn_into::<HtmlFormElement>().ok()?;
    if !form.method().eq_ignore_ascii_case("get") {
        return None;
    }
    let action = Url::new(&form.action()).ok()?;
    if action.origin() != window().location().origin().ok()? {
        return None;
    }
    // The fields as the browser would send them: a named submit button counts, a nameless
    // one does not.
    let fields = FormData::new_with_form(&form).ok()?;
    if let Some(button) = event.submitter()
        && let Some(name) = button.get_attribute("name").filter(|name| !name.is_empty())
    {
        let value = button.get_attribute("value").unwrap_or_default();
        fields.append_with_str(&name, &value).ok()?;
    }
    let query = UrlSearchParams::new_with_str_sequence_sequence(&fields)
        .ok()?
        .to_string()
        .as_string()
        .unwrap_or_default();
    Some(if query.is_empty() {
        action.pathname()
    } else {
        format!("{}?{query}", action.pathname())
    })
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
            <SubmitButton pending=pending>{submit}</SubmitButton>
        </div>
    }
}

/// A form's submit button that sends once: while its call is on its way it says so
/// (`aria-disabled`, dimmed) and ignores more presses. A second tap, a second Enter in a field
/// or on the button would send the change twice (two sets of recovery codes; an app password
/// refused as a duplicate, hiding the one just shown). Enter in a field submits by clicking
/// the form's first submit button, so refusing the click covers the keyboard too. Not
/// `disabled`: that would drop it from the keyboard's order and lose focus mid-call.
#[component]
pub fn SubmitButton(
    #[prop(into)] pending: Signal<bool>,
    #[prop(default = "button primary")] class: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <button type="submit" class=class aria-disabled=move || pending.get().to_string()
            on:click=move |event| {
                if pending.get_untracked() {
                    event.prevent_default();
                }
            }>
            {children()}
        </button>
    }
}
