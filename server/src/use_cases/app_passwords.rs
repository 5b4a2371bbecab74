//! A person's app passwords: list, create (shown once), rename, delete, delete all.

use app::backend::{AppPasswordUseCases, RequestContext};
use app::error::{AppError, Refusal};
use app::model::{AppPasswordItem, AppPasswordOverview, CreatedAppPassword};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ServerBackend, actor};
use crate::db::entities::app_password as app_password_row;
use crate::db::{NewAppPassword, Remover, StoreError, Which};
use crate::domain::app_password::{self, AppName, AppPasswordSecret};
use crate::domain::random::OsRandom;
use crate::domain::{password, timefmt};

/// Longest client name shown in the list (User-Agents can be long).
const MAX_CLIENT_CHARS: usize = 40;

/// "Never used", or "Last used 5 minutes ago from 192.0.2.7 (IMAP)".
fn last_used_text(
    at: Option<DateTime<Utc>>,
    ip: Option<String>,
    client: Option<String>,
    now: DateTime<Utc>,
) -> String {
    let Some(at) = at else {
        return "Never used".to_owned();
    };
    let mut text = format!("Last used {}", timefmt::relative(at, now));
    if let Some(ip) = ip {
        text.push_str(&format!(" from {ip}"));
    }
    if let Some(client) = client.filter(|c| !c.trim().is_empty()) {
        let mut short: String = client.chars().take(MAX_CLIENT_CHARS).collect();
        if short.len() < client.len() {
            short.push('…');
        }
        text.push_str(&format!(" ({short})"));
    }
    text
}

#[async_trait]
impl AppPasswordUseCases for ServerBackend {
    async fn app_passwords(
        &self,
        context: &RequestContext,
    ) -> Result<AppPasswordOverview, AppError> {
        // Listed on Security info, which is open before the second factor a policy requires.
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        let (allowed, security_info_experience) = self.policy(context).await?;
        let now = Utc::now();
        let items = self
            .store
            .app_passwords_of(signed_in.user.id)
            .await?
            .into_iter()
            .map(|row| list_item(row, now))
            .collect();
        Ok(AppPasswordOverview {
            items,
            limit: app_password::MAX_PER_USER as u32,
            allowed,
            has_two_step: self.has_two_step(signed_in.user.id, context).await?,
            security_info_experience,
        })
    }

