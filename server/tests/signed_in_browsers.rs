//! Security info's signed-in browsers, on SQLite and PostgreSQL: the list names each browser
//! and system from its User-Agent, with its address, and marks this browser; it holds only the
//! person's complete sessions. "Sign out" on a row ends that session alone, at once, on every
//! instance (a second backend on the same database), with its audit event; this browser's row
//! signs out as Sign out does; another person's session id is refused and changes nothing.
//! Without JavaScript, the page lists the browsers and each form posts and comes back.

mod support;

use app::backend::prelude::*;
use app::backend::{BrowserSignedOut, RequestMemo};
use app::error::AppError;
use app::signed_in_browsers::SignedInBrowser;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::http::router;
use server::use_cases::ServerBackend;
use support::{PASSWORD, TestDatabase, TestResult};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ADA: &str = "ada@contoso.example";
const GRACE: &str = "grace@contoso.example";

const CHROME_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_ON_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_ON_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/// A browser's request context: its address and User-Agent, and its session once signed in.
fn browser(ip: &str, user_agent: &str) -> RequestContext {
    RequestContext {
        ip: Some(ip.to_owned()),
        user_agent: Some(user_agent.to_owned()),
        session_token: None,
        known_device: None,
        memo: RequestMemo::off(),
    }
}

/// `username` signed in (password only) in a browser at `ip` with `user_agent`.
async fn signed_in(
    instance: &ServerBackend,
    username: &str,
    ip: &str,
    user_agent: &str,
) -> Result<RequestContext, Error> {
    let mut context = browser(ip, user_agent);
    let (step, cookie) = instance.sign_in(&context, username, PASSWORD).await?;
    assert_eq!(step, app::model::SignInStep::SignedIn);
    context.session_token = support::context(ip, Some(&cookie)).session_token;
    Ok(context)
}

/// The row of `list` for the browser at `ip`.
fn row<'a>(list: &'a [SignedInBrowser], ip: &str) -> Result<&'a SignedInBrowser, Error> {
    list.iter()
        .find(|browser| browser.address.as_deref() == Some(ip))
        .ok_or_else(|| format!("no browser at {ip} in {list:?}").into())
}

/// How many audit events of `kind` (and `detail`, when given) are about `username`.
async fn events(
    instance: &ServerBackend,
    username: &str,
    kind: &str,
    detail: Option<&str>,
) -> Result<usize, Error> {
    let user = instance
        .store()
        .user_by_key(username)
        .await?
        .ok_or("no such person")?;
    Ok(instance
        .store()
        .audit_events_of(user.id)
        .await?
        .iter()
        .filter(|event| event.kind == kind && detail.is_none_or(|d| event.detail == d))
        .count())
}

