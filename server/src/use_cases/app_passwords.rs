//! A person's app passwords: list, create (shown once, limited to a kind), rename, change what
//! it may reach, delete, delete all.

use app::backend::{AppPasswordUseCases, RequestContext};
use app::error::{AppError, Refusal};
use app::model::{
    AppPasswordChoices, AppPasswordItem, AppPasswordKind, AppPasswordOverview, CreatedAppPassword,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ServerBackend, actor};
use crate::db::entities::app_password as app_password_row;
use crate::db::{NewAppPassword, Remover, StoreError, Which};
use crate::domain::app_password::{
    self, AppName, AppPasswordSecret, ExpiryFacts, ExpiryNote, IdleLimit,
};
use crate::domain::random::OsRandom;
use crate::domain::{apple_profile, password, timefmt};

/// "Never used", or what it was last used for, when and from where: "Last used: IMAP, 5
/// minutes ago from 192.0.2.7" (a User-Agent is named shortly, "Thunderbird").
fn last_used_text(
    at: Option<DateTime<Utc>>,
    ip: Option<String>,
    client: Option<String>,
    now: DateTime<Utc>,
) -> String {
    let Some(at) = at else {
        return "Never used".to_owned();
    };
    let mut text = "Last used: ".to_owned();
    if let Some(client) = client.as_deref().and_then(app_password::client_label) {
        text.push_str(&format!("{client}, "));
    }
    text.push_str(&timefmt::relative(at, now));
    if let Some(ip) = ip {
        text.push_str(&format!(" from {ip}"));
    }
    text
}

impl ServerBackend {
    /// The organization's "unused for N days" rule (read with the request's organization).
    pub(super) async fn idle_limit(
        &self,
        context: &RequestContext,
    ) -> Result<Option<IdleLimit>, AppError> {
        Ok(self
            .organization(context)
            .await?
            .and_then(|org| IdleLimit::from_stored(org.app_password_idle_days)))
    }
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
        let idle = self.idle_limit(context).await?;
        let items = self
            .store
            .app_passwords_of(signed_in.user.id)
            .await?
            .into_iter()
            .map(|row| list_item(row, idle, now))
            .collect();
        Ok(AppPasswordOverview {
            items,
            limit: app_password::MAX_PER_USER as u32,
            allowed,
            has_two_step: Self::has_two_step(&signed_in),
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
            return Err(AppError::AppPasswordGone);
        };
        Ok(row.last_used_at.map(|at| {
            let client = row
                .last_used_client
                .as_deref()
                .and_then(app_password::client_label)
                .or(row.last_used_ip)
                .unwrap_or_else(|| "an app".to_owned());
            format!(
                "Signed in from {client} {}",
                timefmt::relative(at, Utc::now())
            )
        }))
    }

    async fn create_app_password_with(
        &self,
        context: &RequestContext,
        name: &str,
        password: &str,
        code: &str,
        choices: &AppPasswordChoices,
    ) -> Result<CreatedAppPassword, AppError> {
        let mut signed_in = self.require_signed_in(context).await?;
        let (allowed, _) = self.policy(context).await?;
        if !allowed {
            return Err(AppError::Forbidden(Refusal::AppPasswordsNotAllowed));
        }
        if !Self::has_two_step(&signed_in) {
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
        let expires_at = app_password::fixed_expiry(choices.expires.days(), now)?;
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
            .create_expiring_app_password(
                new,
                choices.kind,
                expires_at,
                app_password::MAX_PER_USER,
                &actor(context),
                now,
            )
            .await
        {
            Err(StoreError::AlreadyExists) => return Err(name_taken(&name)),
            other => other?,
        };
        // The profile is an offer beside the new password, when mail is set up: if it cannot
        // be made now, the password stands and the dialog simply does not offer it. The
        // person, the policy and the password were checked above.
        let offered = match self.mail_setup(context).await {
            Ok(Some((_, settings)))
                if apple_profile::sets_up_anything(
                    super::apple_profiles::stored_kind(&created),
                    &settings,
                ) =>
            {
                self.seal_apple_profile_link(&created, &secret, now)
                    .await
                    .map(Some)
            }
            other => other.map(|_| None),
        };
        let apple_profile = offered.unwrap_or_else(|error| {
            tracing::warn!(%error, "no Apple profile offered with a new app password");
            None
        });
        Ok(CreatedAppPassword {
            id: created.id,
            name: created.name.clone(),
            item: list_item(created, self.idle_limit(context).await?, now),
            password: secret.for_display(),
            apple_profile,
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
        Ok(list_item(
            renamed,
            self.idle_limit(context).await?,
            Utc::now(),
        ))
    }

    async fn change_app_password_kind(
        &self,
        context: &RequestContext,
        id: i32,
        kind: AppPasswordKind,
    ) -> Result<AppPasswordItem, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let now = Utc::now();
        let changed = match self
            .store
            .change_app_password_kind(signed_in.user.id, id, kind, &actor(context), now)
            .await
        {
            Err(StoreError::NotFound) => return Err(AppError::AppPasswordGone),
            other => other?,
        };
        Ok(list_item(changed, self.idle_limit(context).await?, now))
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
/// The row as the list shows it at `now`, its expiry worded under the organization's `idle`
/// rule.
pub(super) fn list_item(
    row: app_password_row::Model,
    idle: Option<IdleLimit>,
    now: DateTime<Utc>,
) -> AppPasswordItem {
    let facts = ExpiryFacts {
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        expires_at: row.expires_at,
    };
    let expiry = ExpiryNote::at(&facts, idle, now);
    AppPasswordItem {
        expired: expiry == Some(ExpiryNote::Expired),
        expiry: expiry.map(|note| note.text()),
        id: row.id,
        name: row.name,
        // Unknown only after a downgrade from a version with more kinds; the check refuses
        // such an app password everywhere meanwhile, and choosing a kind again fixes it.
        kind: AppPasswordKind::parse(&row.kind).unwrap_or_default(),
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
            "Last used: IMAP, 5 minutes ago from 192.0.2.7"
        );
        assert_eq!(
            last_used_text(at, None, Some(" ".into()), now),
            "Last used: 5 minutes ago"
        );
        let thunderbird =
            "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.0";
        assert_eq!(
            last_used_text(at, Some("192.0.2.7".into()), Some(thunderbird.into()), now),
            "Last used: Thunderbird, 5 minutes ago from 192.0.2.7"
        );
    }
}
