//! Form fields: a labelled input with its error message, and the one-time-code input.

use leptos::prelude::*;

/// A labelled input with its error message, wired for screen readers.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    id: &'static str,
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
            <label for=id>{label}</label>
            <input
                type=input_type
                id=id
                name=name
                autocomplete=autocomplete
                placeholder=(!placeholder.is_empty()).then_some(placeholder)
                inputmode=(!inputmode.is_empty()).then_some(inputmode)
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

/// The authenticator app's code, as every "confirm it's you" form asks for it.
#[component]
pub fn CodeField(
    id: &'static str,
    #[prop(optional, into)] error: MaybeProp<String>,
) -> impl IntoView {
    view! {
        <Field label="Code from your authenticator app" name="code" id=id
            autocomplete="one-time-code" inputmode="numeric" error=error/>
    }
}
