//! The legacy "Manage app passwords" page (Additional security verification > app passwords),
//! used when the organization turns the Security info experience off. Same server functions,
//! same client state and the same create steps as Security info ([`AppPasswords`]).

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::components::links::OpenDialog;
use crate::components::modal::Modal;
use crate::pages::app_password_flow::{
    AppPasswordChangeDialog, AppPasswordSteps, AppPasswords, DeleteAllAppPasswordsButton,
    DeleteAppPasswordButton, GoneRefusal, RenameAppPasswordButton, app_password_dialog,
    forget_answers_when_the_dialog_changes, refresh_when_shown,
};
use crate::routes::{
    AppPasswordDialog, Page, SecurityInfoDialog, SecurityInfoQuery, use_page_query,
};

/// The page's path: where its dialogs lead back to.
const PAGE: &str = Page::LegacyAppPasswords.path();

#[component]
pub fn LegacyAppPasswordsPage() -> impl IntoView {
    // No second factor is added or deleted here.
    let apps = AppPasswords::new(Page::LegacyAppPasswords, Signal::stored(0));
    forget_answers_when_the_dialog_changes(move |opened| apps.forget_answers(opened));
    refresh_when_shown(move || apps.list.refetch());

    view! {
        <p class="breadcrumb">"Additional security verification"</p>
        <h1 tabindex="-1">"app passwords"</h1>
        <p class="muted">
            "Some apps, like Outlook 2010, can't do two-step verification. Create an app password for each such app and "
            "enter it in the app instead of your account password."
        </p>
        <GoneRefusal apps=apps/>
        <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
            {move || match apps.list.get() {
                Some(Ok(o)) if o.security_info_experience => Some(Either::Left(view! { <Redirect path=Page::SecurityInfo.path()/> })),
                Some(Err(error)) => Some(Either::Right(view! { <p class="form-error" role="alert">{error.to_string()}</p> })),
                _ => None,
            }}
            <LegacyList apps=apps/>
            <LegacyDialogs apps=apps/>
        </Transition>
    }
}

/// Why Create is off, if it is.
fn blocked_reason(apps: &AppPasswords) -> Option<&'static str> {
    let overview = apps.overview()?;
    if !overview.allowed {
        Some("Your organization doesn't allow app passwords.")
    } else if !overview.has_two_step {
        Some(
            "App passwords need two-step verification: add an authenticator app or a passkey on Security info first.",
        )
    } else {
        None
    }
}

#[component]
fn LegacyList(apps: AppPasswords) -> impl IntoView {
    move || {
        let overview = apps.overview().filter(|o| !o.security_info_experience)?;
        let blocked = blocked_reason(&apps);
        Some(view! {
            <div class="toolbar">
                {match blocked {
                    None => Either::Left(view! {
                        <OpenDialog page=Page::LegacyAppPasswords
                            dialog=SecurityInfoDialog::AppPassword(AppPasswordDialog::Create)
                            class="button primary">"Create"</OpenDialog>
                    }),
                    Some(_) => Either::Right(view! { <button type="button" class="button primary" disabled=true>"Create"</button> }),
                }}
                <span class="muted">{format!("{} of {} in use", overview.items.len(), overview.limit)}</span>
                {(overview.items.len() >= 2).then(|| view! { <DeleteAllAppPasswordsButton page=Page::LegacyAppPasswords/> })}
            </div>
            {blocked.map(|reason| view! { <p class="hint">{reason}</p> })}
            <table class="legacy-table">
                <caption class="visually-hidden">"Your app passwords"</caption>
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {overview.items.into_iter().map(|item| view! {
                        <tr>
                            <td>{item.name.clone()}</td>
                            <td>{item.created.clone()}</td>
                            <td>{item.last_used.clone()}</td>
                            <td>
                                <span class="row-actions">
                                    <RenameAppPasswordButton page=Page::LegacyAppPasswords item=item.clone()/>
                                    <DeleteAppPasswordButton page=Page::LegacyAppPasswords item=item/>
                                </span>
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })
    }
}

#[component]
fn LegacyDialogs(apps: AppPasswords) -> impl IntoView {
    let query = use_page_query::<SecurityInfoQuery>();
    // Read here, not in the view: a list update must not rebuild an open dialog.
    let dialog = Memo::new(move |_| {
        let legacy = apps.overview().is_some_and(|o| !o.security_info_experience);
        match app_password_dialog(&query.read()) {
            Some(AppPasswordDialog::Create) if blocked_reason(&apps).is_some() => None,
            dialog if legacy => dialog,
            _ => None,
        }
    });
    move || {
        dialog
            .get()
            .map(|dialog| Suspend::new(legacy_dialog(dialog, apps)))
    }
}

/// The dialog's view: a chunk of its own, like Security info's dialogs.
#[leptos::lazy]
pub(crate) fn legacy_dialog(dialog: AppPasswordDialog, apps: AppPasswords) -> AnyView {
    match dialog {
        AppPasswordDialog::Create => Either::Left(view! {
            <Modal id="create-app-password" title="Create app password" close_href=PAGE>
                <AppPasswordSteps apps=apps/>
            </Modal>
        }),
        dialog => Either::Right(view! {
            <AppPasswordChangeDialog apps=apps dialog=dialog legacy=true/>
        }),
    }
    .into_any()
}
