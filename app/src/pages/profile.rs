//! My Profile: the frame shared by its pages (top bar with the signed-in person, left
//! navigation, the page's title) and the Overview page.
//!
//! The frame is the parent route of every signed-in page (`crate::app`): it stays while the
//! person moves between its pages, and reads the signed-in person once, not at each
//! navigation. A page's own data says when the session has ended since (signed out from
//! another browser, expired, reset by an administrator): [`SignedInPerson::note`].

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

use crate::account::{SignOut, get_current_user};
use crate::error::AppError;
use crate::model::CurrentUser;
use crate::routes::{Page, SignInQuery};

/// The signed-in person, read once by the frame and given to its pages as context, and
/// whether a page has found the session ended.
#[derive(Clone, Copy)]
pub struct SignedInPerson {
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
    ended: RwSignal<bool>,
}

impl SignedInPerson {
    /// The frame's; read anew only where a page is shown outside it.
    pub fn get() -> Self {
        use_context::<Self>().unwrap_or_else(Self::read)
    }

    fn read() -> Self {
        Self {
            user: Resource::new(|| (), |_| get_current_user()),
            ended: RwSignal::new(false),
        }
    }

    /// Passes a page's `answer` on; one saying the session has ended sends the frame to
    /// sign-in, as a page load would.
    pub fn note<T>(self, answer: Result<T, AppError>) -> Result<T, AppError> {
        if matches!(answer, Err(AppError::Unauthorized)) {
            self.ended.set(true);
        }
        answer
    }
}

/// The title of a page of the frame. Set by the frame, before it waits for anything: a page's
/// own `<Title>` would come after the frame's first `<Suspense>`, after the server has already
/// sent the `<head>` of an in-order page.
fn title(page: Option<Page>) -> &'static str {
    match page {
        Some(Page::SecurityInfo) => "Security info",
        Some(Page::LegacyAppPasswords) => "Manage app passwords",
        Some(Page::Activity) => "Recent activity",
        Some(Page::Admin) => "Administration",
        Some(Page::AuditLog) => "Audit log",
        _ => "My Profile",
    }
}

/// The frame of every My Profile page: top bar, left navigation, and the page.
#[component]
pub fn ProfileLayout() -> impl IntoView {
    let person = SignedInPerson::read();
    provide_context(person);
    let SignedInPerson { user, ended } = person;
    let sign_out = ServerAction::<SignOut>::new();
    let location = use_location();
    // The server sends signed-out visitors to sign-in before rendering; this covers a session
    // that ends between that check and the page, or later, found by a page's read.
    let to_sign_in = move || {
        // The router's `search` has no `?`.
        let (path, search) = (
            location.pathname.get_untracked(),
            location.search.get_untracked(),
        );
        let here = if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        };
        SignInQuery::then_to(&here).link()
    };
    let page_title = move || title(Page::from_path(&location.pathname.read())).to_owned();
    view! {
        <leptos_meta::Title text=page_title/>
        <Suspense fallback=|| ()>
            {move || {
                let ended = ended.get();
                Suspend::new(async move {
                    (ended || matches!(user.await, Ok(None) | Err(AppError::Unauthorized)))
                        .then(|| view! { <Redirect path=to_sign_in()/> })
                })
            }}
        </Suspense>
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="portal">
            <header class="topbar">
                <a class="brand" href=Page::Overview.path()>"Latchkey"</a>
                <span class="topbar-title">"My Profile"</span>
                <span class="topbar-spacer"></span>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        user.await.ok().flatten().map(|user| view! {
                            <span class="topbar-user" title=user.username.clone()>{user.display_name}</span>
                        })
                    })}
                </Suspense>
                <ActionForm action=sign_out>
                    <button type="submit" class="link">"Sign out"</button>
                </ActionForm>
            </header>
            // Said plainly: someone who believes they signed out may walk away from the device.
            {move || sign_out.value().get().and_then(Result::err).map(|error| view! {
                <p class="notice warning" role="alert">{format!("You are still signed in. {error}")}</p>
            })}
            <div class="portal-body">
                <nav class="sidenav" aria-label="My Profile">
                    <ul>
                        <li><A href=Page::Overview.path() exact=true>"Overview"</A></li>
                        <li><A href=Page::SecurityInfo.path()>"Security info"</A></li>
                        <li><A href=Page::Activity.path()>"Recent activity"</A></li>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                user.await.ok().flatten().filter(|user| user.is_admin).map(|_| view! {
                                    <li><A href=Page::Admin.path()>"Administration"</A></li>
                                })
                            })}
                        </Suspense>
                    </ul>
                </nav>
                <main class="content" id="main"><Outlet/></main>
            </div>
        </div>
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let user = SignedInPerson::get().user;
    view! {
        <h1 tabindex="-1">"Overview"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading..."</p> }>
            {move || Suspend::new(async move {
                user.await.ok().flatten().map(|user| view! {
                    <section class="profile-card" aria-label="Your account">
                        <p class="profile-name">{user.display_name}</p>
                        <p class="muted">{user.username}</p>
                        <p class="muted">{user.organization}</p>
                    </section>
                })
            })}
        </Suspense>
        <div class="tiles">
            <section class="tile" aria-labelledby="tile-security">
                <h2 id="tile-security">"Security info"</h2>
                <p class="muted">"Keep your verification methods and security info up to date."</p>
                <A href=Page::SecurityInfo.path() attr:class="tile-link">"Update info"<span aria-hidden="true">" ›"</span></A>
            </section>
            <section class="tile" aria-labelledby="tile-activity">
                <h2 id="tile-activity">"Recent activity"</h2>
                <p class="muted">"See where and when your account was used."</p>
                <A href=Page::Activity.path() attr:class="tile-link">"Review activity"<span aria-hidden="true">" ›"</span></A>
            </section>
        </div>
    }
}
