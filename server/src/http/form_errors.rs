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
    mut request: Request,
    next: Next,
) -> Response {
    let key = &state.backend.secret_key;
    let now = Utc::now().timestamp();
    if request.method() == Method::GET {
        let uri = request.uri();
        let pairs = pairs(uri.query().unwrap_or_default());
        if carries_error(&pairs) && !signed_correctly(key, uri.path(), &pairs, now) {
            return Redirect::to(&without_error(uri, false)).into_response();
        }
        return next.run(request).await;
    }
    let server_function = request.uri().path().starts_with("/api/");
    if server_function {
        // Leptos sends a plain form post back to its Referer with the error appended: an error
        // already in the Referer is someone else's text, never ours to sign.
        let referer = request
            .headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Uri>().ok());
        if let Some(referer) = referer
            && carries_error(&pairs(referer.query().unwrap_or_default()))
        {
            match HeaderValue::from_str(&without_error(&referer, true)) {
                Ok(clean) => request.headers_mut().insert(header::REFERER, clean),
                Err(_) => request.headers_mut().remove(header::REFERER),
            };
        }
    }
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

/// The query's pairs, names and values decoded as Leptos and browsers decode them.
fn pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

fn is_error_key(name: &str) -> bool {
    [PATH, ERROR, SIGNATURE].contains(&name)
}

fn carries_error(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(name, _)| is_error_key(name))
}

/// The value of `name` when it is there exactly once.
fn only<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut found = pairs.iter().filter(|(key, _)| key == name);
    match (found.next(), found.next()) {
        (Some((_, value)), None) => Some(value.as_str()),
        _ => None,
    }
}

fn message(expires: i64, page: &str, path: &str, error: &str) -> String {
    format!("{expires}\n{page}\n{path}\n{error}")
}

fn signed_correctly(key: &SecretKey, page: &str, pairs: &[(String, String)], now: i64) -> bool {
    let (Some(path), Some(error), Some(signature)) = (
        only(pairs, PATH),
        only(pairs, ERROR),
        only(pairs, SIGNATURE),
    ) else {
        return false;
    };
    let Some((expires, mac)) = signature.split_once('.') else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    now <= expires
        && key.verify_keyed_hash(PURPOSE, message(expires, page, path, error).as_bytes(), mac)
}

