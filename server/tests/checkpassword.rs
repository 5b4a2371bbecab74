//! `latchkey checkpassword` (the real binary, credentials on descriptor 3 as Dovecot hands
//! them) against a running server on loopback, on SQLite and PostgreSQL.

mod support;

use std::process::{Command, Output};

use support::{PASSWORD, TestDatabase, TestResult};

/// Runs `latchkey checkpassword --server URL /usr/bin/env` with `input` on descriptor 3 (bash
/// moves its standard input there), as the mail server would, from client 192.0.2.44.
fn checkpassword(server: &str, input: &[u8]) -> std::io::Result<Output> {
    support::run_with_input(
        Command::new("bash")
            .arg("-c")
            .arg(r#"exec "$0" checkpassword --server "$1" /usr/bin/env 3<&0 </dev/null"#)
            .arg(env!("CARGO_BIN_EXE_latchkey"))
            .arg(server)
            .env("TCPREMOTEIP", "192.0.2.44")
            .env("SERVICE", "imap"),
        input,
    )
}

/// The same without `--server`: the server's own `LATCHKEY_ADDR` (`addr`) says where it is.
fn checkpassword_by_addr(addr: &str, input: &[u8]) -> std::io::Result<Output> {
    support::run_with_input(
        Command::new("bash")
            .arg("-c")
            .arg(r#"exec "$0" checkpassword /usr/bin/env 3<&0 </dev/null"#)
            .arg(env!("CARGO_BIN_EXE_latchkey"))
            .env("LATCHKEY_ADDR", addr)
            .env("SERVICE", "imap"),
        input,
    )
}

#[tokio::test]
async fn mail_logins_are_checked_through_the_running_server() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "Ada@contoso.example").await;
        let (_, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Thunderbird").await?;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let url = format!("http://{addr}");
        let app = server::http::router(support::state(backend.clone()));
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });

        let login = format!("ada@contoso.example\0{}\0", created.password);
        let output = {
            let url = url.clone();
            tokio::task::spawn_blocking(move || checkpassword(&url, login.as_bytes())).await??
        };
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {output:?}",
            database.name
        );
        let env = String::from_utf8_lossy(&output.stdout);
        assert!(
            env.lines().any(|l| l == "USER=Ada@contoso.example"),
            "{env}"
        );
        let by_addr = {
            let login = format!("ada@contoso.example\0{}\0", created.password);
            tokio::task::spawn_blocking(move || checkpassword_by_addr(&addr, login.as_bytes()))
                .await??
        };
        assert_eq!(by_addr.status.code(), Some(0), "{by_addr:?}");

        for (what, input, expected) in [
            (
                "account password",
                format!("ada@contoso.example\0{PASSWORD}\0"),
                1,
            ),
            (
                "wrong app password",
                "ada@contoso.example\0abcd efgh ijkl mnop\0".to_owned(),
                1,
            ),
            ("no input", String::new(), 2),
        ] {
            let url = url.clone();
            let output = tokio::task::spawn_blocking(move || checkpassword(&url, input.as_bytes()))
                .await??;
            assert_eq!(output.status.code(), Some(expected), "{what}: {output:?}");
            assert!(output.stdout.is_empty(), "{what}: the program must not run");
        }

        // The last use names the mail client's address and the protocol.
        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        let rows = backend.store().app_passwords_of(user.id).await?;
        assert_eq!(rows[0].last_used_ip.as_deref(), Some("192.0.2.44"));
        assert_eq!(rows[0].last_used_client.as_deref(), Some("IMAP"));

        // Server gone: a temporary failure, so the mail client is told to try again.
        server.abort();
        let _ = server.await;
        let login = format!("ada@contoso.example\0{}\0", created.password);
        let output =
            tokio::task::spawn_blocking(move || checkpassword(&url, login.as_bytes())).await??;
        assert_eq!(output.status.code(), Some(111), "{output:?}");
    }
    Ok(())
}
