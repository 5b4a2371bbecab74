//! `GET /auth/nginx-mail`: the password check for nginx's mail proxy (`auth_http` of
//! ngx_mail_auth_http_module). nginx asks with `Auth-*` headers and reads the answer from
//! headers only, always under status 200:
//! - accepted: `Auth-Status: OK` and the upstream for the protocol (`Auth-Server`, an IP
//!   address, nginx resolves no names here; `Auth-Port`);
//! - refused: `Auth-Status: Invalid login or password` and `Auth-Wait`, after which nginx lets
//!   the client try again on the same connection (none from the tenth attempt on: nginx
//!   keeps memory per attempt until the session ends, so the connection is closed instead);
//! - throttled: the same, with the same short wait: nginx says nothing to the client while it
//!   waits, and a mail client gives up on a silent server within a minute or two and connects
//!   again (to be held again), never showing why; the throttle refuses every try until it ends;
//! - the database unreachable or too many checks at once: `Temporary server problem, try again
//!   later` and a short `Auth-Wait`;
//! - a protocol with no upstream configured, an unknown protocol or a challenge method the
//!   check cannot answer (APOP, CRAM-MD5): a status without `Auth-Wait`, which nginx shows
//!   the client before closing the connection.
//!
//! nginx percent-encodes `Auth-User` and `Auth-Pass`. The check itself is the one behind
//! `/auth/basic` (`ServerBackend::check_app_password`), with the protocol nginx names.

use std::net::{IpAddr, SocketAddr};

use app::backend::RequestContext;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::domain::mail_protocol::Protocol;
use crate::use_cases::app_password_check::{CheckOutcome, Client};

/// Seconds nginx waits before the client may try another password on the same connection.
pub const REFUSAL_WAIT_SECONDS: u64 = 3;
/// Seconds nginx waits after a temporary failure before the client may try again.
pub const TEMPORARY_WAIT_SECONDS: u64 = 5;
/// From this attempt on (nginx's `Auth-Login-Attempt`, counted per connection) a refusal
/// closes the connection: nginx's documentation asks for that after 10 to 20 attempts.
pub const LAST_LOGIN_ATTEMPT: u32 = 10;

pub const INVALID_STATUS: &str = "Invalid login or password";
pub const THROTTLED_STATUS: &str = "Too many failed logins, try again later";
pub const TEMPORARY_STATUS: &str = "Temporary server problem, try again later";
pub const UNSUPPORTED_METHOD_STATUS: &str =
    "Only plain-text logins are supported: use PLAIN or LOGIN over TLS";

/// The mail servers nginx hands a client to once its login is accepted, one per protocol
/// (`--nginx-mail-imap-upstream` and the like). A protocol without one is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upstreams {
    pub imap: Option<SocketAddr>,
    pub pop3: Option<SocketAddr>,
    pub smtp: Option<SocketAddr>,
}

impl Upstreams {
    /// Where nginx sends a client of `protocol` (nginx proxies only IMAP, POP3 and SMTP).
    pub fn for_protocol(&self, protocol: Protocol) -> Option<SocketAddr> {
        match protocol {
            Protocol::Imap => self.imap,
            Protocol::Pop3 => self.pop3,
            Protocol::Smtp => self.smtp,
            Protocol::Sieve | Protocol::CalDav | Protocol::CardDav => None,
        }
    }
}

/// A login as nginx describes it.
#[derive(Debug, PartialEq, Eq)]
struct Login {
    username: String,
    password: String,
    protocol: Protocol,
    attempt: u32,
}

/// What nginx is told.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Proceed(SocketAddr),
    Invalid {
        attempt: u32,
    },
    Throttled {
        wait_seconds: u64,
        attempt: u32,
    },
    Temporary,
    /// Nothing the client can change by trying again on this connection.
    Closed(String),
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// A percent-encoded `Auth-User` or `Auth-Pass` as text; `None` when missing, empty or not
/// UTF-8 once decoded.
fn decoded(headers: &HeaderMap, name: &str) -> Option<String> {
    let raw = headers.get(name)?.as_bytes();
    let text = percent_encoding::percent_decode(raw).decode_utf8().ok()?;
    (!text.is_empty()).then(|| text.into_owned())
}

/// Reads nginx's request; `Err` is the answer when it cannot be a login to check.
fn read_login(headers: &HeaderMap, upstreams: &Upstreams) -> Result<(Login, SocketAddr), Answer> {
    let attempt = header(headers, "auth-login-attempt")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let protocol_name = header(headers, "auth-protocol").unwrap_or_default();
    let Some(protocol) = Protocol::parse(protocol_name) else {
        return Err(Answer::Closed(format!(
            "Unknown mail protocol {:?}",
            protocol_name.chars().take(20).collect::<String>()
        )));
    };
    let Some(upstream) = upstreams.for_protocol(protocol) else {
        return Err(Answer::Closed(format!(
            "No {} server is configured behind this proxy",
            protocol.label()
        )));
    };
    let method = header(headers, "auth-method").unwrap_or("plain");
    if !method.eq_ignore_ascii_case("plain") && !method.eq_ignore_ascii_case("login") {
        return Err(Answer::Closed(UNSUPPORTED_METHOD_STATUS.to_owned()));
    }
    let (Some(username), Some(password)) =
        (decoded(headers, "auth-user"), decoded(headers, "auth-pass"))
    else {
        return Err(Answer::Invalid { attempt });
    };
    Ok((
        Login {
            username,
            password,
            protocol,
            attempt,
        },
        upstream,
    ))
}

