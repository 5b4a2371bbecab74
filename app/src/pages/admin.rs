//! The admin console (`/admin`): the organization's settings, each turned on or off by one
//! server function. Shown in the navigation to administrators only; the server functions
//! refuse everyone else. A lazy route: people who are not administrators never download it.

use leptos::either::Either;
use leptos::prelude::*;

use crate::admin::{SetOrganizationSetting, get_organization_settings};
use crate::model::{OrganizationSettings, PolicySetting};
use crate::pages::profile::ProfileLayout;

pub const PAGE: &str = "/admin";

#[component]
pub fn AdminPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| get_organization_settings());
    let change = ServerAction::<SetOrganizationSetting>::new();
    // The answer carries every setting: the page shows it without asking again.
    Effect::new(move |_| {
        if let Some(Ok(updated)) = change.value().get() {
            settings.set(Some(Ok(updated)));
        }
    });
    view! {
        <leptos_meta::Title text="Administration"/>
        <ProfileLayout>
            <h1 tabindex="-1">"Administration"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || settings.get().map(|answer| match answer {
                    Ok(current) => Either::Left(view! { <Organization current=current change=change/> }),
                    Err(error) => Either::Right(view! {
                        <p class="form-error" role="alert">{error.to_string()}</p>
                    }),
                })}
            </Transition>
        </ProfileLayout>
    }
}

#[component]
fn Organization(
    current: OrganizationSettings,
    change: ServerAction<SetOrganizationSetting>,
) -> impl IntoView {
    let refusal = move || match change.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! {
        <section class="section" aria-labelledby="organization-heading">
            <h2 id="organization-heading">"Organization"</h2>
            <p class="muted">{current.name.clone()}</p>
            <p class="form-error" role="alert">{refusal}</p>
            <ul class="methods settings" aria-label="Organization settings">
                {PolicySetting::ALL.into_iter().map(|setting| {
                    let on = current.is_on(setting);
                    view! { <SettingRow setting=setting on=on change=change/> }
                }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn SettingRow(
    setting: PolicySetting,
    on: bool,
    change: ServerAction<SetOrganizationSetting>,
) -> impl IntoView {
    let id = format!("setting-{}", setting.form_value());
    let label = format!(
        "{}: turn {}",
        setting.title(),
        if on { "off" } else { "on" }
    );
    view! {
        <li class="method setting">
            <span class="method-name" id=id.clone()>{setting.title()}</span>
            <span class="method-detail">
                <strong class=if on { "state on" } else { "state off" }>{if on { "On" } else { "Off" }}</strong>
                " · " {setting.description()}
            </span>
            <ActionForm action=change>
                <input type="hidden" name="setting" value=setting.form_value()/>
                <input type="hidden" name="on" value=(!on).to_string()/>
                <button type="submit" class="button" aria-label=label aria-describedby=id
                    aria-disabled=move || change.pending().get().to_string()>
                    {if on { "Turn off" } else { "Turn on" }}
                </button>
            </ActionForm>
        </li>
    }
}
