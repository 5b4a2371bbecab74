//! The Apple configuration profile of a new app password, as a file: `POST
//! /app-passwords/apple-profile` (the dialog's download form, signed in, with the password it
//! shows) and `GET /apple-profile?token=` (the QR code's single-use link). Both call
//! `use_cases::apple_profiles`, which says why the password is never stored.

use app::backend::RequestContext;
use app::secret::Secret;
use axum::extract::{Form, FromRequest, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use crate::domain::apple_profile::CONTENT_TYPE;
use crate::use_cases::apple_profiles::ProfileFile;

/// The download form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct DownloadForm {
    id: i32,
    password: Secret,
}

/// The QR code link's query.
#[derive(Deserialize)]
pub(super) struct LinkQuery {
    #[serde(default)]
    token: String,
}

fn context_of(request: &Request) -> RequestContext {
    request
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default()
}

/// The dialog's download form.
pub(super) async fn download(State(state): State<AppState>, request: Request) -> Response {
    let context = context_of(&request);
    let Ok(Form(form)) = Form::<DownloadForm>::from_request(request, &()).await else {
        return refused(StatusCode::BAD_REQUEST, "The form was incomplete.");
    };
    match state
        .backend
        .apple_profile_download(&context, form.id, form.password.expose())
        .await
    {
        Ok(file) => profile_response(file),
        Err(error) => error_response(&error),
    }
}

/// The QR code's link: the profile once, then "not valid".
pub(super) async fn by_link(
    State(state): State<AppState>,
    Query(query): Query<LinkQuery>,
    request: Request,
) -> Response {
    let context = context_of(&request);
    match state
        .backend
        .apple_profile_by_link(&context, &query.token, chrono::Utc::now())
        .await
    {
        Ok(file) => profile_response(file),
        Err(error) => error_response(&error),
    }
}

fn profile_response(file: ProfileFile) -> Response {
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.file_name))
            .unwrap_or_else(|_| {
                HeaderValue::from_static("attachment; filename=\"latchkey.mobileconfig\"")
            });
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CONTENT_DISPOSITION, disposition),
            // It holds a password: no cache may keep it.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        file.body,
    )
        .into_response()
}

fn error_response(error: &app::error::AppError) -> Response {
    refused(
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &error.to_string(),
    )
}

fn refused(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        format!("{message}\n"),
    )
        .into_response()
}
