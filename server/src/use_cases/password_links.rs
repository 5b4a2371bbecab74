//! The page a one-time password link opens: whom it is for, and setting the password with it.
//! Holding the link is the proof; it works once, for a day (`domain::password_link`).

use app::backend::{PasswordLinkUseCases, RequestContext};
use app::error::AppError;
use app::model::PasswordLinkFor;
use async_trait::async_trait;
use chrono::Utc;

use super::{ServerBackend, actor};
use crate::domain::password_link::{self, Purpose};
use crate::domain::{account, password};

#[async_trait]
impl PasswordLinkUseCases for ServerBackend {
    async fn password_link(&self, token: &str) -> Result<PasswordLinkFor, AppError> {
        if !password_link::is_well_formed(token) {
            return Err(AppError::NotFound);
        }
        let (link, person) = self
            .store
            .password_link(&password_link::token_hash(token), Utc::now())
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(PasswordLinkFor {
            username: person.username,
            display_name: person.display_name,
            first_password: Purpose::parse(&link.purpose) == Some(Purpose::Welcome),
        })
    }

    async fn set_password_with_link(
        &self,
        token: &str,
        new_password: &str,
        confirmation: &str,
        context: &RequestContext,
    ) -> Result<String, AppError> {
        // Whom it is for first: a link that does not work says so before the password's rules.
        let person = self.password_link(token).await?;
        account::check_new_password(new_password, confirmation)?;
        if account::lookup_key(new_password) == account::lookup_key(&person.username) {
            return Err(AppError::invalid(
                "password",
                "Choose a password that is not your sign-in name.",
            ));
        }
        let hash = password::hash_password_blocking(new_password.to_owned()).await?;
        let person = self
            .store
            .set_password_with_link(
                &password_link::token_hash(token),
                hash,
                &actor(context),
                Utc::now(),
            )
            .await?;
        tracing::info!(user = %person.username, "password set with a one-time link");
        Ok(person.username)
    }
}
