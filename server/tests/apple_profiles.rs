//! "Set up an iPhone, iPad or Mac" below the browser, on SQLite and PostgreSQL: the profile is
//! downloaded only by its signed-in owner with that app password, the QR code's link works once
//! and only for 10 minutes (the clock moved, not waited for), nothing is offered without mail
//! settings, and `latchkey admin org mail` sets them.

mod support;

use app::backend::prelude::*;
use app::error::AppError;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use plist::{Dictionary, Value};
use sea_orm::EntityTrait;
use server::db::Actor;
use server::domain::mail_settings::TypedMailSettings;
use server::use_cases::ServerBackend;
use server::use_cases::administration::Administration;
use server::use_cases::app_password_check::{CheckOutcome, Client};
use support::{TestDatabase, TestResult};
use tower::ServiceExt;

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn typed_settings(with_dav: bool) -> TypedMailSettings {
    TypedMailSettings {
        imap_host: "imap.contoso.example".to_owned(),
        imap_port: "993".to_owned(),
        imap_tls: true,
        smtp_host: "smtp.contoso.example".to_owned(),
        smtp_port: "587".to_owned(),
        smtp_tls: true,
        caldav_url: if with_dav {
            "https://dav.contoso.example/cal/".to_owned()
        } else {
            String::new()
        },
        carddav_url: String::new(),
    }
}

async fn set_mail_settings(backend: &ServerBackend, with_dav: bool) -> TestResult {
    Administration::new(backend.store().clone(), Actor::command_line())
        .set_mail_settings(&typed_settings(with_dav))
        .await?;
    Ok(())
}

/// A person with an app password: their request context, session token and the password.
async fn person_with_app_password(
    backend: &ServerBackend,
    username: &str,
    app: &str,
) -> Result<(RequestContext, String, app::model::CreatedAppPassword), Failure> {
    support::add_user(backend, username).await;
    let (ctx, created) = support::app_password_for(backend, username, app).await?;
    let token = ctx.session_token.clone().ok_or("session token")?;
    Ok((ctx, token, created))
}

async fn download(
    app: &axum::Router,
    session_token: Option<&str>,
    fetch_site: &str,
    id: i32,
    password: &str,
) -> Result<(StatusCode, Option<String>, Vec<u8>), Failure> {
    let mut request = Request::post(app::apple_profile::APPLE_PROFILE_DOWNLOAD)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header("Sec-Fetch-Site", fetch_site);
    if let Some(token) = session_token {
        request = request.header(
            header::COOKIE,
            format!("{}={token}", server::use_cases::SESSION_COOKIE),
        );
    }
    let body =
        serde_urlencoded::to_string([("id", id.to_string().as_str()), ("password", password)])?;
    response(app, request.body(Body::from(body))?).await
}

async fn follow_link(
    app: &axum::Router,
    link: &str,
) -> Result<(StatusCode, Option<String>, Vec<u8>), Failure> {
    let path = link
        .find(app::apple_profile::APPLE_PROFILE_LINK)
        .and_then(|at| link.get(at..))
        .ok_or("a link to the profile")?;
    response(app, Request::get(path).body(Body::empty())?).await
}

async fn response(
    app: &axum::Router,
    request: Request<Body>,
) -> Result<(StatusCode, Option<String>, Vec<u8>), Failure> {
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, content_type, body.to_vec()))
}

/// The profile's mail payload, and the payload types in it.
fn mail_payload(body: &[u8]) -> Result<(Dictionary, Vec<String>), Failure> {
    let root: Dictionary = plist::from_bytes(body)?;
    let payloads: Vec<Dictionary> = root
        .get("PayloadContent")
        .and_then(Value::as_array)
        .ok_or("PayloadContent")?
        .iter()
        .filter_map(|p| p.as_dictionary().cloned())
        .collect();
    let types = payloads
        .iter()
        .filter_map(|p| p.get("PayloadType").and_then(Value::as_string))
        .map(str::to_owned)
        .collect();
    let mail = payloads
        .into_iter()
        .find(|p| p.get("PayloadType").and_then(Value::as_string) == Some("com.apple.mail.managed"))
        .ok_or("mail payload")?;
    Ok((mail, types))
}