/// `location` with the error Leptos appended (its last `__path` and `__err`) signed for the
/// page it leads to, and any other error parameters removed. `None` when there is nothing to
/// change.
fn sign_location(key: &SecretKey, location: &str, now: i64) -> Option<String> {
    let uri: Uri = location.parse().ok()?;
    let all = pairs(uri.query()?);
    if !carries_error(&all) {
        return None;
    }
    let last = |name: &str| {
        all.iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let mut kept: Vec<(String, String)> = all
        .iter()
        .filter(|(name, _)| !is_error_key(name))
        .cloned()
        .collect();
    if let (Some(path), Some(error)) = (last(PATH), last(ERROR)) {
        let expires = now + LIFETIME_SECONDS;
        let mac = key.keyed_hash(
            PURPOSE,
            message(expires, uri.path(), &path, &error).as_bytes(),
        );
        kept.push((PATH.to_owned(), path));
        kept.push((ERROR.to_owned(), error));
        kept.push((SIGNATURE.to_owned(), format!("{expires}.{mac}")));
    }
    Some(with_query(&uri, &kept, true))
}

/// `uri` without error parameters. Without `keep_origin`, a path on this site (see
/// [`with_query`]).
fn without_error(uri: &Uri, keep_origin: bool) -> String {
    let kept: Vec<(String, String)> = pairs(uri.query().unwrap_or_default())
        .into_iter()
        .filter(|(name, _)| !is_error_key(name))
        .collect();
    with_query(uri, &kept, keep_origin)
}

/// `uri` with `pairs` as its query. Without `keep_origin`, a path on this site only: leading
/// slashes and backslashes are collapsed, so `//elsewhere.example` cannot become a redirect
/// to another site.
fn with_query(uri: &Uri, pairs: &[(String, String)], keep_origin: bool) -> String {
    let origin = match (keep_origin, uri.scheme_str(), uri.authority()) {
        (true, Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
        _ => String::new(),
    };
    let path = if keep_origin && !origin.is_empty() {
        uri.path().to_owned()
    } else {
        format!("/{}", uri.path().trim_start_matches(['/', '\\']))
    };
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if query.is_empty() {
        format!("{origin}{path}")
    } else {
        format!("{origin}{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_bytes([7; 32])
    }

    fn signed_pairs(location: &str) -> (String, Vec<(String, String)>) {
        let uri: Uri = location.parse().unwrap_or_default();
        (
            uri.path().to_owned(),
            pairs(uri.query().unwrap_or_default()),
        )
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
        let (page, signed) = signed_pairs(&signed);
        assert!(signed_correctly(&key(), &page, &signed, now));
        assert!(signed_correctly(
            &key(),
            &page,
            &signed,
            now + LIFETIME_SECONDS
        ));
        assert!(
            !signed_correctly(&key(), &page, &signed, now + LIFETIME_SECONDS + 1),
            "expired"
        );
        assert!(
            !signed_correctly(&SecretKey::from_bytes([8; 32]), &page, &signed, now),
            "another key"
        );
        assert!(
            !signed_correctly(&key(), "/security-info", &signed, now),
            "another page"
        );
        let altered: Vec<(String, String)> = signed
            .iter()
            .map(|(k, v)| {
                let v = if k == ERROR {
                    "eyJ8".to_owned()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        assert!(
            !signed_correctly(&key(), &page, &altered, now),
            "another error"
        );
        let mut twice = signed.clone();
        twice.push((ERROR.to_owned(), "eyJ8".to_owned()));
        assert!(
            !signed_correctly(&key(), &page, &twice, now),
            "a second error appended"
        );
        let unsigned = pairs("__path=%2Fapi%2Fsign_in&__err=eyJ9");
        assert!(!signed_correctly(&key(), &page, &unsigned, now));
    }

    #[test]
    fn only_the_error_leptos_appended_is_signed() {
        // An error already in the page's URL (from a crafted Referer or `next`) is dropped.
        let location = "http://h/signin?__path=%2Fapi%2Fsign_in&__err=QVRUQUNL&x=1&__path=%2Fapi%2Fsign_in&__err=eyJ9";
        let signed = sign_location(&key(), location, 0).unwrap_or_default();
        assert!(!signed.contains("QVRUQUNL"), "{signed}");
        assert!(signed.contains("__err=eyJ9"), "{signed}");
    }

    #[test]
    fn encoded_names_count_as_errors() {
        assert!(carries_error(&pairs("%5F%5Ferr=abc")));
        assert!(carries_error(&pairs("a=1&__sig=2")));
        assert!(!carries_error(&pairs("username=__err")));
    }

    #[test]
    fn unsigned_errors_are_taken_out_of_the_url() {
        let uri: Uri = "/signin?username=x&__path=%2Fapi%2Fsign_in&%5F%5Ferr=abc&__sig=1.00"
            .parse()
            .unwrap_or_default();
        assert_eq!(without_error(&uri, false), "/signin?username=x");
        let bare: Uri = "/security-info?__err=abc".parse().unwrap_or_default();
        assert_eq!(without_error(&bare, false), "/security-info");
        // Never a redirect to another site.
        let elsewhere: Uri = "//elsewhere.example/?__err=abc".parse().unwrap_or_default();
        assert_eq!(without_error(&elsewhere, false), "/elsewhere.example/");
        let absolute: Uri = "http://elsewhere.example/x?__err=abc"
            .parse()
            .unwrap_or_default();
        assert_eq!(without_error(&absolute, false), "/x");
        // A success after an error: Leptos drops the error, the stale signature goes too.
        assert_eq!(
            sign_location(&key(), "http://h/security-info?add=method&__sig=1.00", 0).as_deref(),
            Some("http://h/security-info?add=method")
        );
        assert_eq!(sign_location(&key(), "/security-info", 0), None);
    }
}
