//! Form fields: a labelled input with its error message, and the one-time-code input.

use leptos::prelude::*;

/// A labelled input with its error message, wired for screen readers.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(into)] id: String,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] inputmode: &'static str,
    #[prop(optional)] autofocus: bool,
    #[prop(optional, into)] value: Option<String>,
    /// Called with the value as the person types.
    #[prop(optional, into)]
    on_input: Option<Callback<String>>,
    /// What is wrong with the value, from the server's answer to the form.
    #[prop(optional, into)]
    error: MaybeProp<String>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                type=input_type
                id=id
                name=name
                autocomplete=autocomplete
                placeholder=(!placeholder.is_empty()).then_some(placeholder)
                inputmode=(!inputmode.is_empty()).then_some(inputmode)
                autocapitalize=(inputmode == "email").then_some("none")
                spellcheck=(inputmode == "email").then_some("false")
                autofocus=autofocus
                value=value
                aria-describedby=error_id.clone()
                aria-invalid=move || error.get().is_some().to_string()
                on:input=move |ev| {
                    if let Some(on_input) = on_input {
                        on_input.run(event_target_value(&ev));
                    }
                }
            />
            <p id=error_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// The authenticator app's code, as every "confirm it's you" form asks for it, with the way
/// on for a person who no longer has the app (a lost phone).
#[component]
pub fn CodeField(
    #[prop(into)] id: String,
    #[prop(optional, into)] error: MaybeProp<String>,
) -> impl IntoView {
    view! {
        <Field label="Code from your authenticator app" name="code" id=id
            autocomplete="one-time-code" inputmode="numeric" error=error/>
        <p class="hint">
            "No access to your authenticator app? Sign out, then sign in again with a recovery code: for 10 minutes after, nothing asks for this code."
        </p>
    }
}