#[tokio::test]
async fn the_list_names_each_browser_and_marks_this_one() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        support::add_user(&backend, GRACE).await;

        let chrome = signed_in(&backend, ADA, "203.0.113.1", CHROME_ON_WINDOWS).await?;
        let firefox = signed_in(&backend, ADA, "203.0.113.2", FIREFOX_ON_LINUX).await?;
        let _safari = signed_in(&backend, ADA, "203.0.113.3", SAFARI_ON_IOS).await?;
        let _script = signed_in(&backend, ADA, "203.0.113.4", "curl/8.5.0").await?;
        // Someone else's browser is not Ada's.
        let _grace = signed_in(&backend, GRACE, "203.0.113.9", CHROME_ON_WINDOWS).await?;

        let list = backend.signed_in_browsers(&firefox).await?;
        assert_eq!(list.len(), 4, "{name}: {list:?}");
        for (ip, label) in [
            ("203.0.113.1", "Chrome on Windows"),
            ("203.0.113.2", "Firefox on Linux"),
            ("203.0.113.3", "Safari on iOS"),
            ("203.0.113.4", "Unknown browser"),
        ] {
            assert_eq!(row(&list, ip)?.browser, label, "{name}");
            assert_eq!(row(&list, ip)?.last_active, "just now", "{name}");
        }
        // This browser, and only it, is marked, and comes first.
        assert!(list[0].this_browser, "{name}: {list:?}");
        assert_eq!(list[0].address.as_deref(), Some("203.0.113.2"));
        assert_eq!(list.iter().filter(|b| b.this_browser).count(), 1);
        assert_eq!(
            list[0].sign_out_label(),
            "Sign out Firefox on Linux, 203.0.113.2"
        );
        // From another browser, that one is.
        let from_chrome = backend.signed_in_browsers(&chrome).await?;
        assert!(row(&from_chrome, "203.0.113.1")?.this_browser, "{name}");
        assert!(!row(&from_chrome, "203.0.113.2")?.this_browser, "{name}");
        // Every row is one of Ada's sessions: the ids name them, nothing else does.
        let ada = backend.store().user_by_key(ADA).await?.ok_or("ada")?;
        let mut ids: Vec<i32> = list.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        let mut sessions: Vec<i32> = backend
            .store()
            .browser_sessions(ada.id)
            .await?
            .iter()
            .map(|s| s.id)
            .collect();
        sessions.sort_unstable();
        assert_eq!(ids, sessions, "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn a_sign_in_waiting_for_its_code_is_not_a_signed_in_browser() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, GRACE).await;
        let (grace, _) =
            support::signed_in_with_authenticator(&backend, GRACE, "192.0.2.1").await?;
        // The password in another browser, but not the code yet.
        let (step, _) = backend
            .sign_in(&browser("203.0.113.8", FIREFOX_ON_LINUX), GRACE, PASSWORD)
            .await?;
        assert_eq!(
            step,
            app::model::SignInStep::SecondStep(app::model::SecondStepWay::AuthenticatorApp)
        );
        let list = backend.signed_in_browsers(&grace).await?;
        assert_eq!(list.len(), 1, "{}: {list:?}", database.name);
        assert!(list[0].this_browser);
    }
    Ok(())
}

#[tokio::test]
async fn signing_out_a_browser_ends_only_that_session_on_every_instance() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let first = support::backend(&database).await;
        support::set_up_organization(&first).await;
        let second = support::backend_with_key_of(&database, &first).await;
        support::add_user(&first, ADA).await;

        let chrome = signed_in(&first, ADA, "203.0.113.1", CHROME_ON_WINDOWS).await?;
        let firefox = signed_in(&second, ADA, "203.0.113.2", FIREFOX_ON_LINUX).await?;
        let safari = signed_in(&second, ADA, "203.0.113.3", SAFARI_ON_IOS).await?;
        // Each works on either instance.
        for instance in [&first, &second] {
            for context in [&chrome, &firefox, &safari] {
                assert!(instance.current_user(context).await?.is_some(), "{name}");
            }
        }

        // From Chrome, on the first instance: sign out Firefox.
        let list = first.signed_in_browsers(&chrome).await?;
        let firefox_id = row(&list, "203.0.113.2")?.id;
        assert!(matches!(
            first.sign_out_browser(&chrome, firefox_id).await?,
            BrowserSignedOut::Another
        ));
        // Firefox is signed out at once, on the second instance too; the others are not.
        for instance in [&second, &first] {
            assert!(instance.current_user(&firefox).await?.is_none(), "{name}");
            assert_eq!(
                instance.security_info(&firefox).await,
                Err(AppError::Unauthorized),
                "{name}"
            );
            assert!(instance.current_user(&chrome).await?.is_some(), "{name}");
            assert!(instance.current_user(&safari).await?.is_some(), "{name}");
        }
        let list = second.signed_in_browsers(&safari).await?;
        assert_eq!(list.len(), 2, "{name}: {list:?}");
        assert!(list.iter().all(|b| b.id != firefox_id), "{name}");
        assert_eq!(
            events(
                &first,
                ADA,
                "sign_out.browser",
                Some("Firefox on Linux, 203.0.113.2")
            )
            .await?,
            1,
            "{name}: the audit event names the browser"
        );
        // Gone is gone: a second sign-out of it is refused and writes nothing more.
        assert_eq!(
            second.sign_out_browser(&safari, firefox_id).await.err(),
            Some(AppError::BrowserGone),
            "{name}"
        );
        assert_eq!(events(&first, ADA, "sign_out.browser", None).await?, 1);

        // This browser's row signs out as Sign out does: its cookie is cleared.
        let safari_id = row(&list, "203.0.113.3")?.id;
        let BrowserSignedOut::ThisBrowser(cookie) =
            second.sign_out_browser(&safari, safari_id).await?
        else {
            return Err(format!("{name}: this browser's row is Sign out").into());
        };
        assert!(cookie.contains("Max-Age=0"), "{name}: {cookie:?}");
        assert!(first.current_user(&safari).await?.is_none(), "{name}");
        assert!(first.current_user(&chrome).await?.is_some(), "{name}");
        assert_eq!(
            events(&first, ADA, "sign_out", Some("this session")).await?,
            1,
            "{name}"
        );
        // Recent activity words it.
        let activity = first.recent_activity(&chrome, None).await?;
        let shown = activity
            .items
            .iter()
            .find(|item| item.title == "Signed out a browser")
            .ok_or("shown in Recent activity")?;
        assert_eq!(
            shown.detail.as_deref(),
            Some("Firefox on Linux, 203.0.113.2")
        );
    }
    Ok(())
}

