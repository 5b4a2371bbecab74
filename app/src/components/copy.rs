use leptos::prelude::*;

/// Copies the value of the input with id `input_id` with the Clipboard API. Where the
/// clipboard is unavailable (a page served over plain http, an old browser, a denied
/// permission), it selects the text in the input so the person can copy it by hand, and says
/// so. It reads the input rather than taking the text, so the secret is on the page once.
#[component]
pub fn CopyButton(input_id: &'static str) -> impl IntoView {
    let status = RwSignal::new(String::new());
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Some(input) = find_input(input_id) else {
                return;
            };
            let copied = write_clipboard(&input.value()).await;
            if !copied {
                let _ = input.focus();
                input.select();
            }
            status.set(if copied {
                "Copied to the clipboard.".to_owned()
            } else {
                "Copying isn't available here. The password is selected: copy it with Ctrl+C (or ⌘C), or long-press and choose Copy.".to_owned()
            });
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (input_id, status);
    };
    view! {
        <button type="button" class="button" on:click=copy>"Copy"</button>
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

#[cfg(feature = "hydrate")]
fn find_input(id: &str) -> Option<web_sys::HtmlInputElement> {
    use wasm_bindgen::JsCast;
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
}