    async fn app_password_first_sign_in(
        &self,
        context: &RequestContext,
        id: i32,
    ) -> Result<Option<String>, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let Some(row) = self.store.app_password_of(signed_in.user.id, id).await? else {
            return Err(AppError::NotFound);
        };
        Ok(row.last_used_at.map(|at| {
            let client = row
                .last_used_client
                .or(row.last_used_ip)
                .unwrap_or_else(|| "an app".to_owned());
            format!(
                "Signed in from {client} {}",
                timefmt::relative(at, Utc::now())
            )
        }))
    }

    async fn create_app_password(
        &self,
        context: &RequestContext,
        name: &str,
        password: &str,
        code: &str,
    ) -> Result<CreatedAppPassword, AppError> {
        let mut signed_in = self.require_signed_in(context).await?;
        let (allowed, _) = self.policy(context).await?;
        if !allowed {
            return Err(AppError::Forbidden(Refusal::AppPasswordsNotAllowed));
        }
        if !self.has_two_step(signed_in.user.id, context).await? {
            return Err(AppError::Forbidden(Refusal::TwoStepVerificationFirst));
        }
        let mut now = Utc::now();
        if !app_password::recently_verified(signed_in.session.verified_at, now) {
            if password.is_empty() {
                return Err(AppError::ReverifyRequired);
            }
            // Confirming it's them in the same request, after the name has been checked.
            AppName::parse(name)?;
            self.reverify(context, password, code).await?;
            signed_in = self.require_signed_in(context).await?;
            now = Utc::now();
        }
        let name = AppName::parse(name)?;
        // Cheap early answer; the store enforces the limit atomically.
        if self.store.app_passwords_of(signed_in.user.id).await?.len() as u64
            >= app_password::MAX_PER_USER
        {
            return Err(StoreError::LimitReached.into());
        }
        let secret = AppPasswordSecret::generate(&mut OsRandom);
        let lookup_hash = self
            .secret_key
            .keyed_hash(app_password::LOOKUP_PURPOSE, secret.as_str().as_bytes());
        let password_hash = password::hash_password_blocking(secret.as_str().to_owned()).await?;
        let new = NewAppPassword {
            user_id: signed_in.user.id,
            name: name.as_str().to_owned(),
            name_key: name.key().to_owned(),
            lookup_hash,
            password_hash,
        };
        let created = match self
            .store
            .create_app_password(new, app_password::MAX_PER_USER, &actor(context), now)
            .await
        {
            Err(StoreError::AlreadyExists) => return Err(name_taken(&name)),
            other => other?,
        };
        Ok(CreatedAppPassword {
            id: created.id,
            name: created.name.clone(),
            item: list_item(created, now),
            password: secret.for_display(),
        })
    }

    async fn delete_app_password(&self, context: &RequestContext, id: i32) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let deleted = self
            .store
            .remove_app_passwords(
                signed_in.user.id,
                Which::Ids(&[id]),
                Remover::Owner,
                &actor(context),
                Utc::now(),
            )
            .await?;
        if deleted.is_empty() {
            return Err(AppError::AppPasswordGone);
        }
        Ok(())
    }

    async fn rename_app_password(
        &self,
        context: &RequestContext,
        id: i32,
        name: &str,
    ) -> Result<AppPasswordItem, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let name = AppName::parse(name)?;
        let renamed = match self
            .store
            .rename_app_password(
                signed_in.user.id,
                id,
                name.as_str().to_owned(),
                name.key().to_owned(),
                &actor(context),
                Utc::now(),
            )
            .await
        {
            Err(StoreError::AlreadyExists) => return Err(name_taken(&name)),
            Err(StoreError::NotFound) => return Err(AppError::AppPasswordGone),
            other => other?,
        };
        Ok(list_item(renamed, Utc::now()))
    }

    async fn delete_all_app_passwords(
        &self,
        context: &RequestContext,
        expected: u32,
    ) -> Result<u32, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        // The confirmation named a count: if another window created one meanwhile, the
        // person did not agree to delete that one.
        let now_listed = self.store.app_passwords_of(signed_in.user.id).await?.len();
        if now_listed != expected as usize {
            return Err(AppError::ListChanged);
        }
        let deleted = self
            .store
            .remove_app_passwords(
                signed_in.user.id,
                Which::All,
                Remover::Owner,
                &actor(context),
                Utc::now(),
            )
            .await?;
        Ok(u32::try_from(deleted.len()).unwrap_or(u32::MAX))
    }
}

/// An app password's row as the list shows it.
pub(super) fn list_item(row: app_password_row::Model, now: DateTime<Utc>) -> AppPasswordItem {
    AppPasswordItem {
        id: row.id,
        name: row.name,
        created: timefmt::date(row.created_at),
        last_used: last_used_text(
            row.last_used_at,
            row.last_used_ip,
            row.last_used_client,
            now,
        ),
    }
}

/// The refusal of a name the person already uses for another app password.
fn name_taken(name: &AppName) -> AppError {
    AppError::invalid(
        "name",
        format!(
            "You already have an app password named '{}'. Choose another name.",
            name.as_str()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_use_names_when_where_and_which_client() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let at = Some(now - chrono::Duration::minutes(5));
        assert_eq!(last_used_text(None, None, None, now), "Never used");
        assert_eq!(
            last_used_text(at, Some("192.0.2.7".into()), Some("IMAP".into()), now),
            "Last used 5 minutes ago from 192.0.2.7 (IMAP)"
        );
        assert_eq!(
            last_used_text(at, None, Some(" ".into()), now),
            "Last used 5 minutes ago"
        );
        let long = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)";
        assert_eq!(
            last_used_text(at, Some("192.0.2.7".into()), Some(long.into()), now),
            "Last used 5 minutes ago from 192.0.2.7 (Mozilla/5.0 (X11; Linux x86_64) AppleWeb…)"
        );
    }
}
