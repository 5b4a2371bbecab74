//! Signed-in pages answered again from memory. Rendering Security info (four reads and a
//! 30 KB page) costs about thirty times what serving a file does; a person who reloads it, or
//! comes back to it, is shown the page rendered last time for the same session when nothing it
//! shows can have changed since:
//! - the session's and the organization's view versions (migration 12: triggers count them up
//!   with every change to the person's rows, sessions, app passwords, authenticator apps and
//!   the organization, on every instance) are what they were before that render: one query,
//!   shared by the views that arrive together ([`VersionReads`]);
//! - the page is younger than [`MAX_AGE`] (its relative times, "3 minutes ago", move on), and
//!   the session needs no write yet: not due for its `last_seen_at` touch, not expired, and its
//!   "recently signed in" window has not closed since (see [`fresh_until`]).
//!
//! Only a plain `GET` of a page in [`CACHED_PAGES`] without a query, carrying the session
//! cookie and no other, is looked up; only a `200` HTML answer without `Set-Cookie`, whose
//! server functions all succeeded, is kept.
//! The page's scripts carry the CSP nonce of the request that rendered it: a page served again
//! gets this request's nonce in their place, so no two answers share one.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use app::backend::RequestContext;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use tokio::sync::oneshot;

use crate::db::entities::session;
use crate::db::{Store, ViewVersions};
use crate::delivery::CspNonce;
use crate::domain::app_password::REVERIFY_WINDOW;
use crate::domain::session::{SessionPolicy, TOUCH_INTERVAL, token_hash};
use crate::http::AppState;

/// Pages kept, each showing nothing but what view versions cover (the person, their sessions,
/// app passwords and authenticator app, the organization's settings).
pub const CACHED_PAGES: [&str; 1] = ["/security-info"];

/// The longest a page is shown again: its relative times are then at most this far behind.
pub const MAX_AGE: Duration = Duration::seconds(10);

/// Memory for kept pages (a Security info page with 40 app passwords is about 32 KB).
const CAPACITY_BYTES: u64 = 32 * 1024 * 1024;

/// A page larger than this is not kept.
const MAX_PAGE_BYTES: usize = 512 * 1024;

/// One rendered page and what it was rendered from.
struct KeptPage {
    versions: ViewVersions,
    fresh_until: DateTime<Utc>,
    headers: HeaderMap,
    /// The body, cut where the nonce of the request that rendered it stood.
    pieces: Vec<Bytes>,
}

impl KeptPage {
    fn size(&self) -> usize {
        self.pieces.iter().map(Bytes::len).sum()
    }

