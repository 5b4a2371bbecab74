//! "Copy" for a secret shown once (a new app password, a one-time link), with a way to copy
//! by hand where the clipboard is unavailable.

use leptos::prelude::*;

/// Copies the value of the input (or text area) with id `input_id` with the Clipboard API.
/// Where the clipboard is unavailable (a page served over plain http, an old browser, a denied
/// permission), it selects the text in the field so the person can copy it by hand, and says
/// so (`selected` names what is selected). It reads the field rather than taking the text, so
/// the secret is on the page once.
#[component]
pub fn CopyButton(
    input_id: &'static str,
    #[prop(default = "The password is selected")] selected: &'static str,
) -> impl IntoView {
    let status = RwSignal::new(String::new());
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Some(field) = TextField::find(input_id) else {
                return;
            };
            let copied = write_clipboard(&field.value()).await;
            if !copied {
                field.select_all();
            }
            status.set(if copied {
                "Copied to the clipboard.".to_owned()
            } else {
                format!("Copying isn't available here. {selected}: copy with Ctrl+C (or ⌘C), or long-press and choose Copy.")
            });
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (input_id, selected, status);
    };
    // The step showing the secret replaced the one whose button had focus: a keyboard or
    // screen-reader user lands on the secret, not at the page's start.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        request_animation_frame(move || {
            if let Some(field) = TextField::find(input_id) {
                field.focus();
            }
        });
    });
    // Before the WebAssembly runs (or on a page that answers a plain form post, which it never
    // runs), a Copy button would do nothing: say how to copy by hand instead.
    let running = super::scripts_running();
    view! {
        <Show when=move || running.get()
            fallback=|| view! { <p class="hint">"To copy it, select it, then Ctrl+C (or ⌘C), or long-press and choose Copy."</p> }>
            <button type="button" class="button" on:click=copy>"Copy"</button>
        </Show>
        <p class="hint copy-status" role="status" aria-live="polite">{move || status.get()}</p>
    }
}

#[cfg(feature = "hydrate")]
async fn write_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    // navigator.clipboard exists only in secure contexts (https, localhost).
    if !window.is_secure_context() {
        return false;
    }
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// The field a [`CopyButton`] copies: a one-line input or a text area.
#[cfg(feature = "hydrate")]
enum TextField {
    Input(web_sys::HtmlInputElement),
    Area(web_sys::HtmlTextAreaElement),
}

#[cfg(feature = "hydrate")]
impl TextField {
    fn find(id: &str) -> Option<Self> {
        use wasm_bindgen::JsCast;
        let element = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))?;
        match element.dyn_into::<web_sys::HtmlInputElement>() {
            Ok(input) => Some(Self::Input(input)),
            Err(element) => element
                .dyn_into::<web_sys::HtmlTextAreaElement>()
                .ok()
                .map(Self::Area),
        }
    }

    fn value(&self) -> String {
        match self {
            Self::Input(input) => input.value(),
            Self::Area(area) => area.value(),
        }
    }

    fn focus(&self) {
        let _ = match self {
            Self::Input(input) => input.focus(),
            Self::Area(area) => area.focus(),
        };
    }

    /// Focuses the field and selects all its text, for copying by hand.
    fn select_all(&self) {
        match self {
            Self::Input(input) => {
                let _ = input.focus();
                input.select();
            }
            Self::Area(area) => {
                let _ = area.focus();
                area.select();
            }
        }
    }
}
