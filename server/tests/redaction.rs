//! `Debug` output never carries a secret: server-function arguments, the page forms, sign-in
//! results, request contexts, one-time password links (made, shown, answered in the page,
//! opened), new people's passwords, and the rows and new rows that hold hashes.

mod support;

use app::backend::prelude::*;
use app::secret::Secret;
use support::{PASSWORD, TestDatabase, TestResult, context};

/// A setup link's token, as `SetupGate::issue` makes them (64 hex digits).
const SETUP_TOKEN: &str = "5e7c0b1a9d2f48e6a3c1b0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9";

fn assert_hidden(debug: &str, secret: &str) {
    assert!(!secret.is_empty());
    assert!(!debug.contains(secret), "{secret:?} printed in {debug}");
}

#[tokio::test]
async fn debug_output_hides_passwords_codes_tokens_and_hashes() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    support::add_user(&backend, "ada@contoso.example").await;

    // Server-function arguments (#[server] derives Debug for them).
    let sign_in = app::account::SignIn {
        username: "ada@contoso.example".into(),
        password: Secret::new(PASSWORD),
        next: None,
    };
    assert_hidden(&format!("{sign_in:?}"), PASSWORD);
    let change = app::account::ChangePassword {
        current_password: Secret::new(PASSWORD),
        new_password: Secret::new("a brand new passphrase"),
        confirm_password: Secret::new("a brand new passphrase"),
        code: Some(Secret::new("493017")),
    };
    assert_hidden(&format!("{change:?}"), PASSWORD);
    assert_hidden(&format!("{change:?}"), "a brand new passphrase");
    let code = app::account::VerifySignInCode {
        code: Secret::new("493017"),
        next: None,
    };
    assert_hidden(&format!("{code:?}"), "493017");
    let create = app::app_passwords::CreateAppPassword {
        name: "Outlook".to_owned(),
        password: Some(Secret::new(PASSWORD)),
        code: Some(Secret::new("493017")),
        kind: None,
        expires: None,
    };
    assert_hidden(&format!("{create:?}"), PASSWORD);
    assert_hidden(&format!("{create:?}"), "493017");
    let setup = app::setup::CompleteSetup {
        token: Secret::new(SETUP_TOKEN),
        organization: "Contoso".to_owned(),
        allow_app_passwords: None,
        display_name: "Ada".to_owned(),
        username: "ada@contoso.example".to_owned(),
        password: Secret::new(PASSWORD),
        confirm_password: Secret::new(PASSWORD),
    };
    assert_hidden(&format!("{setup:?}"), PASSWORD);
    assert_hidden(&format!("{setup:?}"), SETUP_TOKEN);
    let status = app::setup::SetupLinkStatus {
        token: Secret::new(SETUP_TOKEN),
    };
    assert_hidden(&format!("{status:?}"), SETUP_TOKEN);

    // A sign-in result and the request context carry the session token.
    let result = backend
        .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
        .await;
    let (_, cookie) = result.clone()?;
    let token = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, token)| token.to_owned())
        .ok_or("cookie")?;
    assert_hidden(&format!("{result:?}"), &token);
    assert_hidden(
        &format!("{:?}", context("192.0.2.1", Some(&cookie))),
        &token,
    );

    // Rows with hashes.
    let user = backend
        .store()
        .user_by_key("ada@contoso.example")
        .await?
        .ok_or("user")?;
    assert_hidden(&format!("{user:?}"), &user.password_hash);
    let (_, created) =
        support::app_password_for(&backend, "ada@contoso.example", "Thunderbird").await?;
    assert_hidden(&format!("{created:?}"), &created.password);
    let rows = backend.store().app_passwords_of(user.id).await?;
    assert_hidden(&format!("{rows:?}"), &rows[0].password_hash);
    assert_hidden(&format!("{rows:?}"), &rows[0].lookup_hash);
    let authenticator = backend.store().authenticator(user.id).await?.ok_or("app")?;
    assert_hidden(&format!("{authenticator:?}"), &authenticator.secret_sealed);
    Ok(())
}