fn text(payload: &Dictionary, key: &str) -> String {
    payload
        .get(key)
        .and_then(Value::as_string)
        .unwrap_or_default()
        .to_owned()
}

fn letters(password: &str) -> String {
    password.split_whitespace().collect()
}

#[tokio::test]
async fn only_the_signed_in_owner_with_that_app_password_downloads_the_profile() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ada, ada_token, ada_app) =
            person_with_app_password(&backend, "ada@contoso.example", "iPhone").await?;
        let (_, bob_token, bob_app) =
            person_with_app_password(&backend, "bob@contoso.example", "Mac").await?;
        let router = server::http::router(support::state(backend.clone()));

        // Without mail settings nothing is offered, and nothing can be downloaded.
        assert_eq!(
            backend
                .apple_profile_offer(&ada, ada_app.id, &ada_app.password)
                .await?,
            None,
            "{name}"
        );
        let (status, ..) = download(
            &router,
            Some(&ada_token),
            "same-origin",
            ada_app.id,
            &ada_app.password,
        )
        .await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");

        set_mail_settings(&backend, true).await?;
        let (status, content_type, body) = download(
            &router,
            Some(&ada_token),
            "same-origin",
            ada_app.id,
            &ada_app.password,
        )
        .await?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(
            content_type.as_deref(),
            Some("application/x-apple-aspen-config")
        );
        let (mail, types) = mail_payload(&body)?;
        assert!(
            types.contains(&"com.apple.caldav.account".to_owned()),
            "{types:?}"
        );
        assert!(
            !types.contains(&"com.apple.carddav.account".to_owned()),
            "{types:?}"
        );
        assert_eq!(
            text(&mail, "IncomingMailServerHostName"),
            "imap.contoso.example"
        );
        assert_eq!(
            text(&mail, "OutgoingMailServerHostName"),
            "smtp.contoso.example"
        );
        assert_eq!(
            text(&mail, "IncomingMailServerUsername"),
            "ada@contoso.example"
        );
        let password = text(&mail, "IncomingPassword");
        assert_eq!(password, letters(&ada_app.password));
        assert_eq!(text(&mail, "OutgoingPassword"), password);

        // The password in the profile signs in, as the mail server would ask.
        let checked = backend
            .check_app_password(
                "ada@contoso.example",
                &password,
                &Client {
                    ip: Some("192.0.2.30".to_owned()),
                    name: None,
                    protocol: None,
                },
            )
            .await?;
        assert!(matches!(checked, CheckOutcome::Accepted(_)), "{name}");

        // Another person's app password, a wrong password, another person's session, no
        // session, another site: all refused.
        let refusals = [
            (
                Some(ada_token.as_str()),
                "same-origin",
                bob_app.id,
                bob_app.password.clone(),
            ),
            (
                Some(ada_token.as_str()),
                "same-origin",
                ada_app.id,
                bob_app.password.clone(),
            ),
            (
                Some(ada_token.as_str()),
                "same-origin",
                bob_app.id,
                ada_app.password.clone(),
            ),
            (
                Some(ada_token.as_str()),
                "same-origin",
                ada_app.id,
                "abcd efgh ijkl mnop".to_owned(),
            ),
            (
                Some(bob_token.as_str()),
                "same-origin",
                ada_app.id,
                ada_app.password.clone(),
            ),
            (None, "same-origin", ada_app.id, ada_app.password.clone()),
            (
                Some(ada_token.as_str()),
                "cross-site",
                ada_app.id,
                ada_app.password.clone(),
            ),
        ];
        for (token, site, id, password) in refusals {
            let (status, content_type, body) =
                download(&router, token, site, id, &password).await?;
            assert!(
                status.is_client_error()
                    && content_type.as_deref() != Some("application/x-apple-aspen-config"),
                "{name}: {status} for id {id} from {site}"
            );
            assert!(!String::from_utf8_lossy(&body).contains(&letters(&password)));
        }

        let ada_id = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("ada")?
            .id;
        let profiles = backend
            .store()
            .audit_events_of(ada_id)
            .await?
            .into_iter()
            .filter(|e| e.kind == "app_password.profile")
            .count();
        assert_eq!(profiles, 1, "{name}: the one download is audited");
    }
    Ok(())
}

