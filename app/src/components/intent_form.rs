use leptos::prelude::*;

/// A form that works both ways: before the WebAssembly loads it posts `intent` (and its fields)
/// to `page`, whose server answers with the page at the outcome; once hydrated, `submit` runs
/// instead (a server action) and the page stays.
#[component]
pub fn IntentForm(
    page: &'static str,
    intent: &'static str,
    #[prop(optional)] class: Option<&'static str>,
    submit: Callback<()>,
    children: Children,
) -> impl IntoView {
    view! {
        <form
            class=class
            method="post"
            action=page
            on:submit=move |ev| {
                ev.prevent_default();
                submit.run(());
            }
        >
            <input type="hidden" name="intent" value=intent/>
            {children()}
        </form>
    }
}
