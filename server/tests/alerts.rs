//! Mail alerts through the outbox, on SQLite and PostgreSQL: alerted changes are queued once
//! (also with two instances), and a mail server that is down costs the change nothing and the
//! mail is tried again later. Delivery
//! through real Postfix and Dovecot is in the browser tests (`mail_clients.spec.ts`).

mod support;

use server::alerts::{MailSettingsError, Mailer, Round, run_once};
use support::{TestDatabase, TestResult};

/// A mailer whose SMTP server refuses connections (nothing listens on the port).
fn mailer_to_a_closed_port() -> Result<Mailer, Box<dyn std::error::Error + Send + Sync>> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Mailer::from_settings(
        Some(&format!("smtp://127.0.0.1:{port}")),
        Some("Latchkey <security@contoso.example>"),
        "https://id.contoso.example",
    )?
    .ok_or_else(|| "configured".into())
}

#[tokio::test]
async fn alerted_changes_are_queued_once_and_retried_when_the_mail_server_is_down() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let mailer = mailer_to_a_closed_port()?;
        // Alerts start from here: nothing about the set-up above.
        assert_eq!(run_once(&backend.store, &mailer).await?, Round::default());

        // The changes succeed although the mail server is down.
        support::app_password_for(&backend, "ada@contoso.example", "Outlook").await?;

        let second_instance = support::backend_with_key_of(&database, &backend).await;
        let first = run_once(&backend.store, &mailer).await?;
        let second = run_once(&second_instance.store, &mailer).await?;
        assert_eq!(
            first.queued + second.queued,
            2,
            "{}: Ada's authenticator and app password, once",
            database.name
        );
        assert_eq!(first.failed + second.failed, 2, "{}", database.name);

        let outbox = backend.store.outbox().await?;
        assert_eq!(outbox.len(), 2, "{}", database.name);
        let subjects: Vec<&str> = outbox.iter().map(|m| m.subject.as_str()).collect();
        assert_eq!(
            subjects,
            ["Authenticator app added", "New app password \"Outlook\""],
            "{}",
            database.name
        );
        for mail in &outbox {
            assert_eq!(mail.recipient, "ada@contoso.example");
            assert_eq!(mail.attempts, 1);
            assert!(mail.sent_at.is_none() && mail.gave_up_at.is_none());
            assert!(mail.last_error.is_some());
            assert!(
                mail.next_attempt_at > chrono::Utc::now(),
                "retried later, not at once"
            );
            assert!(
                mail.body
                    .contains("https://id.contoso.example/security-info")
            );
        }
        // Nothing is due yet: no new attempt, nothing queued twice.
        assert_eq!(
            run_once(&backend.store, &mailer).await?,
            Round::default(),
            "{}",
            database.name
        );

        // A week after it was sent, housekeeping deletes a mail; unsent ones stay.
        let now = chrono::Utc::now();
        backend
            .store
            .mail_sent(outbox[0].id, now - chrono::Duration::days(8))
            .await?;
        let purged = server::housekeeping::run_once(&backend, None, now).await?;
        assert_eq!(purged.mails, 1, "{}", database.name);
        assert_eq!(backend.store.outbox().await?.len(), 1, "{}", database.name);
    }
    Ok(())
}

#[test]
fn mail_settings_are_checked_at_start() {
    let url = Some("smtp://127.0.0.1:25");
    let from = Some("Latchkey <security@contoso.example>");
    let public = "http://127.0.0.1:3000";
    assert!(matches!(
        Mailer::from_settings(None, None, public),
        Ok(None)
    ));
    assert!(matches!(
        Mailer::from_settings(url, None, public),
        Err(MailSettingsError::Incomplete)
    ));
    assert!(matches!(
        Mailer::from_settings(url, Some("not an address"), public),
        Err(MailSettingsError::From(_))
    ));
    assert!(matches!(
        Mailer::from_settings(Some("gopher://x"), from, public),
        Err(MailSettingsError::Url(_))
    ));
    assert!(matches!(
        Mailer::from_settings(url, from, public),
        Ok(Some(_))
    ));
}