#[tokio::test]
async fn debug_output_hides_one_time_links_new_passwords_and_what_is_stored_for_them() -> TestResult
{
    use app::form_post::FormPostAnswer;
    use app::model::{NewPersonValues, PasswordLink, SetupValues};
    use server::use_cases::administration::{Administration, NewPerson};

    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    support::add_user(&backend, "ada@contoso.example").await;

    let (_, created) =
        support::app_password_for(&backend, "ada@contoso.example", "Thunderbird").await?;

    // A real one-time link, as the console and `latchkey admin` make them (Ada's password is
    // locked by it).
    let admin = Administration::new(backend.store().clone(), server::db::Actor::default());
    let (_, _, issued) = admin
        .reset_password_with_link("ada@contoso.example")
        .await?;
    let token = issued.token.clone();
    let url = issued.url("https://latchkey.contoso.example");
    assert!(url.contains(&token));
    assert_hidden(&format!("{issued:?}"), &token);
    let link = PasswordLink {
        username: "ada@contoso.example".to_owned(),
        display_name: "Ada".to_owned(),
        url: url.clone(),
        expires: "tomorrow at 09:00".to_owned(),
        detail: String::new(),
    };
    let shown = format!("{link:?}");
    assert_hidden(&shown, &token);
    assert!(
        shown.contains("ada@contoso.example") && shown.contains("<redacted>"),
        "{shown}"
    );

    // The answers of plain form posts shown in the page.
    let typed = SetupValues {
        token: SETUP_TOKEN.to_owned(),
        organization: "Contoso".to_owned(),
        allow_app_passwords: true,
        display_name: "Ada".to_owned(),
        username: "ada@contoso.example".to_owned(),
    };
    assert_hidden(&format!("{typed:?}"), SETUP_TOKEN);
    let answers = [
        FormPostAnswer::CreateAppPassword {
            name: "Thunderbird".to_owned(),
            kind: Default::default(),
            expires: Default::default(),
            result: Ok(created.clone()),
        },
        FormPostAnswer::Setup {
            form: typed,
            error: app::error::AppError::AlreadySetUp,
        },
        FormPostAnswer::AddPerson {
            typed: NewPersonValues {
                username: "ada@contoso.example".to_owned(),
                display_name: "Ada".to_owned(),
                administrator: false,
            },
            result: Ok(link.clone()),
        },
        FormPostAnswer::ResetPassword {
            username: "ada@contoso.example".to_owned(),
            result: Ok(link),
        },
    ];
    for answer in &answers {
        let shown = format!("{answer:?}");
        for secret in [created.password.as_str(), &token, SETUP_TOKEN] {
            assert_hidden(&shown, secret);
        }
        assert!(
            shown.contains("<redacted>") || shown.contains("Err"),
            "{shown}"
        );
    }

    // The page a link opens: its server functions' arguments.
    let opened = app::password_link::GetPasswordLink {
        token: Secret::new(token.clone()),
    };
    assert_hidden(&format!("{opened:?}"), &token);
    let set = app::password_link::SetPasswordWithLink {
        token: Secret::new(token.clone()),
        password: Secret::new("a brand new passphrase"),
        confirm_password: Secret::new("a brand new passphrase"),
    };
    assert_hidden(&format!("{set:?}"), &token);
    assert_hidden(&format!("{set:?}"), "a brand new passphrase");

    // A person added with a password, and what the store is given to keep.
    let person = NewPerson {
        username: "grace@contoso.example".to_owned(),
        display_name: "Grace".to_owned(),
        password: "a brand new passphrase".to_owned(),
        is_admin: false,
    };
    let shown = format!("{person:?}");
    assert_hidden(&shown, "a brand new passphrase");
    assert!(shown.contains("grace@contoso.example"), "{shown}");
    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    const LOOKUP: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let new_user = server::db::NewUser {
        username: "grace@contoso.example".to_owned(),
        username_key: "grace@contoso.example".to_owned(),
        display_name: "Grace".to_owned(),
        password_hash: HASH.to_owned(),
        is_admin: false,
    };
    assert_hidden(&format!("{new_user:?}"), HASH);
    let new_admin = server::db::NewAdmin {
        username: "grace@contoso.example".to_owned(),
        username_key: "grace@contoso.example".to_owned(),
        display_name: "Grace".to_owned(),
        password_hash: HASH.to_owned(),
    };
    assert_hidden(&format!("{new_admin:?}"), HASH);
    let new_app_password = server::db::NewAppPassword {
        user_id: 1,
        name: "Thunderbird".to_owned(),
        name_key: "thunderbird".to_owned(),
        lookup_hash: LOOKUP.to_owned(),
        password_hash: HASH.to_owned(),
    };
    assert_hidden(&format!("{new_app_password:?}"), HASH);
    assert_hidden(&format!("{new_app_password:?}"), LOOKUP);
    let new_session = server::db::NewSession {
        user_id: 1,
        token_hash: LOOKUP.to_owned(),
        pending_second_step: false,
    };
    assert_hidden(&format!("{new_session:?}"), LOOKUP);
    let new_link = server::db::NewPasswordLink {
        token_hash: server::domain::password_link::token_hash(&token),
        purpose: server::domain::password_link::Purpose::Reset,
        expires_at: chrono::Utc::now(),
        token_sealed: Some("sealed-token-of-a-mailed-link".to_owned()),
    };
    assert_hidden(&format!("{new_link:?}"), &new_link.token_hash);
    assert_hidden(&format!("{new_link:?}"), "sealed-token-of-a-mailed-link");
    Ok(())
}

#[test]
fn the_configuration_prints_without_the_database_or_mail_password() -> TestResult {
    use clap::Parser;
    let cli = server::config::Cli::try_parse_from([
        "latchkey",
        "--database-url",
        "postgres://latchkey:db-pass-9x7@db.example/latchkey",
        "--smtp-url",
        "smtp://alerts:mail-pass-4k2@mail.example:587",
    ])?;
    let debug = format!("{cli:?}");
    assert_hidden(&debug, "db-pass-9x7");
    assert_hidden(&debug, "mail-pass-4k2");
    assert!(debug.contains("db.example"), "{debug}");
    Ok(())
}