/// The client's address: `Client-IP` when nginx's mail proxy (a trusted proxy) sent the
/// request, otherwise the address every other endpoint uses (`RequestContext::ip`). A request
/// with `X-Forwarded-For` came through an HTTP proxy instead (nginx's `auth_http` never sends
/// one; the README's TLS proxies always do), which passes a client's own `Client-IP` on: it
/// must not choose the address its attempts are counted against.
fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
    context_ip: Option<String>,
) -> Option<String> {
    let from_trusted_proxy = peer.is_some_and(|peer| {
        trusted
            .iter()
            .any(|t| t.to_canonical() == peer.to_canonical())
    }) && !headers.contains_key("x-forwarded-for");
    let named = header(headers, "client-ip").and_then(|v| v.parse::<IpAddr>().ok());
    match named {
        Some(ip) if from_trusted_proxy => Some(ip.to_canonical().to_string()),
        _ => context_ip,
    }
}

impl Answer {
    fn from_outcome(outcome: CheckOutcome, upstream: SocketAddr, attempt: u32) -> Self {
        match outcome {
            CheckOutcome::Accepted(_) => Answer::Proceed(upstream),
            CheckOutcome::Refused => Answer::Invalid { attempt },
            CheckOutcome::Throttled {
                retry_after_seconds,
            } => Answer::Throttled {
                wait_seconds: retry_after_seconds,
                attempt,
            },
            CheckOutcome::Busy => Answer::Temporary,
        }
    }

    /// The response headers, in order. SMTP clients get an SMTP reply code too.
    fn headers(&self, protocol: Option<Protocol>) -> Vec<(&'static str, String)> {
        let smtp = protocol == Some(Protocol::Smtp);
        let wait_unless_last = |attempt: u32, seconds: u64| {
            (attempt < LAST_LOGIN_ATTEMPT).then(|| ("Auth-Wait", seconds.to_string()))
        };
        let mut headers = Vec::new();
        match self {
            Answer::Proceed(upstream) => {
                headers.push(("Auth-Status", "OK".to_owned()));
                headers.push(("Auth-Server", upstream.ip().to_string()));
                headers.push(("Auth-Port", upstream.port().to_string()));
            }
            Answer::Invalid { attempt } => {
                headers.push(("Auth-Status", INVALID_STATUS.to_owned()));
                headers.extend(wait_unless_last(*attempt, REFUSAL_WAIT_SECONDS));
                if smtp {
                    headers.push(("Auth-Error-Code", "535 5.7.8".to_owned()));
                }
            }
            Answer::Throttled {
                wait_seconds,
                attempt,
            } => {
                headers.push(("Auth-Status", THROTTLED_STATUS.to_owned()));
                headers.extend(wait_unless_last(
                    *attempt,
                    (*wait_seconds).clamp(1, REFUSAL_WAIT_SECONDS),
                ));
                if smtp {
                    headers.push(("Auth-Error-Code", "454 4.7.0".to_owned()));
                }
            }
            Answer::Temporary => {
                headers.push(("Auth-Status", TEMPORARY_STATUS.to_owned()));
                headers.push(("Auth-Wait", TEMPORARY_WAIT_SECONDS.to_string()));
                if smtp {
                    headers.push(("Auth-Error-Code", "451 4.3.0".to_owned()));
                }
            }
            Answer::Closed(message) => headers.push(("Auth-Status", message.clone())),
        }
        headers
    }

