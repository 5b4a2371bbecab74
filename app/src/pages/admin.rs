//! The admin console (`/admin`): the organization's settings, each turned on or off by one
//! server function; people, searched by the start of their sign-in name or name (`?q=`),
//! a page at a time (`?after=`), each with what an administrator can do to them (disabling,
//! revoking app passwords and resetting their sign-in methods are confirmed first, saying what
//! follows: `?confirm=ACTION:USERNAME`); adding a person
//! (`?add=person`) and resetting a password (`?reset=USERNAME`) end in a one-time link
//! (`admin_links`). Shown in the navigation to administrators only; the server functions
//! refuse everyone else. A lazy route: people who are not administrators never download it.

use leptos::either::{Either, EitherOf4};
use leptos::prelude::*;

use leptos_router::components::A;

use crate::account::ConfirmItsYou;
use crate::admin::{
    ActOnPerson, AddPerson, ResetPasswordOfPerson, RevokeAppPasswordOfPerson,
    SetAppPasswordIdleDays, SetOrganizationSetting, get_app_passwords_of_person,
    get_organization_settings, get_people,
};
use crate::components::links::{DialogActions, SubmitButton};
use crate::components::modal::Modal;
use crate::error::{AppError, OwnMethodsReset, Refusal};
use crate::model::{
    AppPasswordItem, OrganizationSettings, PeoplePage, PersonAction, PersonSummary, PolicySetting,
};
use crate::pages::admin_check::{
    ConfirmItsYouForm, ConsoleCheck, IdentityFields, needs_recent_sign_in, other_than_identity,
};
use crate::pages::admin_links::{AddPersonDialog, ResetPasswordDialog};
use crate::pages::answers::{last_call, successes};
use crate::routes::{AdminDialog, AdminQuery, Page, use_page_query};

#[component]
pub fn AdminPage() -> impl IntoView {
    let change = ServerAction::<SetOrganizationSetting>::new();
    let idle_days = ServerAction::<SetAppPasswordIdleDays>::new();
    let confirm = ServerAction::<ConfirmItsYou>::new();
    // Read again after each change of a setting, and after "confirm it's you" (whether the
    // administrator signed in recently is part of them).
    let (changed, confirmed) = (successes(change), successes(confirm));
    let idle_days_changed = successes(idle_days);
    let person = crate::pages::profile::SignedInPerson::get();
    let settings = Resource::new(
        move || (changed.get(), confirmed.get(), idle_days_changed.get()),
        move |_| async move { person.note(get_organization_settings().await) },
    );
    let check = ConsoleCheck::new(settings, confirm);
    check.watch(move || {
        needs_recent_sign_in(change.value().get()) || needs_recent_sign_in(idle_days.value().get())
    });
    view! {
        <h1 tabindex="-1">"Administration"</h1>
        <p><A href=Page::AuditLog.path()>"Audit log ›"</A></p>
        <Transition fallback=|| ()>
            <ConfirmItsYouForm check=check password_id="console-confirm-password"
                code_id="console-confirm-code"/>
        </Transition>
        <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
            {move || settings.get().map(|answer| match answer {
                Ok(current) => Either::Left(view! {
                    <Organization current=current change=change idle_days=idle_days/>
                }),
                Err(error) => Either::Right(view! {
                    <p class="form-error" role="alert">{error.to_string()}</p>
                }),
            })}
        </Transition>
        <crate::pages::admin_mail::MailSettingsSection check=check/>
        <People settings=settings check=check/>
    }
}

