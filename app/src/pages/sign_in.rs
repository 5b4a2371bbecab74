use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Sign-in in the familiar two steps: the sign-in name first, then the password.
#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let just_set_up = move || query.read().get("setup").as_deref() == Some("done");
    let username = RwSignal::new(String::new());
    let step_password = RwSignal::new(false);

    view! {
        <leptos_meta::Title text="Sign in"/>
        <main class="centered-page">
            <section class="card" aria-labelledby="signin-heading">
                <p class="brand">"Latchkey"</p>
                <Show when=just_set_up>
                    <p class="notice success" role="status">
                        "Latchkey is set up. Sign in with the administrator account you just created."
                    </p>
                </Show>
                <Show
                    when=move || step_password.get()
                    fallback=move || {
                        view! {
                            <h1 id="signin-heading">"Sign in"</h1>
                            <form
                                class="stack"
                                on:submit=move |ev| {
                                    ev.prevent_default();
                                    if !username.get_untracked().trim().is_empty() {
                                        step_password.set(true);
                                    }
                                }
                            >
                                <div class="field">
                                    <label for="username">"Sign-in name"</label>
                                    <input
                                        id="username"
                                        name="username"
                                        type="email"
                                        autocomplete="username"
                                        placeholder="someone@example.org"
                                        required
                                        prop:value=move || username.get()
                                        on:input=move |ev| username.set(event_target_value(&ev))
                                    />
                                </div>
                                <button type="submit" class="button primary">"Next"</button>
                            </form>
                        }
                    }
                >
                    <button type="button" class="link back" on:click=move |_| step_password.set(false)>
                        <span aria-hidden="true">"← "</span>
                        {move || username.get()}
                    </button>
                    <h1 id="signin-heading">"Enter password"</h1>
                    <form class="stack" method="post" action="/signin">
                        <input type="hidden" name="username" prop:value=move || username.get()/>
                        <div class="field">
                            <label for="password">"Password"</label>
                            <input id="password" name="password" type="password" autocomplete="current-password" required/>
                        </div>
                        <button type="submit" class="button primary">"Sign in"</button>
                    </form>
                </Show>
            </section>
        </main>
    }
}