#[tokio::test]
async fn another_persons_session_id_is_refused() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        support::add_user(&backend, GRACE).await;
        let ada = signed_in(&backend, ADA, "203.0.113.1", CHROME_ON_WINDOWS).await?;
        let grace = signed_in(&backend, GRACE, "203.0.113.9", FIREFOX_ON_LINUX).await?;
        let graces_id = backend.signed_in_browsers(&grace).await?[0].id;

        for id in [graces_id, 0, -1, i32::MAX] {
            assert_eq!(
                backend.sign_out_browser(&ada, id).await.err(),
                Some(AppError::BrowserGone),
                "{name}: id {id}"
            );
        }
        assert!(backend.current_user(&grace).await?.is_some(), "{name}");
        assert_eq!(events(&backend, GRACE, "sign_out.browser", None).await?, 0);
        assert_eq!(events(&backend, ADA, "sign_out.browser", None).await?, 0);
        // Signed out, nobody signs anything out.
        let signed_out = browser("203.0.113.1", CHROME_ON_WINDOWS);
        assert_eq!(
            backend.sign_out_browser(&signed_out, graces_id).await.err(),
            Some(AppError::Unauthorized)
        );
        assert_eq!(
            backend.signed_in_browsers(&signed_out).await.err(),
            Some(AppError::Unauthorized)
        );
        assert!(backend.current_user(&grace).await?.is_some(), "{name}");
    }
    Ok(())
}

/// What the router answers: status, `Location`, every `Set-Cookie` and the body.
async fn answer(
    app: &axum::Router,
    request: Request<Body>,
) -> Result<(StatusCode, Option<String>, Vec<String>, String), Error> {
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    let body = axum::body::to_bytes(response.into_body(), 1 << 22).await?;
    Ok((status, location, cookies, String::from_utf8(body.to_vec())?))
}

fn session_cookie(context: &RequestContext) -> String {
    format!(
        "{}={}",
        server::use_cases::SESSION_COOKIE,
        context.session_token.clone().unwrap_or_default()
    )
}

