//! Signed errors in page URLs. Leptos sends a refused plain form post back to its page with the
//! server function's typed error in the query (`__path`, `__err`: base64 of its JSON), which the
//! page's `ServerAction` shows. Anyone can write such a URL, and some errors carry text, so a
//! link could make Latchkey's own page say what an attacker likes ("call this number"). The
//! server therefore signs the errors it writes (`__sig`: expiry and HMAC under the server secret
//! key), and a page request carrying an unsigned, altered or expired one is sent to the same
//! URL without it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use crate::http::AppState;
use crate::secret_key::SecretKey;

const PURPOSE: &str = "form error in a URL";
/// How long a signed error URL shows its error: long enough to read it, short for a link.
const LIFETIME_SECONDS: i64 = 15 * 60;
const PATH: &str = "__path";
const ERROR: &str = "__err";
const SIGNATURE: &str = "__sig";

/// Signs the errors server functions put in redirects; strips unsigned ones from page URLs.
pub async fn sign_form_errors(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let key = &state.backend.secret_key;
    let now = Utc::now().timestamp();
    if request.method() == Method::GET {
        if let Some(query) = request.uri().query()
            && query.contains(ERROR)
            && !signed_correctly(key, &pairs(query), now)
        {
            return Redirect::to(&without_error(request.uri())).into_response();
        }
        return next.run(request).await;
    }
    let server_function = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if server_function
        && let Some(location) = response.headers().get(header::LOCATION)
        && let Some(signed) = location
            .to_str()
            .ok()
            .and_then(|l| sign_location(key, l, now))
        && let Ok(value) = HeaderValue::from_str(&signed)
    {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn message(expires: i64, path: &str, error: &str) -> String {
    format!("{expires}\n{path}\n{error}")
}

fn signed_correctly(key: &SecretKey, pairs: &[(String, String)], now: i64) -> bool {
    let (Some(path), Some(error), Some(signature)) = (
        value(pairs, PATH),
        value(pairs, ERROR),
        value(pairs, SIGNATURE),
    ) else {
        return false;
    };
    let Some((expires, mac)) = signature.split_once('.') else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    now <= expires && key.verify_keyed_hash(PURPOSE, message(expires, path, error).as_bytes(), mac)
}

/// `location` with its error signed (or, without an error, with a stale signature removed).
/// `None` when there is nothing to change.
fn sign_location(key: &SecretKey, location: &str, now: i64) -> Option<String> {
    let uri: Uri = location.parse().ok()?;
    let query = uri.query()?;
    let mut pairs: Vec<(String, String)> = pairs(query)
        .into_iter()
        .filter(|(name, _)| name != SIGNATURE)
        .collect();
    if let (Some(path), Some(error)) = (value(&pairs, PATH), value(&pairs, ERROR)) {
        let expires = now + LIFETIME_SECONDS;
        let mac = key.keyed_hash(PURPOSE, message(expires, path, error).as_bytes());
        pairs.push((SIGNATURE.to_owned(), format!("{expires}.{mac}")));
    } else if !query.contains(SIGNATURE) {
        return None;
    }
    Some(with_query(&uri, &pairs))
}

/// The URL without the error Leptos put in it.
fn without_error(uri: &Uri) -> String {
    let kept: Vec<(String, String)> = pairs(uri.query().unwrap_or_default())
        .into_iter()
        .filter(|(name, _)| ![PATH, ERROR, SIGNATURE].contains(&name.as_str()))
        .collect();
    with_query(uri, &kept)
}

fn with_query(uri: &Uri, pairs: &[(String, String)]) -> String {
    let origin = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
        _ => String::new(),
    };
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if query.is_empty() {
        format!("{origin}{}", uri.path())
    } else {
        format!("{origin}{}?{query}", uri.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_bytes([7; 32])
    }

    #[test]
    fn the_server_signs_its_errors_and_checks_them() {
        let now = 1_800_000_000;
        let location =
            "http://127.0.0.1:3000/signin?username=ada&__path=%2Fapi%2Fsign_in&__err=eyJ9";
        let signed = sign_location(&key(), location, now).unwrap_or_default();
        assert!(
            signed.starts_with("http://127.0.0.1:3000/signin?username=ada&"),
            "{signed}"
        );
        let uri: Uri = signed.parse().unwrap_or_default();
        let signed_pairs = pairs(uri.query().unwrap_or_default());
        assert!(signed_correctly(&key(), &signed_pairs, now));
        assert!(signed_correctly(
            &key(),
            &signed_pairs,
            now + LIFETIME_SECONDS
        ));
        assert!(
            !signed_correctly(&key(), &signed_pairs, now + LIFETIME_SECONDS + 1),
            "expired"
        );
        assert!(
            !signed_correctly(&SecretKey::from_bytes([8; 32]), &signed_pairs, now),
            "another key"
        );

        let altered: Vec<(String, String)> = signed_pairs
            .iter()
            .map(|(k, v)| {
                if k == ERROR {
                    (k.clone(), "eyJ8".to_owned())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        assert!(!signed_correctly(&key(), &altered, now), "another error");
        let unsigned = pairs("__path=%2Fapi%2Fsign_in&__err=eyJ9");
        assert!(!signed_correctly(&key(), &unsigned, now));
    }

    #[test]
    fn unsigned_errors_are_taken_out_of_the_url() {
        let uri: Uri = "/signin?username=x&__path=%2Fapi%2Fsign_in&__err=abc&__sig=1.00"
            .parse()
            .unwrap_or_default();
        assert_eq!(without_error(&uri), "/signin?username=x");
        let bare: Uri = "/security-info?__err=abc".parse().unwrap_or_default();
        assert_eq!(without_error(&bare), "/security-info");
        // A success after an error: Leptos drops the error, the stale signature goes too.
        assert_eq!(
            sign_location(&key(), "http://h/security-info?add=method&__sig=1.00", 0).as_deref(),
            Some("http://h/security-info?add=method")
        );
        assert_eq!(sign_location(&key(), "/security-info", 0), None);
    }
}