    /// The page with `nonce` wherever the rendering request's nonce stood.
    fn answer(&self, nonce: &str) -> Response {
        let mut body = Vec::with_capacity(self.size() + nonce.len() * self.pieces.len());
        for (at, piece) in self.pieces.iter().enumerate() {
            if at > 0 {
                body.extend_from_slice(nonce.as_bytes());
            }
            body.extend_from_slice(piece);
        }
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// The kept pages of one instance, by session (its token's hash) and path.
pub struct PageCache {
    pages: moka::sync::Cache<(String, &'static str), Arc<KeptPage>>,
    served: AtomicU64,
    versions: VersionReads,
}

impl Default for PageCache {
    fn default() -> Self {
        Self {
            pages: moka::sync::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|_, page: &Arc<KeptPage>| u32::try_from(page.size()).unwrap_or(u32::MAX))
                .time_to_live(MAX_AGE.to_std().unwrap_or_default())
                .build(),
            served: AtomicU64::new(0),
            versions: VersionReads::default(),
        }
    }
}

/// Most sessions one version read asks about.
const MAX_READ_BATCH: usize = 128;

/// Most views waiting for a read; past it a view is rendered (a database that has stopped
/// answering must not gather every view in memory).
const MAX_WAITING: usize = 4096;

/// Version reads shared by the views that arrive together: a view waits for the next read to
/// start, and that read answers the views waiting then (up to [`MAX_READ_BATCH`]) in one
/// query: on PostgreSQL, one round trip for many views instead of one each. A read used for a
/// view always starts after the view arrived, so it sees every change committed before: what
/// one read per view would see. One read is in flight per instance, which is what lets the
/// views arriving meanwhile share the next; a read that cannot get a connection gives up after
/// the pool's acquire timeout, and its views are rendered.
#[derive(Default)]
pub struct VersionReads {
    shared: Arc<Reads>,
}

/// The state the views and the reading task share.
#[derive(Default)]
struct Reads {
    waiting: Mutex<Waiting>,
    queries: AtomicU64,
}

/// Views waiting for versions, and whether a task is reading for them.
#[derive(Default)]
struct Waiting {
    views: VecDeque<(String, oneshot::Sender<Option<ViewVersions>>)>,
    reading: bool,
}

impl VersionReads {
    /// How many queries the reads have taken (for tests and benchmarks).
    pub fn queries(&self) -> u64 {
        self.shared.queries.load(Ordering::Relaxed)
    }

    /// The view versions of the session with this token hash, read after this call began;
    /// `None` when the session does not exist, the database could not be read, or too many
    /// views wait already.
    pub async fn read(&self, store: &Store, token_hash: String) -> Option<ViewVersions> {
        let (answer, answered) = oneshot::channel();
        let start_reading = {
            let mut waiting = self.shared.lock();
            if waiting.views.len() >= MAX_WAITING {
                return None;
            }
            waiting.views.push_back((token_hash, answer));
            !std::mem::replace(&mut waiting.reading, true)
        };
        if start_reading {
            // Made before the task first runs, so that a task dropped unpolled still hands
            // the reading over; a task of its own, so that a view whose client goes away
            // does not stop the reads others wait for.
            let reader = Reader {
                reads: Arc::clone(&self.shared),
                finished: false,
            };
            let store = store.clone();
            tokio::spawn(async move { reader.read_while_waited_for(store).await });
        }
        answered.await.ok().flatten()
    }
}

impl Reads {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The task reading for the waiting views. Dropped before it finishes (a panic, a runtime
/// shutting down), it hands the reading over: the next view starts a reader, and the views
/// left waiting are answered `None` (rendered).
struct Reader {
    reads: Arc<Reads>,
    finished: bool,
}

impl Reader {
    /// Reads for the views waiting, batch after batch, until none wait.
    async fn read_while_waited_for(mut self, store: Store) {
        loop {
            let batch: Vec<_> = {
                let mut waiting = self.reads.lock();
                // A view whose client has gone needs no answer.
                waiting.views.retain(|(_, answer)| !answer.is_closed());
                if waiting.views.is_empty() {
                    waiting.reading = false;
                    self.finished = true;
                    return;
                }
                let take = waiting.views.len().min(MAX_READ_BATCH);
                waiting.views.drain(..take).collect()
            };
            let mut token_hashes: Vec<&str> = batch.iter().map(|(hash, _)| hash.as_str()).collect();
            token_hashes.sort_unstable();
            token_hashes.dedup();
            self.reads.queries.fetch_add(1, Ordering::Relaxed);
            let versions = match store.view_versions(&token_hashes).await {
                Ok(versions) => versions,
                Err(error) => {
                    tracing::warn!(%error, "could not read view versions: pages are rendered");
                    HashMap::new()
                }
            };
            for (token_hash, answer) in batch {
                let _ = answer.send(versions.get(&token_hash).copied());
            }
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if !self.finished {
            let mut waiting = self.reads.lock();
            waiting.reading = false;
            // Dropping their senders answers the views left waiting.
            waiting.views.clear();
        }
    }
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("pages", &self.pages.entry_count())
            .field("served", &self.served())
            .finish()
    }
}

impl PageCache {
    /// How many answers came from memory since start.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// The reads of view versions behind its answers.
    pub fn version_reads(&self) -> &VersionReads {
        &self.versions
    }
}

/// Until when a page rendered at `rendered_at` for `session` may be shown again: [`MAX_AGE`]
/// at most, and never past the moment a view must write to the session (its touch is due) or
/// would find it expired, nor past the end of its "recently signed in" window (the page says
/// whether creating an app password will ask for the password again).
pub fn fresh_until(
    rendered_at: DateTime<Utc>,
    session: &session::Model,
    policy: &SessionPolicy,
) -> DateTime<Utc> {
    let mut until = (rendered_at + MAX_AGE)
        .min(session.last_seen_at + TOUCH_INTERVAL)
        .min(session.last_seen_at + policy.idle)
        .min(session.created_at + policy.absolute);
    let recent_until = session.verified_at + REVERIFY_WINDOW;
    if recent_until > rendered_at {
        until = until.min(recent_until);
    }
    until
}

/// The body cut at every occurrence of `nonce`.
fn cut_at(body: &Bytes, nonce: &str) -> Vec<Bytes> {
    let needle = nonce.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while !needle.is_empty() && at + needle.len() <= body.len() {
        if &body[at..at + needle.len()] == needle {
            pieces.push(body.slice(start..at));
            at += needle.len();
            start = at;
        } else {
            at += 1;
        }
    }
    pieces.push(body.slice(start..));
    pieces
}

/// The page path of a request that may be answered from memory.
fn kept_path(request: &Request, session_cookie: &str) -> Option<&'static str> {
    if request.method() != Method::GET || request.uri().query().is_some() {
        return None;
    }
    let path = CACHED_PAGES
        .into_iter()
        .find(|page| *page == request.uri().path())?;
    // The session cookie and nothing else (parsed as `http::session_token` does): the page
    // depends on no other.
    let mut cookies = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse);
    let only = cookies.next()?.ok()?;
    (only.name() == session_cookie && cookies.next().is_none()).then_some(path)
}

/// Middleware: answers a repeat view of a kept page from memory, and keeps what it renders.
pub async fn answer_from_memory(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let backend = &state.backend;
    let Some(path) = kept_path(&request, backend.session_cookie_name()) else {
        return next.run(request).await;
    };
    let (Some(context), Some(nonce)) = (
        request.extensions().get::<RequestContext>().cloned(),
        request.extensions().get::<CspNonce>().cloned(),
    ) else {
        return next.run(request).await;
    };
    let Some(token) = context.session_token.as_deref().filter(|t| !t.is_empty()) else {
        return next.run(request).await;
    };
    let key = (token_hash(token), path);
    // Read before rendering: whatever changes after this makes the page rendered now stale.
    let cache = &state.page_cache;
    let Some(versions) = cache.versions.read(&backend.store, key.0.clone()).await else {
        return next.run(request).await;
    };
    if let Some(page) = cache.pages.get(&key)
        && page.versions == versions
        && Utc::now() < page.fresh_until
    {
        cache.served.fetch_add(1, Ordering::Relaxed);
        return page.answer(&nonce.0);
    }
    let rendered_at = Utc::now();
    let response = next.run(request).await;
    let keep = response.status() == StatusCode::OK
        && !response.headers().contains_key(header::SET_COOKIE)
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
    if !keep {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            tracing::error!(%error, path, "rendering a page failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "This page could not be shown. Reload to try again.\n",
            )
                .into_response();
        }
    };
    // The session as the render read it (remembered for this request: no second query).
    let signed_in = backend.signed_in(&context).await.ok().flatten();
    // A page showing an error (a server function failed while it streamed) would go on
    // showing it: not kept. Known only once the whole body is rendered.
    if let Some(signed_in) = signed_in.filter(|s| s.user.id == versions.user_id)
        && body.len() <= MAX_PAGE_BYTES
        && !context.memo.failed()
    {
        let fresh_until = fresh_until(
            rendered_at,
            &signed_in.session,
            &backend.settings.session_policy,
        );
        if rendered_at < fresh_until {
            let mut headers = parts.headers.clone();
            headers.remove(header::CONTENT_LENGTH);
            let page = KeptPage {
                versions,
                fresh_until,
                headers,
                pieces: cut_at(&body, &nonce.0),
            };
            cache.pages.insert(key, Arc::new(page));
        }
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_at(
        created: DateTime<Utc>,
        last_seen: DateTime<Utc>,
        verified: DateTime<Utc>,
    ) -> session::Model {
        session::Model {
            id: 1,
            user_id: 1,
            token_hash: String::new(),
            created_at: created,
            last_seen_at: last_seen,
            verified_at: verified,
            ip: None,
            user_agent: None,
            pending_second_step: false,
        }
    }

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle: Duration::hours(8),
            absolute: Duration::hours(24),
        }
    }

