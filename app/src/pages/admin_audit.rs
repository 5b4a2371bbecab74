//! The audit log in the admin console (`/admin/audit`): every event, newest first, 50 a page
//! (`?before=ID`), filtered by person, kind and days (`?person=&kind=&from=&to=`), and the same
//! selection as a CSV file (`/admin/audit.csv`, streamed by the server). A lazy route.
//! Events outsiders can cause (failed sign-ins, unknown names, paused app-password checks)
//! are counted, one row per address and name in 15 minutes: the row says how many times.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::admin::get_audit_log;
use crate::error::AppError;
use crate::model::{AuditPage, AuditQuery};
use crate::routes::{AuditLogQuery, Page, audit_log_csv, use_page_query};

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_page_query::<AuditLogQuery>();
    let asked = Memo::new(move |_| {
        let query = query.read();
        (query.filter(), query.before)
    });
    let person = crate::pages::profile::SignedInPerson::get();
    let page = Resource::new(
        move || asked.get(),
        move |(query, before)| async move {
            let answer = get_audit_log(
                Some(query.person),
                Some(query.kind),
                Some(query.from),
                Some(query.to),
                before,
            )
            .await;
            person.note(answer)
        },
    );
    view! {
        <p><A href=Page::Admin.path()>"‹ Administration"</A></p>
        <h1 tabindex="-1">"Audit log"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
            // Inside the transition: the filters read the page's answer (kinds, refusals),
            // which the server renders only here.
            <Filters asked=asked page=page/>
            {move || page.get().map(|answer| match answer {
                Ok(found) => Either::Left(view! { <Entries found=found asked=asked.get_untracked().0/> }),
                Err(error) if error.message_for("person").is_some()
                    || error.message_for("from").is_some()
                    || error.message_for("to").is_some() => Either::Right(None),
                Err(error) => Either::Right(Some(view! {
                    <p class="form-error" role="alert">{error.to_string()}</p>
                })),
            })}
        </Transition>
    }
}

#[component]
fn Filters(
    asked: Memo<(AuditQuery, Option<i32>)>,
    page: Resource<Result<AuditPage, AppError>>,
) -> impl IntoView {
    let (person, kind, from, to) = (
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Select>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
    );
    // Hydrated, showing is a client-side navigation to the same URL the plain form would load.
    let navigate = use_navigate();
    let show = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = |node: NodeRef<leptos::html::Input>| {
            node.get_untracked().map(|i| i.value()).unwrap_or_default()
        };
        let query = AuditQuery {
            person: input(person),
            kind: kind.get_untracked().map(|s| s.value()).unwrap_or_default(),
            from: input(from),
            to: input(to),
        };
        navigate(
            &Page::AuditLog.with(&AuditLogQuery::new(&query, None)),
            Default::default(),
        );
    };
    let error = move |field: &'static str| {
        move || {
            page.get()
                .and_then(Result::err)
                .and_then(|e| e.message_for(field))
        }
    };
    let current = move || asked.get().0;
    let kinds = move || {
        page.get()
            .and_then(Result::ok)
            .map(|p| p.kinds)
            .unwrap_or_default()
    };
    view! {
        <form method="get" action=Page::AuditLog.path() class="filters" on:submit=show aria-label="Filter the audit log">
            <div class="field">
                <label for="audit-person">"Person (sign-in name)"</label>
                <input id="audit-person" name="person" type="text" autocomplete="off" node_ref=person
                    value=move || current().person aria-describedby="audit-person-error"/>
                <p class="field-error" id="audit-person-error" role="alert">{error("person")}</p>
            </div>
            <div class="field">
                <label for="audit-kind">"Kind"</label>
                <select id="audit-kind" name="kind" node_ref=kind>
                    <option value="" selected=move || current().kind.is_empty()>"Any kind"</option>
                    {move || kinds().into_iter().map(|k| {
                        let selected = current().kind == k;
                        view! { <option value=k.clone() selected=selected>{k.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-from">"From (day)"</label>
                <input id="audit-from" name="from" type="date" node_ref=from value=move || current().from
                    aria-describedby="audit-from-error"/>
                <p class="field-error" id="audit-from-error" role="alert">{error("from")}</p>
            </div>
            <div class="field">
                <label for="audit-to">"To (day, included)"</label>
                <input id="audit-to" name="to" type="date" node_ref=to value=move || current().to
                    aria-describedby="audit-to-error"/>
                <p class="field-error" id="audit-to-error" role="alert">{error("to")}</p>
            </div>
            <div class="filter-actions">
                <button type="submit" class="button primary">"Show"</button>
                <a class="button" download="latchkey-audit.csv"
                    href=move || audit_log_csv(&current())>"Download CSV"</a>
            </div>
        </form>
    }
}

#[component]
fn Entries(found: AuditPage, asked: AuditQuery) -> impl IntoView {
    let empty = found.entries.is_empty();
    let older = found.older.map(|before| {
        let href = Page::AuditLog.with(&AuditLogQuery::new(&asked, Some(before)));
        view! { <A href=href>"Older"</A> }
    });
    view! {
        {empty.then(|| view! { <p class="muted">"No events."</p> })}
        <ol class="activity audit" aria-label="Audit events">
            {found.entries.into_iter().map(|entry| {
                let whence = [entry.address, entry.client].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                let times = (entry.count > 1).then(|| format!(" · {} times", entry.count));
                view! {
                    <li class="activity-item">
                        <span class="activity-title">{entry.kind}</span>
                        <span class="activity-detail">
                            {entry.person.map(|p| view! { <strong>{p}</strong> " · " })}
                            {entry.actor.map(|by| view! { "by " {by} " · " })}
                            {entry.detail}
                            {times}
                        </span>
                        <span class="activity-meta">{entry.at} {(!whence.is_empty()).then(|| view! { " · " {whence} })}</span>
                    </li>
                }
            }).collect_view()}
        </ol>
        <nav class="pager" aria-label="Pages of the audit log">{older}</nav>
    }
}