/// The search, the page of people and what can be done to each.
#[component]
fn People(
    settings: Resource<Result<OrganizationSettings, AppError>>,
    check: ConsoleCheck,
) -> impl IntoView {
    let query = use_page_query::<AdminQuery>();
    let search = Memo::new(move |_| {
        let query = query.read();
        (query.search.clone(), query.after.clone())
    });
    let act = ServerAction::<ActOnPerson>::new();
    let add = ServerAction::<AddPerson>::new();
    let reset = ServerAction::<ResetPasswordOfPerson>::new();
    let person_apps = PersonApps::new();
    // Read again after a new person, a reset (app passwords may be revoked) or an app
    // password revoked (the person's count).
    let (added, was_reset, revoked) = (
        successes(add),
        successes(reset),
        successes(person_apps.revoke),
    );
    let page = Resource::new(
        move || (search.get(), added.get(), was_reset.get(), revoked.get()),
        |((q, after), ..)| get_people(Some(q), after),
    );
    check.watch(move || {
        needs_recent_sign_in(act.value().get())
            || needs_recent_sign_in(add.value().get())
            || needs_recent_sign_in(reset.value().get())
            || needs_recent_sign_in(person_apps.revoke.value().get())
    });
    let back = Signal::derive(move || query.read().with_dialog(None).link());
    // A dialog opened again starts at its first step.
    let dialog = Memo::new(move |_| query.read().dialog.clone());
    Effect::new(move |previous: Option<()>| {
        dialog.track();
        if previous.is_some() {
            add.value().set(None);
            reset.value().set(None);
        }
    });
    let revokes_app_passwords = Signal::derive(move || {
        settings
            .get()
            .and_then(Result::ok)
            .map(|current| current.is_on(PolicySetting::ResetRevokesAppPasswords))
    });
    // The answer is the person as they are now: their row changes in place, and a
    // confirmation closes. Administrators who reset their own methods were signed out with
    // them: on to sign-in.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(person)) = act.value().get() {
            let signed_out = person.is_you
                && matches!(
                    query.read_untracked().dialog,
                    Some(AdminDialog::Confirm {
                        action: PersonAction::ResetMethods,
                        ..
                    })
                );
            if signed_out {
                navigate(
                    &crate::routes::SignInQuery::then_to(Page::Admin.path()).link(),
                    Default::default(),
                );
                return;
            }
            if matches!(
                query.read_untracked().dialog,
                Some(AdminDialog::Confirm { .. })
            ) {
                let (q, after) = search.get_untracked();
                navigate(
                    &AdminQuery::search(&q, after.as_deref()).link(),
                    Default::default(),
                );
            }
            page.update(|page| {
                if let Some(Ok(page)) = page
                    && let Some(row) = page
                        .people
                        .iter_mut()
                        .find(|p| p.username == person.username)
                {
                    *row = person.clone();
                }
            });
        }
    });
    // A refusal of a row's own button: a confirmation dialog shows its refusals itself, and
    // takes them with it when closed with "No". (`None` after a plain form post.)
    let acted = last_call(act, |input| (input.username.clone(), input.action));
    let refusal = move || {
        let from_a_row = acted
            .get()
            .is_none_or(|(_, action)| !action.needs_confirmation());
        match act.value().get() {
            Some(Err(error))
                if from_a_row && !matches!(dialog.get(), Some(AdminDialog::Confirm { .. })) =>
            {
                Some(error.to_string())
            }
            _ => None,
        }
    };
    view! {
        <section class="section" aria-labelledby="people-heading">
            <div class="section-heading">
                <h2 id="people-heading">"People"</h2>
                <A href=move || query.read().with_dialog(Some(AdminDialog::AddPerson)).link()
                    attr:class="button">"Add person"</A>
            </div>
            // A search loads `?q=`; hydrated, a client-side navigation to the same URL.
            <form method="get" action=Page::Admin.path() class="search-form" role="search">
                <label for="people-search">"Find people by sign-in name or name"</label>
                <div class="search-row">
                    <input id="people-search" type="search" name="q" autocomplete="off"
                        value=move || search.get().0/>
                    <button type="submit" class="button">"Search"</button>
                </div>
            </form>
            <p class="form-error" role="alert">{refusal}</p>
            <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || page.get().map(|answer| match answer {
                    Ok(found) => Some(Either::Left(view! { <PeopleList found=found search=search.get_untracked() act=act/> })),
                    // Not an administrator (or signed out): the settings above say so already.
                    Err(AppError::Forbidden(_) | AppError::Unauthorized) => None,
                    Err(error) => Some(Either::Right(view! { <p class="form-error" role="alert">{error.to_string()}</p> })),
                })}
                <Confirmation page=page settings=settings act=act acted=acted check=check/>
                <PersonAppPasswords apps=person_apps check=check/>
                <AddPersonDialog add=add back=back check=check/>
                <ResetPasswordDialog reset=reset page=page revokes_app_passwords=revokes_app_passwords back=back check=check/>
            </Transition>
        </section>
    }
}