    #[test]
    fn a_page_is_fresh_for_max_age_at_most() {
        let now = Utc::now();
        let session = session_at(now - Duration::hours(1), now, now - Duration::hours(1));
        assert_eq!(fresh_until(now, &session, &policy()), now + MAX_AGE);
    }

    #[test]
    fn a_page_is_stale_once_the_session_needs_its_touch() {
        let now = Utc::now();
        let seen = now - TOUCH_INTERVAL + Duration::seconds(3);
        let session = session_at(now - Duration::hours(1), seen, now - Duration::hours(1));
        assert_eq!(fresh_until(now, &session, &policy()), seen + TOUCH_INTERVAL);
        // Already due: not fresh at all (the render touched it; the next view renders again).
        let due = session_at(now - Duration::hours(1), now - TOUCH_INTERVAL, now);
        assert!(fresh_until(now, &due, &policy()) <= now);
    }

    #[test]
    fn a_page_is_stale_when_the_session_expires() {
        let now = Utc::now();
        let created = now - policy().absolute + Duration::seconds(2);
        let session = session_at(created, now, now - Duration::hours(1));
        assert_eq!(
            fresh_until(now, &session, &policy()),
            created + policy().absolute
        );
    }

    #[test]
    fn a_page_is_stale_when_recently_signed_in_ends() {
        let now = Utc::now();
        let verified = now - REVERIFY_WINDOW + Duration::seconds(4);
        let session = session_at(now - Duration::hours(1), now, verified);
        assert_eq!(
            fresh_until(now, &session, &policy()),
            verified + REVERIFY_WINDOW
        );
    }