#[tokio::test]
async fn the_qr_link_works_once_then_refuses_and_keeps_no_password() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        set_mail_settings(&backend, false).await?;
        let (ada, _, created) =
            person_with_app_password(&backend, "ada@contoso.example", "iPad").await?;
        let router = server::http::router(support::state(backend.clone()));

        // Creating the app password made its offer, in the same call.
        let offer = created
            .apple_profile
            .clone()
            .ok_or("an offer with mail settings")?;
        assert!(offer.qr_svg.contains("<svg"), "{name}");
        let secret = letters(&created.password);
        assert!(
            !offer.link.contains(&secret),
            "the link carries the password sealed"
        );
        let rows = server::db::entities::apple_profile_link::Entity::find()
            .all(backend.store().connection())
            .await?;
        assert_eq!(rows.len(), 1, "{name}");
        for row in rows {
            assert!(!row.token_hash.contains(&secret) && !offer.link.contains(&row.token_hash));
        }

        let (status, content_type, body) = follow_link(&router, &offer.link).await?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(
            content_type.as_deref(),
            Some("application/x-apple-aspen-config")
        );
        let (mail, types) = mail_payload(&body)?;
        assert_eq!(
            types,
            ["com.apple.mail.managed"],
            "no CalDAV or CardDAV unless set"
        );
        assert_eq!(text(&mail, "IncomingPassword"), secret);

        let (again, ..) = follow_link(&router, &offer.link).await?;
        assert_eq!(again, StatusCode::NOT_FOUND, "{name}: a link works once");

        // An altered token, or a link of an app password deleted since, gives nothing.
        let fresh = backend
            .apple_profile_offer(&ada, created.id, &created.password)
            .await?
            .ok_or("offer")?;
        let mut altered = fresh.link.clone();
        let last = altered.pop().ok_or("link")?;
        altered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            follow_link(&router, &altered).await?.0,
            StatusCode::NOT_FOUND
        );
        // One for sending only would set up nothing on a device: no offer.
        backend
            .change_app_password_kind(&ada, created.id, app::model::AppPasswordKind::SendingOnly)
            .await?;
        assert!(
            backend
                .apple_profile_offer(&ada, created.id, &created.password)
                .await?
                .is_none(),
            "{name}"
        );
        backend.delete_app_password(&ada, created.id).await?;
        assert_eq!(
            follow_link(&router, &fresh.link).await?.0,
            StatusCode::NOT_FOUND,
            "{name}: the app password is gone"
        );
        // No offer for a password that is not the person's.
        assert!(matches!(
            backend
                .apple_profile_offer(&ada, created.id, &created.password)
                .await,
            Err(AppError::Invalid { .. })
        ));
    }
    Ok(())
}

