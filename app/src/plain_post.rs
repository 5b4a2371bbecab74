//! Whether the request being answered is a plain HTML form post: a browser posting a form
//! itself (before or without the WebAssembly), answered with a redirect or a page, where the
//! WebAssembly and API clients ask for JSON and get a status. A leaf: the modules that answer
//! requests (`backend`, `error`, `form_post`) all read it.

use leptos::prelude::use_context;

/// Whether a request asks for HTML.
pub fn asks_for_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Whether this server-function call is a plain HTML form post.
pub fn is_form_post() -> bool {
    use axum::http::request::Parts;
    use_context::<Parts>().is_some_and(|parts| asks_for_html(&parts.headers))
}

/// Gives a request whose fields could not be read (the server function never ran) the status
/// 400 instead of server_fn's 500. A plain form post keeps its redirect back to the page.
pub fn answer_bad_request() {
    if !is_form_post()
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(axum::http::StatusCode::BAD_REQUEST);
    }
}