/// The page, then its forms, as a browser without the WebAssembly uses them: Security info
/// lists the browsers, "This browser" marked; a row's form posts the id and comes back to
/// Security info, or for this browser goes on to sign-in with its cookie cleared; a refused id
/// comes back with the reason.
#[tokio::test]
async fn without_javascript_the_page_lists_and_its_forms_sign_out() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        support::add_user(&backend, GRACE).await;
        let app = router(support::state(backend.clone()));
        let chrome = signed_in(&backend, ADA, "203.0.113.1", CHROME_ON_WINDOWS).await?;
        let firefox = signed_in(&backend, ADA, "203.0.113.2", FIREFOX_ON_LINUX).await?;
        let grace = signed_in(&backend, GRACE, "203.0.113.9", SAFARI_ON_IOS).await?;

        let page = |context: &RequestContext| {
            Request::get("/security-info")
                .header(header::COOKIE, session_cookie(context))
                .header(header::USER_AGENT, CHROME_ON_WINDOWS)
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
        };
        let (status, _, _, html) = answer(&app, page(&chrome)?).await?;
        assert_eq!(status, StatusCode::OK, "{name}: {html}");
        for shown in [
            "Your signed-in browsers",
            "Chrome on Windows",
            "Firefox on Linux",
            "This browser",
            "203.0.113.2",
            "Sign out Firefox on Linux, 203.0.113.2",
            "action=\"/api/sign_out_browser\"",
        ] {
            assert!(html.contains(shown), "{name}: {shown} missing: {html}");
        }
        assert!(!html.contains("Safari on iOS"), "{name}: Grace's browser");

        let post = |context: &RequestContext, id: i32| {
            Request::post("/api/sign_out_browser")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html")
                .header(header::REFERER, "http://127.0.0.1:3000/security-info")
                .header("Sec-Fetch-Site", "same-origin")
                .header(header::COOKIE, session_cookie(context))
                .body(Body::from(format!("id={id}")))
        };
        // Someone else's: back to Security info with the reason, which the page shows.
        let graces_id = backend.signed_in_browsers(&grace).await?[0].id;
        let (status, location, _, _) = answer(&app, post(&chrome, graces_id)?).await?;
        assert!(status.is_redirection(), "{name}: {status}");
        let back = location.unwrap_or_default();
        let back = back.strip_prefix("http://127.0.0.1:3000").unwrap_or(&back);
        assert!(back.starts_with("/security-info?__path="), "{name}: {back}");
        let refused = Request::get(back)
            .header(header::COOKIE, session_cookie(&chrome))
            .body(Body::empty())?;
        let (status, _, _, html) = answer(&app, refused).await?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            html.contains(&AppError::BrowserGone.to_string()),
            "{name}: the refusal is shown: {html}"
        );
        assert!(backend.current_user(&grace).await?.is_some(), "{name}");

        // Another of Ada's: back to Security info, without it.
        let firefox_id = row(&backend.signed_in_browsers(&chrome).await?, "203.0.113.2")?.id;
        let (status, location, _, _) = answer(&app, post(&chrome, firefox_id)?).await?;
        assert!(status.is_redirection(), "{name}: {status}");
        assert_eq!(location.as_deref(), Some("/security-info"), "{name}");
        assert!(backend.current_user(&firefox).await?.is_none(), "{name}");
        let (_, _, _, html) = answer(&app, page(&chrome)?).await?;
        assert!(!html.contains("Firefox on Linux"), "{name}: {html}");

        // This browser: signed out, on to sign-in, its cookie cleared.
        let chrome_id = backend.signed_in_browsers(&chrome).await?[0].id;
        let (status, location, cookies, _) = answer(&app, post(&chrome, chrome_id)?).await?;
        assert!(status.is_redirection(), "{name}: {status}");
        assert_eq!(location.as_deref(), Some("/signin?signed_out=1"), "{name}");
        assert!(
            cookies.iter().any(
                |c| c.starts_with(server::use_cases::SESSION_COOKIE) && c.contains("Max-Age=0")
            ),
            "{name}: {cookies:?}"
        );
        assert!(backend.current_user(&chrome).await?.is_none(), "{name}");
        let (status, location, _, _) = answer(&app, page(&chrome)?).await?;
        assert!(status.is_redirection(), "{name}: {status}");
        assert!(
            location.is_some_and(|l| l.starts_with("/signin")),
            "{name}: sent to sign in"
        );
    }
    Ok(())
}
