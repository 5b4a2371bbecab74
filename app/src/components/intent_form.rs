use leptos::prelude::*;

/// A form that posts `intent` (and its fields) to `page`, whose server answers with the page at
/// the outcome (`server::http::handle_page_form`).
#[component]
pub fn IntentForm(
    page: &'static str,
    intent: &'static str,
    #[prop(optional)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <form class=class method="post" action=page>
            <input type="hidden" name="intent" value=intent/>
            {children()}
        </form>
    }
}

/// A link that looks and acts like a button (Cancel, Done, Close): it leads to the page in the
/// state the button stands for.
#[component]
pub fn ButtonLink(
    #[prop(into)] href: String,
    class: &'static str,
    children: Children,
) -> impl IntoView {
    view! { <a href=href class=class role="button">{children()}</a> }
}

/// A dialog form's buttons: the way back (a link: Cancel, No) and the submit button.
#[component]
pub fn DialogActions(
    #[prop(into)] back: String,
    back_label: &'static str,
    submit: &'static str,
) -> impl IntoView {
    view! {
        <div class="modal-actions">
            <ButtonLink href=back class="button">{back_label}</ButtonLink>
            <button type="submit" class="button primary">{submit}</button>
        </div>
    }
}
