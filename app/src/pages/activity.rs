//! Recent activity: what happened to the person's account lately (sign-ins, app passwords,
//! changes of sign-in methods), newest first, a page at a time. Paging is a link
//! (`?before=ID`), so it works before the WebAssembly too. Failed sign-ins from one address
//! within 15 minutes are one item that says how many ("3 failed sign-ins from 203.0.113.7").
//! When someone with the password failed the second step again and again, the alert's item
//! links to Change password.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::account::get_recent_activity;
use crate::model::{ActivityItem, ActivityPage};
use crate::routes::{ActivityQuery, Page, SecurityInfoDialog, use_page_query};

#[component]
pub fn RecentActivityPage() -> impl IntoView {
    let query = use_page_query::<ActivityQuery>();
    let before = Memo::new(move |_| query.read().before);
    let person = crate::pages::profile::SignedInPerson::get();
    let page = Resource::new(
        move || before.get(),
        move |before| async move { person.note(get_recent_activity(before).await) },
    );
    view! {
        <h1 tabindex="-1">"Recent activity"</h1>
        <p class="muted">
            "Sign-ins and changes to how you sign in, newest first. If you don't recognise something, "
            <A href=Page::SecurityInfo.path()>"change your password"</A>
            " and delete app passwords you don't use."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
            {move || page.get().map(|answer| match answer {
                Ok(page) => Either::Left(view! {
                    <ActivityList page=page paged=before.get_untracked().is_some()/>
                }),
                Err(error) => Either::Right(view! {
                    <p class="form-error" role="alert">{error.to_string()}</p>
                }),
            })}
        </Transition>
    }
}

#[component]
fn ActivityList(page: ActivityPage, paged: bool) -> impl IntoView {
    let empty = page.items.is_empty();
    view! {
        {empty.then(|| view! { <p class="muted">"Nothing here yet."</p> })}
        <ol class="activity" aria-label="Your recent activity">
            {page.items.into_iter().map(|item| view! { <ActivityRow item=item/> }).collect_view()}
        </ol>
        <nav class="pager" aria-label="Pages of recent activity">
            {paged.then(|| view! { <A href=Page::Activity.path()>"Newest"</A> })}
            {page.older.map(|older| view! {
                <A href=Page::Activity.with(&ActivityQuery { before: Some(older) })>"Older"</A>
            })}
        </nav>
    }
}

#[component]
fn ActivityRow(item: ActivityItem) -> impl IntoView {
    // A counted item's title already says where the attempts came from.
    let address = item.address.filter(|_| item.count <= 1);
    let whence = [address, item.client]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    view! {
        <li class="activity-item" class:notable=item.notable>
            <span class="activity-title">{item.title}</span>
            {item.detail.map(|detail| view! { <span class="activity-detail">{detail}</span> })}
            {item.suggests_password_change.then(|| view! {
                <A href=SecurityInfoDialog::ChangePassword { done: false }.on(Page::SecurityInfo)
                    attr:class="activity-action">"Change your password"</A>
            })}
            <span class="activity-meta">
                <time title=item.at.clone()>{item.when}</time>
                {(!whence.is_empty()).then(|| view! { " · " {whence} })}
            </span>
        </li>
    }
}
