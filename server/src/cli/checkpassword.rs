//! `latchkey checkpassword`: the checkpassword interface (Dovecot 2.3's `checkpassword`
//! passdb) in front of the running Latchkey server. The mail server starts it once per login
//! with "username\0password\0" on file descriptor 3; it asks `GET /auth/basic` (so a login opens
//! no database connection and shares the server's cache and throttling) and then:
//! - accepted: runs the program named after its own arguments (Dovecot passes its
//!   `checkpassword-reply`) with `USER` set to the account's canonical name, or exits 0;
//! - refused: exits 1;
//! - throttled, server unreachable or unavailable: exits 111 (temporary failure);
//! - misused (no or malformed input): exits 2.

use std::ffi::OsString;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine;

use crate::domain::mail_protocol::Protocol;

/// Exit codes of the checkpassword interface.
const EXIT_REFUSED: u8 = 1;
const EXIT_MISUSED: u8 = 2;
const EXIT_TEMPORARY: u8 = 111;
/// The interface allows at most this much input.
const MAX_INPUT_BYTES: u64 = 512;
/// A login must not hang the mail server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, clap::Args)]
pub struct CheckpasswordArgs {
    /// Base URL of the running Latchkey server [default: http://ADDR, the address given by
    /// --addr or LATCHKEY_ADDR, as the server's own settings say; 0.0.0.0 and :: mean
    /// loopback].
    #[arg(long)]
    pub server: Option<String>,
    /// Program (and its arguments) to run when the password is right; Dovecot appends its
    /// checkpassword-reply here.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub program: Vec<OsString>,
}

/// What the server said about the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted {
        username: String,
    },
    Refused,
    /// Try again later: throttled, or the server or its database is unavailable.
    Temporary(String),
}

/// Username and password from checkpassword input: NUL-terminated fields (a timestamp and
/// more may follow and are ignored). `None` when malformed.
pub fn parse_input(input: &[u8]) -> Option<(String, String)> {
    let mut fields = input.split(|&b| b == 0);
    let username = std::str::from_utf8(fields.next()?).ok()?;
    let password = std::str::from_utf8(fields.next()?).ok()?;
    // The password field must be terminated, so a cut-off input is not taken as complete.
    fields.next()?;
    (!username.is_empty() && !password.is_empty())
        .then(|| (username.to_owned(), password.to_owned()))
}

/// Asks the server's check endpoint. `client_ip` and `service` come from the mail server
/// (Dovecot sets TCPREMOTEIP and SERVICE); they are recorded as the app password's last use.
pub fn ask(
    server: &str,
    username: &str,
    password: &str,
    client_ip: Option<&str>,
    service: Option<&str>,
) -> Verdict {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let client = service.map_or_else(|| "checkpassword".to_owned(), str::to_uppercase);
    let mut request = agent
        .get(format!("{}/auth/basic", server.trim_end_matches('/')))
        .header("Authorization", format!("Basic {credentials}"))
        .header("User-Agent", client);
    if let Some(ip) = client_ip {
        request = request.header("X-Forwarded-For", ip);
    }
    if let Some(protocol) = service.and_then(Protocol::parse) {
        request = request.header("X-Latchkey-Protocol", protocol.header_value());
    }
    let response = match request.call() {
        Ok(response) => response,
        Err(error) => return Verdict::Temporary(format!("cannot reach {server}: {error}")),
    };
    match response.status().as_u16() {
        204 => {
            let username = response
                .headers()
                .get("x-latchkey-user")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(username);
            Verdict::Accepted {
                username: username.to_owned(),
            }
        }
        401 => Verdict::Refused,
        429 => Verdict::Temporary("too many failed sign-ins; try again later".to_owned()),
        status => Verdict::Temporary(format!("the check answered HTTP {status}")),
    }
}

/// Runs the subcommand: reads file descriptor 3, asks the server, exits or runs the program.
/// Checks the credentials on descriptor 3 with the server at `--server`, or else at
/// `server_addr` (where the server listens, from the same settings).
pub fn run(args: &CheckpasswordArgs, server_addr: std::net::SocketAddr) -> ExitCode {
    // /dev/fd/3 opens the inherited descriptor without unsafe code (Linux and the BSDs).
    let mut input = Vec::new();
    let read = std::fs::File::open("/dev/fd/3")
        .and_then(|file| file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut input));
    if let Err(error) = read {
        eprintln!("latchkey checkpassword: cannot read the credentials on descriptor 3: {error}");
        return ExitCode::from(EXIT_MISUSED);
    }
    let parsed = (input.len() as u64 <= MAX_INPUT_BYTES)
        .then(|| parse_input(&input))
        .flatten();
    let Some((username, password)) = parsed else {
        eprintln!("latchkey checkpassword: malformed input on descriptor 3");
        return ExitCode::from(EXIT_MISUSED);
    };
    let client_ip = std::env::var("TCPREMOTEIP").ok();
    let service = std::env::var("SERVICE").ok();
    let server = args.server.clone().unwrap_or_else(|| {
        // A server listening on every address is reached on loopback.
        let mut addr = server_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}")
    });
    match ask(
        &server,
        &username,
        &password,
        client_ip.as_deref(),
        service.as_deref(),
    ) {
        Verdict::Accepted { username } => run_program(&args.program, &username),
        Verdict::Refused => ExitCode::from(EXIT_REFUSED),
        Verdict::Temporary(reason) => {
            eprintln!("latchkey checkpassword: {reason}");
            ExitCode::from(EXIT_TEMPORARY)
        }
    }
}

/// Replaces this process with `program`, as the interface requires, with `USER` set.
fn run_program(program: &[OsString], username: &str) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let Some((path, rest)) = program.split_first() else {
        return ExitCode::SUCCESS;
    };
    let error = std::process::Command::new(path)
        .args(rest)
        .env("USER", username)
        .exec();
    eprintln!(
        "latchkey checkpassword: cannot run {}: {error}",
        path.to_string_lossy()
    );
    ExitCode::from(EXIT_TEMPORARY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nul_terminated_fields() {
        assert_eq!(
            parse_input(b"ada@contoso.example\0abcd efgh\0"),
            Some(("ada@contoso.example".to_owned(), "abcd efgh".to_owned()))
        );
        // qmail adds a timestamp field; it is ignored.
        assert_eq!(
            parse_input(b"ada\0secret\x001700000000\0"),
            Some(("ada".to_owned(), "secret".to_owned()))
        );
    }

    #[test]
    fn malformed_input_is_refused() {
        for input in [
            &b""[..],
            b"ada",
            b"ada\0secret",
            b"\0secret\0",
            b"ada\0\0",
            b"ada\0\xff\xfe\0",
        ] {
            assert_eq!(parse_input(input), None, "{input:?}");
        }
    }

    #[test]
    fn an_unreachable_server_is_a_temporary_failure() {
        // Port 9 (discard) on loopback is closed here; the connection is refused at once.
        assert!(matches!(
            ask("http://127.0.0.1:9", "ada", "secret", None, None),
            Verdict::Temporary(_)
        ));
    }
}