#[component]
fn PeopleList(
    found: PeoplePage,
    search: (String, Option<String>),
    act: ServerAction<ActOnPerson>,
) -> impl IntoView {
    let empty = found.people.is_empty();
    let next = found.next.map(|after| {
        let href = AdminQuery::search(&search.0, Some(&after)).link();
        view! { <A href=href>"Next page"</A> }
    });
    let here = AdminQuery::search(&search.0, search.1.as_deref());
    view! {
        {empty.then(|| view! { <p class="muted">"Nobody found."</p> })}
        <ul class="methods people" aria-label="People">
            {found.people.into_iter().map(|person| view! { <PersonRow person=person act=act here=here.clone()/> }).collect_view()}
        </ul>
        <nav class="pager" aria-label="Pages of people">{next}</nav>
    }
}

#[component]
fn PersonRow(
    person: PersonSummary,
    act: ServerAction<ActOnPerson>,
    /// The console's search and page now, kept by the dialogs' URLs.
    here: AdminQuery,
) -> impl IntoView {
    let mut facts = Vec::new();
    if person.is_admin {
        facts.push("Administrator".to_owned());
    }
    if !person.is_enabled {
        facts.push("Disabled".to_owned());
    }
    facts.push(
        if person.has_two_step {
            "Two-step verification"
        } else {
            "No two-step verification"
        }
        .to_owned(),
    );
    facts.push(match person.app_passwords {
        1 => "1 app password".to_owned(),
        n => format!("{n} app passwords"),
    });
    let actions = PersonAction::for_person(&person);
    let username = person.username.clone();
    let open = |dialog: AdminDialog| here.with_dialog(Some(dialog)).link();
    let apps_href = (person.app_passwords > 0).then(|| {
        open(AdminDialog::AppPasswordsOf {
            username: username.clone(),
        })
    });
    let apps_label = format!("App passwords of {username}");
    let reset_href = open(AdminDialog::ResetPassword {
        username: username.clone(),
    });
    let reset_label = format!("Reset password of {username}");
    view! {
        <li class="method person">
            <span class="method-name">{person.display_name.clone()}</span>
            <span class="method-detail">{person.username.clone()} " · " {facts.join(" · ")}</span>
            <span class="row-actions wrap">
                {apps_href.map(|href| view! { <A href=href attr:class="link" attr:aria-label=apps_label>"App passwords"</A> })}
                <A href=reset_href attr:class="link" attr:aria-label=reset_label>"Reset password"</A>
                {actions.into_iter().map(|action| {
                    let username = username.clone();
                    let label = format!("{} {}", action.label(), username);
                    if action.needs_confirmation() {
                        let href = open(AdminDialog::Confirm { action, username });
                        Either::Left(view! {
                            <A href=href attr:class="link" attr:aria-label=label>{action.label()}</A>
                        })
                    } else {
                        Either::Right(view! {
                            <ActionForm action=act attr:class="inline-form">
                                <input type="hidden" name="username" value=username/>
                                <input type="hidden" name="action" value=action.to_string()/>
                                <button type="submit" class="link" aria-label=label>{action.label()}</button>
                            </ActionForm>
                        })
                    }
                }).collect_view()}
            </span>
        </li>
    }
}

/// The app passwords of one person (`?apps=USERNAME`), with their last use, each revocable.
/// A person's sign-in name and their app passwords.
type OwnedList = (String, Vec<AppPasswordItem>);

/// The app passwords of the person the query names (`?apps=USERNAME`), read once per person
/// and again after each revocation; made with the page (a resource made inside a
/// transition's content never resolves).
#[derive(Clone, Copy)]
struct PersonApps {
    username: Memo<Option<String>>,
    list: Resource<Result<Option<OwnedList>, AppError>>,
    revoke: ServerAction<RevokeAppPasswordOfPerson>,
}