#[tokio::test]
async fn the_qr_link_expires_after_ten_minutes() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        set_mail_settings(&backend, false).await?;
        let (ada, _, created) =
            person_with_app_password(&backend, "ada@contoso.example", "iPhone").await?;
        let issued_at = Utc::now();
        let token_of = |link: &str| -> Result<String, Failure> {
            Ok(link
                .split_once("?token=")
                .map(|(_, token)| token.to_owned())
                .ok_or("token")?)
        };
        let late = backend
            .issue_apple_profile_link(&ada, created.id, &created.password, issued_at)
            .await?
            .ok_or("offer")?;
        let in_time = backend
            .issue_apple_profile_link(&ada, created.id, &created.password, issued_at)
            .await?
            .ok_or("offer")?;
        let expired = backend
            .apple_profile_by_link(
                &ada,
                &token_of(&late.link)?,
                issued_at + Duration::minutes(10),
            )
            .await;
        assert!(matches!(expired, Err(AppError::NotFound)), "{name}");
        let taken = backend
            .apple_profile_by_link(
                &ada,
                &token_of(&in_time.link)?,
                issued_at + Duration::minutes(10) - Duration::seconds(1),
            )
            .await?;
        assert!(!taken.body.is_empty(), "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn the_command_line_sets_shows_and_clears_the_mail_settings() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let latchkey = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
                .args(args)
                .env("LATCHKEY_DATABASE_URL", &database.url)
                .env("LATCHKEY_LOG", "warn")
                .output()
        };
        let shown = latchkey(&["admin", "org", "show"])?;
        assert!(
            String::from_utf8_lossy(&shown.stdout).contains("mail-settings:               none"),
            "{name}"
        );

        let set = latchkey(&[
            "admin",
            "org",
            "mail",
            "--imap-host",
            "IMAP.Contoso.example",
            "--smtp-host",
            "smtp.contoso.example",
            "--smtp-port",
            "587",
            "--smtp-tls",
            "off",
            "--carddav-url",
            "https://dav.contoso.example/card/",
        ])?;
        let printed = String::from_utf8_lossy(&set.stdout);
        assert!(
            set.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&set.stderr)
        );
        assert!(
            printed.contains("mail-imap:                   imap.contoso.example:993 (TLS on)"),
            "{printed}"
        );
        assert!(
            printed.contains("mail-smtp:                   smtp.contoso.example:587 (TLS off)"),
            "{printed}"
        );
        assert!(
            printed.contains("mail-carddav-url:            https://dav.contoso.example/card/"),
            "{printed}"
        );
        let org = backend
            .store()
            .organization()
            .await?
            .ok_or("organization")?;
        let kept = server::db::mail_settings_of(&org).ok_or("mail settings")?;
        assert_eq!((kept.smtp.port, kept.smtp.tls), (587, false));
        assert!(kept.caldav_url.is_none());

        let bad = latchkey(&[
            "admin",
            "org",
            "mail",
            "--imap-host",
            "imap.contoso.example",
            "--imap-port",
            "70000",
            "--smtp-host",
            "smtp.contoso.example",
        ])?;
        assert!(!bad.status.success());
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("from 1 to 65535"),
            "{name}: {}",
            String::from_utf8_lossy(&bad.stderr)
        );

        let cleared = latchkey(&["admin", "org", "mail", "--clear"])?;
        assert!(cleared.status.success());
        assert!(
            String::from_utf8_lossy(&cleared.stdout).contains("mail-settings:               none")
        );
        let audited = backend
            .store()
            .audit_events(None, None)
            .await?
            .into_iter()
            .filter(|e| e.kind == "mail_settings.changed")
            .count();
        assert_eq!(
            audited, 2,
            "{name}: each change audited, the refused one not"
        );
    }
    Ok(())
}

/// Without JavaScript: the page answering a plain form post that creates an app password shows
/// the download form and the QR code (the offer is read while the page is rendered), and the
/// form's post downloads the profile.
#[tokio::test]
async fn without_javascript_the_answered_page_offers_the_profile() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        set_mail_settings(&backend, false).await?;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ada, _) =
            support::signed_in_with_authenticator(&backend, "ada@contoso.example", "192.0.2.1")
                .await?;
        let token = ada.session_token.clone().ok_or("session token")?;
        let router = server::http::router(support::state(backend.clone()));
        let request = Request::post("/api/create_app_password")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header(
                header::REFERER,
                "http://127.0.0.1:3000/security-info?add=app_password",
            )
            .header("Sec-Fetch-Site", "same-origin")
            .header(
                header::COOKIE,
                format!("{}={token}", server::use_cases::SESSION_COOKIE),
            )
            .body(Body::from("name=iPhone"))?;
        let (status, _, html) = response(&router, request).await?;
        let html = String::from_utf8(html)?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            html.contains("Set up an iPhone, iPad or Mac"),
            "{name}: {html}"
        );
        assert!(
            html.contains(r#"action="/app-passwords/apple-profile""#),
            "{name}"
        );
        assert!(html.contains("QR code") && html.contains("<svg"), "{name}");

        let created = backend.app_passwords(&ada).await?.items;
        let id = created.first().ok_or("the new app password")?.id;
        let password = html
            .split(r#"name="password" value=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or("the password in the download form")?;
        let (status, content_type, _) =
            download(&router, Some(&token), "same-origin", id, password).await?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(
            content_type.as_deref(),
            Some("application/x-apple-aspen-config")
        );
    }
    Ok(())
}