    fn into_response(self, protocol: Option<Protocol>) -> Response {
        let mut response = StatusCode::OK.into_response();
        for (name, value) in self.headers(protocol) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// `GET /auth/nginx-mail`: see the module's documentation.
pub(super) async fn nginx_mail_check(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers();
    let protocol = header(headers, "auth-protocol").and_then(Protocol::parse);
    let (login, upstream) = match read_login(headers, &state.nginx_mail) {
        Ok(read) => read,
        Err(answer) => {
            if let Answer::Closed(reason) = &answer {
                tracing::warn!(%reason, "refused an nginx mail login");
            }
            return answer.into_response(protocol);
        }
    };
    let context_ip = request
        .extensions()
        .get::<RequestContext>()
        .and_then(|context| context.ip.clone());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let client = Client {
        ip: client_ip(peer, headers, &state.trusted_proxies, context_ip),
        name: Some(login.protocol.label().to_owned()),
        protocol: Some(login.protocol),
    };
    let answer = match state
        .backend
        .check_app_password(&login.username, &login.password, &client)
        .await
    {
        Ok(outcome) => Answer::from_outcome(outcome, upstream, login.attempt),
        Err(error) => {
            tracing::warn!(%error, "app password check failed");
            Answer::Temporary
        }
    };
    answer.into_response(Some(login.protocol))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstreams() -> Upstreams {
        Upstreams {
            imap: Some(SocketAddr::from(([127, 0, 0, 1], 1143))),
            ..Upstreams::default()
        }
    }

    fn request(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_plain_imap_login_is_read_with_its_upstream_and_decoded() {
        let headers = request(&[
            ("auth-method", "plain"),
            ("auth-user", "ada%40contoso.example"),
            ("auth-pass", "abcd%20efgh%25ijkl"),
            ("auth-protocol", "imap"),
            ("auth-login-attempt", "2"),
        ]);
        let (login, upstream) = read_login(&headers, &upstreams()).expect("a login");
        assert_eq!(upstream, SocketAddr::from(([127, 0, 0, 1], 1143)));
        assert_eq!(
            login,
            Login {
                username: "ada@contoso.example".to_owned(),
                password: "abcd efgh%ijkl".to_owned(),
                protocol: Protocol::Imap,
                attempt: 2,
            }
        );
    }

    #[test]
    fn what_cannot_be_checked_is_refused_before_the_check() {
        let cases: [(&[(&'static str, &'static str)], Answer); 5] = [
            (
                &[
                    ("auth-protocol", "pop3"),
                    ("auth-user", "a"),
                    ("auth-pass", "b"),
                ],
                Answer::Closed("No POP3 server is configured behind this proxy".to_owned()),
            ),
            (
                &[
                    ("auth-protocol", "gopher"),
                    ("auth-user", "a"),
                    ("auth-pass", "b"),
                ],
                Answer::Closed("Unknown mail protocol \"gopher\"".to_owned()),
            ),
            (
                &[
                    ("auth-protocol", "imap"),
                    ("auth-method", "cram-md5"),
                    ("auth-user", "a"),
                ],
                Answer::Closed(UNSUPPORTED_METHOD_STATUS.to_owned()),
            ),
            (
                &[("auth-protocol", "imap"), ("auth-user", "a")],
                Answer::Invalid { attempt: 1 },
            ),
            (
                &[
                    ("auth-protocol", "imap"),
                    ("auth-user", "a"),
                    ("auth-pass", "%FF"),
                ],
                Answer::Invalid { attempt: 1 },
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                read_login(&request(pairs), &upstreams()).err(),
                Some(expected),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn a_throttled_client_is_not_held_in_silence_for_the_throttles_length() {
        let throttled = Answer::Throttled {
            wait_seconds: 300,
            attempt: 1,
        }
        .headers(Some(Protocol::Imap));
        assert_eq!(
            throttled,
            [
                ("Auth-Status", THROTTLED_STATUS.to_owned()),
                ("Auth-Wait", REFUSAL_WAIT_SECONDS.to_string()),
            ]
        );
    }

    #[test]
    fn refusals_wait_until_the_last_attempt_and_smtp_gets_a_reply_code() {
        let invalid = Answer::Invalid { attempt: 1 }.headers(Some(Protocol::Imap));
        assert_eq!(
            invalid,
            [
                ("Auth-Status", INVALID_STATUS.to_owned()),
                ("Auth-Wait", REFUSAL_WAIT_SECONDS.to_string()),
            ]
        );
        let last = Answer::Invalid {
            attempt: LAST_LOGIN_ATTEMPT,
        }
        .headers(Some(Protocol::Smtp));
        assert_eq!(
            last,
            [
                ("Auth-Status", INVALID_STATUS.to_owned()),
                ("Auth-Error-Code", "535 5.7.8".to_owned()),
            ]
        );
    }

    #[test]
    fn client_ip_is_believed_only_from_a_trusted_proxy() {
        let headers = request(&[("client-ip", "192.0.2.42")]);
        let trusted = ["127.0.0.1".parse().expect("address")];
        let local = Some("127.0.0.1".parse().expect("address"));
        let outside = Some("198.51.100.9".parse().expect("address"));
        assert_eq!(
            client_ip(local, &headers, &trusted, Some("127.0.0.1".to_owned())).as_deref(),
            Some("192.0.2.42")
        );
        assert_eq!(
            client_ip(outside, &headers, &trusted, Some("198.51.100.9".to_owned())).as_deref(),
            Some("198.51.100.9")
        );
        // Through the TLS proxy on the same machine: the client's own header is not believed.
        let through_http_proxy = request(&[
            ("client-ip", "192.0.2.42"),
            ("x-forwarded-for", "203.0.113.5"),
        ]);
        assert_eq!(
            client_ip(
                local,
                &through_http_proxy,
                &trusted,
                Some("203.0.113.5".to_owned())
            )
            .as_deref(),
            Some("203.0.113.5")
        );
    }
}