    #[test]
    fn the_nonce_is_cut_out_wherever_it_stands() {
        let body =
            Bytes::from_static(b"<script nonce=\"N0NCE\">a</script><script nonce=\"N0NCE\">");
        let pieces = cut_at(&body, "N0NCE");
        assert_eq!(pieces.len(), 3);
        let page = KeptPage {
            versions: ViewVersions {
                user_id: 1,
                person: 1,
                organization: 1,
            },
            fresh_until: Utc::now(),
            headers: HeaderMap::new(),
            pieces,
        };
        let answer = page.answer("fresh");
        let body = futures::executor::block_on(answer.into_body().collect())
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        assert_eq!(
            &body[..],
            b"<script nonce=\"fresh\">a</script><script nonce=\"fresh\">"
        );
        assert_eq!(cut_at(&Bytes::from_static(b"no nonce"), "N0NCE").len(), 1);
        assert_eq!(cut_at(&Bytes::from_static(b"N0NCE"), "N0NCE").len(), 2);
    }

    fn request(uri: &str, cookie: Option<&str>) -> Request {
        let mut builder = Request::get(uri);
        if let Some(cookie) = cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        builder.body(Body::empty()).unwrap_or_default()
    }

    #[test]
    fn only_plain_views_with_the_session_cookie_alone_are_looked_up() {
        let name = "latchkey_session";
        assert_eq!(
            kept_path(
                &request("/security-info", Some("latchkey_session=abc")),
                name
            ),
            Some("/security-info")
        );
        for (uri, cookie) in [
            ("/security-info?add=method", Some("latchkey_session=abc")),
            ("/security-info", None),
            ("/security-info", Some("latchkey_session=abc; theme=dark")),
            ("/security-info", Some("other=abc")),
            ("/admin", Some("latchkey_session=abc")),
        ] {
            assert_eq!(
                kept_path(&request(uri, cookie), name),
                None,
                "{uri} {cookie:?}"
            );
        }
        let post = Request::post("/security-info")
            .header(header::COOKIE, "latchkey_session=abc")
            .body(Body::empty())
            .unwrap_or_default();
        assert_eq!(kept_path(&post, name), None);
    }
}
