//! The legacy "Manage app passwords" page (Additional security verification > app passwords),
//! used when the organization turns the Security info experience off. Same server functions,
//! same rules and the same create steps as Security info.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::app_passwords::{AppPasswordItem, DeleteAppPassword, get_app_passwords};
use crate::components::modal::Modal;
use crate::pages::app_password_flow::AppPasswordSteps;
use crate::pages::profile::ProfileLayout;

#[component]
pub fn LegacyAppPasswordsPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let delete = ServerAction::<DeleteAppPassword>::new();
    let apps = Resource::new(
        move || (refresh.get(), delete.version().get()),
        |_| get_app_passwords(),
    );
    let overview = Signal::derive(move || apps.get().and_then(Result::ok));
    let create_open = RwSignal::new(false);
    let delete_open = RwSignal::new(false);
    let delete_target = RwSignal::new(None::<AppPasswordItem>);
    let request_delete = Callback::new(move |item: AppPasswordItem| {
        delete_target.set(Some(item));
        delete_open.set(true);
    });
    let finish = Callback::new(move |()| create_open.set(false));
    // Closing the create dialog in any way behaves like Done: the list reloads.
    Effect::new(move |previous: Option<bool>| {
        let open = create_open.get();
        if previous == Some(true) && !open {
            refresh.update(|n| *n += 1);
        }
        open
    });

    view! {
        <leptos_meta::Title text="Manage app passwords"/>
        <ProfileLayout>
            <p class="breadcrumb">"Additional security verification"</p>
            <h1>"app passwords"</h1>
            <p class="muted">
                "Some apps, like Outlook 2010, can't do two-step verification. Create an app password for each such app and "
                "enter it in the app instead of your account password."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || Suspend::new(async move {
                    match apps.await {
                        Ok(o) if o.security_info_experience => view! { <Redirect path="/security-info"/> }.into_any(),
                        Ok(o) => {
                            let blocked_reason = if !o.allowed {
                                Some("Your organization doesn't allow app passwords.")
                            } else if !o.has_two_step {
                                Some("App passwords need two-step verification: add an authenticator app on Security info first.")
                            } else {
                                None
                            };
                            view! {
                                <div class="toolbar">
                                    <button type="button" class="button primary" disabled=blocked_reason.is_some()
                                        on:click=move |_| create_open.set(true)>"Create"</button>
                                    <span class="muted">{format!("{} of {} in use", o.items.len(), o.limit)}</span>
                                </div>
                                {blocked_reason.map(|reason| view! { <p class="hint">{reason}</p> })}
                                <table class="legacy-table">
                                    <caption class="visually-hidden">"Your app passwords"</caption>
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                    <tbody>
                                        {o.items.into_iter().map(|item| {
                                            let target = item.clone();
                                            view! {
                                                <tr>
                                                    <td>{item.name.clone()}</td>
                                                    <td>{item.created.clone()}</td>
                                                    <td>{item.last_used.clone()}</td>
                                                    <td>
                                                        <button type="button" class="link" aria-label=format!("Delete app password {}", item.name)
                                                            on:click=move |_| request_delete.run(target.clone())>"Delete"</button>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }
                        Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Modal open=create_open id="create-app-password" title="Create app password".to_owned()>
                <AppPasswordSteps overview=overview done=finish request_delete=request_delete/>
            </Modal>
            <Modal open=delete_open id="legacy-delete-app-password" title="Delete app password?".to_owned()>
                <p>
                    {move || delete_target.get().map(|item| format!(
                        "Delete the app password for '{}'? Apps using it will stop signing in. This can't be undone.",
                        item.name
                    ))}
                </p>
                <div class="modal-actions">
                    <button type="button" class="button" on:click=move |_| delete_open.set(false)>"No"</button>
                    <button type="button" class="button primary" on:click=move |_| {
                        if let Some(item) = delete_target.get_untracked() {
                            delete.dispatch(DeleteAppPassword { id: item.id });
                        }
                        delete_open.set(false);
                    }>"Yes"</button>
                </div>
            </Modal>
        </ProfileLayout>
    }
}