impl PersonApps {
    fn new() -> Self {
        let query = use_page_query::<AdminQuery>();
        let username = Memo::new(move |_| match &query.read().dialog {
            Some(AdminDialog::AppPasswordsOf { username }) => Some(username.clone()),
            _ => None,
        });
        let revoke = ServerAction::<RevokeAppPasswordOfPerson>::new();
        let revoked = successes(revoke);
        let list = Resource::new(
            move || (username.get(), revoked.get()),
            |(username, _)| async move {
                match username {
                    Some(username) => get_app_passwords_of_person(username.clone())
                        .await
                        .map(|items| Some((username, items))),
                    None => Ok(None),
                }
            },
        );
        Self {
            username,
            list,
            revoke,
        }
    }
}

/// The app passwords of one person, with their last use, each revocable.
#[component]
fn PersonAppPasswords(apps: PersonApps, check: ConsoleCheck) -> impl IntoView {
    let query = use_page_query::<AdminQuery>();
    let (username, revoke) = (apps.username, apps.revoke);
    let back = move || query.read().with_dialog(None).link();
    // The dialog is made when the URL names a person, and only then: its list is reactive
    // inside it, so an update does not rebuild (and close) it.
    move || {
        let username = username.get()?;
        let for_whom = username.clone();
        let listed = move || match apps.list.get() {
            Some(Ok(Some((owner, items)))) if owner == for_whom => Some(Ok(items)),
            Some(Err(error)) => Some(Err(error)),
            _ => None,
        };
        Some(view! {
            <Modal id="person-app-passwords" title="App passwords" close_href=back()>
                <p>{format!("App passwords of {username}")}</p>
                <ConfirmItsYouForm check=check password_id="apps-confirm-password"
                    code_id="apps-confirm-code"/>
                <p class="form-error" role="alert">
                    {move || revoke.value().get().and_then(Result::err).map(|e| e.to_string())}
                </p>
                {move || match listed() {
                    Some(Ok(items)) if !items.is_empty() => EitherOf4::A(view! {
                        <ul class="plain-list" aria-label="Their app passwords">
                            {items.into_iter().map(|item| {
                                let label = format!("Revoke app password {}", item.name);
                                let username = username.clone();
                                view! {
                                    <li class="limit-item">
                                        <span>
                                            <strong>{item.name.clone()}</strong>
                                            <span class="muted">" · Created " {item.created.clone()} " · " {item.last_used.clone()}</span>
                                        </span>
                                        <ActionForm action=revoke attr:class="inline-form">
                                            <input type="hidden" name="username" value=username/>
                                            <input type="hidden" name="id" value=item.id.to_string()/>
                                            <button type="submit" class="link" aria-label=label>"Revoke"</button>
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }),
                    Some(Ok(_)) => EitherOf4::B(view! { <p class="muted">"No app passwords."</p> }),
                    Some(Err(error)) => EitherOf4::C(view! { <p class="form-error" role="alert">{error.to_string()}</p> }),
                    None => EitherOf4::D(view! { <p class="muted">"Loading..."</p> }),
                }}
                <div class="modal-actions">
                    <a class="button primary" href=back()>"Done"</a>
                </div>
            </Modal>
        })
    }
}

/// "Disable X?" / "Revoke all app passwords of X?" / "Reset the sign-in methods of X?", asked
/// before doing it, with what follows.
#[component]
fn Confirmation(
    page: Resource<Result<PeoplePage, AppError>>,
    settings: Resource<Result<OrganizationSettings, AppError>>,
    act: ServerAction<ActOnPerson>,
    /// Whom and what the last action was for: only its own dialog shows its refusal.
    acted: Memo<Option<(String, PersonAction)>>,
    check: ConsoleCheck,
) -> impl IntoView {
    let query = use_page_query::<AdminQuery>();
    let asked = Memo::new(move |_| match &query.read().dialog {
        Some(AdminDialog::Confirm { action, username }) => Some((*action, username.clone())),
        _ => None,
    });
    // The question names the person from the page's own list, never only from the URL.
    let listed = move |username: &str| {
        page.get()
            .and_then(Result::ok)
            .and_then(|found| found.people.into_iter().find(|p| p.username == username))
    };
    let back = move || query.read().with_dialog(None).link();
    let setting = move |which: PolicySetting| {
        settings
            .get()
            .and_then(Result::ok)
            .is_some_and(|current| current.is_on(which))
    };
    move || {
        let (action, username) = asked.get()?;
        let person = listed(&username)?;
        let (title, question) = match action {
            PersonAction::Disable => (
                "Disable this person?",
                format!(
                    "Disable {} ({})? They are signed out everywhere and cannot sign in until enabled again; their app passwords stop working meanwhile.",
                    person.display_name, person.username
                ),
            ),
            PersonAction::ResetMethods => (
                "Reset sign-in methods?",
                reset_methods_question(
                    &person,
                    setting(PolicySetting::RequireTwoStep),
                    setting(PolicySetting::ResetRevokesAppPasswords),
                ),
            ),
            PersonAction::MakeAdministrator => (
                "Make this person an administrator?",
                format!(
                    "Make {} ({}) an administrator? They can then manage every person's account and the organization's settings here.",
                    person.display_name, person.username
                ),
            ),
            PersonAction::RemoveAdministrator if person.is_you => (
                "Remove your administrator role?",
                "You will no longer be able to use this console. Another administrator can give the role back.".to_owned(),
            ),
            PersonAction::RemoveAdministrator => (
                "Remove this administrator?",
                format!(
                    "{} ({}) will no longer be able to use this console.",
                    person.display_name, person.username
                ),
            ),
            _ => (
                "Revoke all app passwords?",
                format!(
                    "Revoke all {} app passwords of {} ({})? Every app using one stops signing in. This can't be undone.",
                    person.app_passwords, person.display_name, person.username
                ),
            ),
        };
        // Resetting one's own methods may close the console: said, and ticked, first; the box
        // tells the server what was said. Where that was not all (the server knows who else
        // administers), its refusal says the rest and the box then stands for it.
        let is_you = action == PersonAction::ResetMethods && person.is_you;
        let said_here = OwnMethodsReset {
            two_step_required: setting(PolicySetting::RequireTwoStep),
            last_administrator: false,
        };
        let asked_here = (person.username.clone(), action);
        let refusal = Signal::derive(move || {
            let here = acted.with(|last| last.as_ref().is_none_or(|last| *last == asked_here));
            act.value().get().and_then(Result::err).filter(|_| here)
        });
        let refused_with = move || match refusal.get() {
            Some(AppError::Forbidden(Refusal::ConfirmOwnMethodsReset(follows))) => Some(follows),
            _ => None,
        };
        let what_follows = move || {
            (is_you && refused_with().is_none()).then(|| {
                view! { <p class="notice warning">{said_here.to_string()}</p> }
            })
        };
        let understood = move || refused_with().unwrap_or(said_here).form_value();
        Some(view! {
            <Modal id="confirm-person-action" title=title close_href=back()>
                <ActionForm action=act>
                    <input type="hidden" name="username" value=person.username.clone()/>
                    <input type="hidden" name="action" value=action.to_string()/>
                    <p>{question}</p>
                    {what_follows}
                    <Show when=move || is_you || refused_with().is_some()>
                        <div class="checkbox-row">
                            <input type="checkbox" id="confirm-action-understood" name="understood"
                                value=understood required=true/>
                            <label for="confirm-action-understood">"I understand"</label>
                        </div>
                    </Show>
                    <IdentityFields check=check password_id="confirm-action-password"
                        code_id="confirm-action-code"
                        error=refusal/>
                    <p class="form-error" role="alert">
                        {move || refusal.get().filter(other_than_identity).map(|e| e.to_string())}
                    </p>
                    <DialogActions back=back() back_label="No" submit=action.label() pending=act.pending()/>
                </ActionForm>
            </Modal>
        })
    }
}

/// What resetting the sign-in methods of `person` does, as the organization's settings say.
fn reset_methods_question(
    person: &PersonSummary,
    two_step_required: bool,
    reset_revokes_app_passwords: bool,
) -> String {
    let mut question = format!(
        "Reset the sign-in methods of {} ({})? Their two-step verification methods (authenticator apps, passkeys, recovery codes) are removed and they are signed out everywhere.",
        person.display_name, person.username
    );
    match (person.app_passwords, reset_revokes_app_passwords) {
        (0, _) => {}
        (count, true) => question.push_str(&format!(
            " {} revoked.",
            if count == 1 {
                "Their app password is".to_owned()
            } else {
                format!("Their {count} app passwords are")
            }
        )),
        (count, false) => question.push_str(&format!(
            " {} until they add a method again.",
            if count == 1 {
                "Their app password stops working".to_owned()
            } else {
                format!("Their {count} app passwords stop working")
            }
        )),
    }
    question.push_str(if two_step_required {
        " At their next sign-in they will be asked to add a method."
    } else {
        " They can add a method again on Security info."
    });
    question
}

#[component]
fn Organization(
    current: OrganizationSettings,
    change: ServerAction<SetOrganizationSetting>,
    idle_days: ServerAction<SetAppPasswordIdleDays>,
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
                <IdleDaysRow days=current.app_password_idle_days change=idle_days/>
            </ul>
        </section>
    }
}

/// "App passwords unused for N days stop working": off (empty) or a number of days, saved with
/// its own small form.
#[component]
fn IdleDaysRow(days: Option<u32>, change: ServerAction<SetAppPasswordIdleDays>) -> impl IntoView {
    // A refused plain form post: the days as typed, and why.
    let (typed, refused) = match crate::form_post::refused() {
        Some((crate::form_post::TypedForm::IdleDays(typed), error)) => (Some(typed), Some(error)),
        _ => (None, None),
    };
    let error = Signal::derive(move || {
        let refusal = match change.value().get() {
            Some(answer) => answer.err(),
            None => refused.clone(),
        };
        refusal.filter(other_than_identity).map(|error| {
            error
                .message_for("days")
                .unwrap_or_else(|| error.to_string())
        })
    });
    let state = match days {
        None => "Off".to_owned(),
        Some(1) => "1 day".to_owned(),
        Some(days) => format!("{days} days"),
    };
    view! {
        <li class="method setting">
            <span class="method-name" id="setting-app-password-idle-days">
                "App passwords unused for N days stop working"
            </span>
            <span class="method-detail">
                <strong class=if days.is_some() { "state on" } else { "state off" }>{state}</strong>
                " · An app password not used (or, if never used, not used since it was made) for more than this many days stops signing in; with mail set up, its person is reminded a week before. Empty: off."
            </span>
            <ActionForm action=change attr:class="inline-form">
                <label for="app-password-idle-days">"Days"</label>
                <input id="app-password-idle-days" name="days" type="number" inputmode="numeric" size="5" value=typed.unwrap_or_else(|| days.map(|d| d.to_string()).unwrap_or_default())
                    aria-describedby="setting-app-password-idle-days"
                    aria-invalid=move || error.get().is_some().to_string()/>
                <SubmitButton class="button" pending=change.pending()>"Save"</SubmitButton>
            </ActionForm>
            <p class="field-error" role="alert">{move || error.get()}</p>
        </li>
    }
}

#[component]
fn SettingRow(
    setting: PolicySetting,
    on: bool,
    change: ServerAction<SetOrganizationSetting>,
) -> impl IntoView {
    let id = format!("setting-{setting}");
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
                <input type="hidden" name="setting" value=setting.to_string()/>
                <input type="hidden" name="on" value=(!on).to_string()/>
                <SubmitButton class="button" pending=change.pending() attr:aria-label=label attr:aria-describedby=id>
                    {if on { "Turn off" } else { "Turn on" }}
                </SubmitButton>
            </ActionForm>
        </li>
    }
}
