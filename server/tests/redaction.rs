//! `Debug` output never carries a secret: server-function arguments, the page forms, sign-in
//! results, request contexts and the rows that hold hashes.

mod support;

use app::backend::prelude::*;
use app::secret::Secret;
use support::{PASSWORD, TestDatabase, TestResult, context};

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
    };
    assert_hidden(&format!("{create:?}"), PASSWORD);
    assert_hidden(&format!("{create:?}"), "493017");
    let setup = app::setup::CompleteSetup {
        token: "t".to_owned(),
        organization: "Contoso".to_owned(),
        allow_app_passwords: None,
        display_name: "Ada".to_owned(),
        username: "ada@contoso.example".to_owned(),
        password: Secret::new(PASSWORD),
        confirm_password: Secret::new(PASSWORD),
    };
    assert_hidden(&format!("{setup:?}"), PASSWORD);

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
        .store
        .user_by_key("ada@contoso.example")
        .await?
        .ok_or("user")?;
    assert_hidden(&format!("{user:?}"), &user.password_hash);
    let (_, created) =
        support::app_password_for(&backend, "ada@contoso.example", "Thunderbird").await?;
    assert_hidden(&format!("{created:?}"), &created.password);
    let rows = backend.store.app_passwords_of(user.id).await?;
    assert_hidden(&format!("{rows:?}"), &rows[0].password_hash);
    assert_hidden(&format!("{rows:?}"), &rows[0].lookup_hash);
    let authenticator = backend.store.authenticator(user.id).await?.ok_or("app")?;
    assert_hidden(&format!("{authenticator:?}"), &authenticator.secret_sealed);
    Ok(())
}
