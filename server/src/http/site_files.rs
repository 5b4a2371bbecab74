//! The site's files: the hashed WebAssembly, JavaScript and CSS under `/pkg/` (with the `.br`
//! and `.gz` copies made at build time) and the files copied from `public/`.
//!
//! A release build carries them inside the binary (`rust-embed`, from `target/site`, which
//! `cargo leptos build` fills before it compiles the server), so the binary copied alone to an
//! empty folder serves the whole app and reads no site file at run time. A debug build (`make
//! dev`, the Rust tests) serves the site root from disk instead, so rebuilt assets show
//! without recompiling the server.

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::LeptosOptions;

#[derive(rust_embed::RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../target/site"]
struct EmbeddedSite;

/// Where the site's files come from.
#[derive(Debug, Clone)]
pub enum SiteFiles {
    /// Built into this binary.
    Embedded,
    /// Read from this directory (Leptos' site root).
    Directory(PathBuf),
}

impl SiteFiles {
    /// The files built into a release binary, when it has them; the site root otherwise.
    pub fn for_options(options: &LeptosOptions) -> Self {
        if cfg!(not(debug_assertions)) && EmbeddedSite::iter().next().is_some() {
            Self::Embedded
        } else {
            Self::Directory(PathBuf::from(&*options.site_root))
        }
    }

    /// The names of the app's main JavaScript glue, WebAssembly and stylesheet (hashed, as
    /// cargo-leptos named them), read from the embedded files; `None` from a directory, where
    /// `hash.txt` beside the binary names them.
    pub fn asset_names(&self, options: &LeptosOptions) -> Option<app::app::AssetNames> {
        let Self::Embedded = self else {
            return None;
        };
        let pkg = options.site_pkg_dir.trim_matches('/');
        let output = &*options.output_name;
        let stem_with = |extension: &str| {
            EmbeddedSite::iter().find_map(|path| {
                let name = path.strip_prefix(pkg)?.strip_prefix('/')?;
                let stem = name.strip_suffix(extension)?;
                let hash = stem.strip_prefix(output)?.strip_prefix('.')?;
                let plain = !hash.contains('.') && !hash.is_empty();
                plain.then(|| stem.to_owned())
            })
        };
        Some(app::app::AssetNames {
            js: stem_with(".js")?,
            wasm: stem_with(".wasm")?,
            css: stem_with(".css")?,
        })
    }

    /// The routes of the files: `/pkg/...` and each top-level file.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self, options: &LeptosOptions) -> Router<S> {
        match self {
            Self::Embedded => embedded_routes(options),
            Self::Directory(root) => directory_routes(root, options),
        }
    }
}

/// Whether a top-level file name is one to serve (not a precompressed copy or an odd name).
fn is_public_name(name: &str) -> bool {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let precompressed_copy = name.ends_with(".br") || name.ends_with(".gz");
    plain && !precompressed_copy
}

fn embedded_routes<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let pkg = options.site_pkg_dir.trim_matches('/').to_owned();
    let mut router = Router::new().route(
        &format!("/{pkg}/{{*path}}"),
        get(
            move |Path(rest): Path<String>, headers: HeaderMap| async move {
                embedded_file(&format!("{pkg}/{rest}"), &headers)
            },
        ),
    );
    for path in EmbeddedSite::iter() {
        if path.contains('/') || !is_public_name(&path) {
            continue;
        }
        let name = path.into_owned();
        router = router.route(
            &format!("/{name}"),
            get(move |headers: HeaderMap| async move { embedded_file(&name, &headers) }),
        );
    }
    router
}

/// Whether the client takes `coding` (`Accept-Encoding`, a zero q-value refusing it).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name_matches = parts.next().is_some_and(|n| n.eq_ignore_ascii_case(coding));
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name_matches && !refused
        })
}

/// One embedded file, in the best encoding the client takes, with an `ETag` (its SHA-256)
/// that a repeat request can present for a 304.
fn embedded_file(path: &str, headers: &HeaderMap) -> Response {
    let variant = [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(coding, _)| accepts(headers, coding))
        .find_map(|(coding, extension)| {
            EmbeddedSite::get(&format!("{path}{extension}")).map(|file| (Some(coding), file))
        })
        .or_else(|| EmbeddedSite::get(path).map(|file| (None, file)));
    let Some((coding, file)) = variant else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let content_type = mime_guess::from_path(path).first_or_octet_stream();
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.data))
    };
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type.as_ref()) {
        response_headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(coding) = coding {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

/// Static files from `root`, each route served by a service built here once: `/pkg/` (with the
/// `.br`/`.gz` copies) and every file at the top of the site root. A site root that does not
/// exist (tests without a build) gives no routes.
fn directory_routes<S: Clone + Send + Sync + 'static>(
    root: &std::path::Path,
    options: &LeptosOptions,
) -> Router<S> {
    use tower_http::services::{ServeDir, ServeFile};

    let pkg_dir = options.site_pkg_dir.trim_matches('/');
    let assets = ServeDir::new(root.join(pkg_dir))
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    let mut router = Router::new().nest_service(&format!("/{pkg_dir}"), assets);
    let Ok(entries) = std::fs::read_dir(root) else {
        return router;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !path.is_file() || !is_public_name(name) {
            continue;
        }
        router = router.route_service(
            &format!("/{name}"),
            ServeFile::new(&path)
                .precompressed_br()
                .precompressed_gzip(),
        );
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_encoding(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(header::ACCEPT_ENCODING, value);
        }
        headers
    }

    #[test]
    fn accept_encoding_is_read_with_its_q_values() {
        assert!(accepts(&with_encoding("gzip, deflate, br, zstd"), "br"));
        assert!(accepts(&with_encoding("BR;q=0.5"), "br"));
        assert!(!accepts(&with_encoding("br;q=0, gzip"), "br"));
        assert!(accepts(&with_encoding("br;q=0, gzip"), "gzip"));
        assert!(!accepts(&with_encoding("identity"), "gzip"));
        assert!(!accepts(&HeaderMap::new(), "br"));
    }

    #[test]
    fn only_plain_top_level_names_are_served() {
        assert!(is_public_name("favicon.svg"));
        assert!(!is_public_name("favicon.svg.br"));
        assert!(!is_public_name("odd name.txt"));
    }
}
