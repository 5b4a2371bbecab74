//! Passkeys and security keys, and the state of their ceremonies (`domain::passkey`).
//!
//! Every change is one transaction with its audit event; adding or deleting one is a factor
//! change (as in `factor_changes`: the person's other sessions end). A ceremony's state is
//! claimed by deleting it, so of two finishes at once (one instance or several) one gets it,
//! and a replayed answer finds nothing. A use is recorded only over a lower signature
//! counter, so two uses of a cloned key at once cannot both count.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseBackend,
    DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

use super::audit::AuditNote;
use super::entities::{passkey, passkey_ceremony, session, user};
use super::store::{Actor, Store, StoreError};
use super::transaction_steps::{delete_recovery_codes, has_second_factor};
use crate::domain::counted;
use crate::domain::passkey::{ADDED, CeremonyKind, DELETED, MAX_PER_USER, RENAMED};

/// A passkey to store for a person, as `webauthn-rs` registered it.
#[derive(Debug, Clone)]
pub struct NewPasskey {
    pub user_id: i32,
    pub name: String,
    /// base64url of the credential id.
    pub credential_id: String,
    pub user_handle: String,
    /// The serialized `webauthn_rs::prelude::Passkey`.
    pub credential: String,
    pub sign_count: i64,
}

/// What deleting a passkey did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoval {
    /// Deleted; `second_factor_left` says whether the person still has one (without, their
    /// recovery codes went with it and their app passwords stop).
    Removed {
        sessions_ended: u64,
        second_factor_left: bool,
    },
    /// Not one of the person's (deleted meanwhile, perhaps in another window).
    NotFound,
    /// It is the person's last second factor and the organization requires one.
    LastSecondFactor,
}

/// What a ceremony is bound to: the session that started it, or (a passwordless sign-in,
/// which has none) the hash of the token the starting page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyBinding<'a> {
    Session(i32),
    TokenHash(&'a str),
}

/// A ceremony to keep until it is finished or expires.
#[derive(Clone)]
pub struct NewCeremony<'a> {
    pub binding: CeremonyBinding<'a>,
    pub kind: CeremonyKind,
    /// The name of the passkey being added.
    pub name: Option<String>,
    /// `webauthn-rs`'s serialized state.
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewCeremony<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCeremony")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn bound_to(binding: CeremonyBinding<'_>) -> Condition {
    match binding {
        CeremonyBinding::Session(id) => {
            Condition::all().add(passkey_ceremony::Column::SessionId.eq(id))
        }
        CeremonyBinding::TokenHash(hash) => {
            Condition::all().add(passkey_ceremony::Column::TokenHash.eq(hash))
        }
    }
}

/// What a factor change ends with (as `factor_changes` does for the authenticator app): the
/// person's other sessions end, the audit event (naming the passkey and how many sessions
/// ended) is written, and everything commits. Returns how many sessions ended.
async fn finish_factor_change(
    txn: DatabaseTransaction,
    user_id: i32,
    keep_session: i32,
    kind: &'static str,
    which: &passkey::Model,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let ended = session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Id.ne(keep_session))
        .exec(&txn)
        .await?
        .rows_affected;
    let detail = format!(
        "{:?} (id {}); {}",
        which.name,
        which.id,
        counted(ended, "other session ended", "other sessions ended")
    );
    AuditNote::new(kind, detail)
        .row(Some(user_id), actor, now)
        .insert(&txn)
        .await?;
    txn.commit().await?;
    Ok(ended)
}

impl Store {
    /// The person's passkeys, oldest first.
    pub async fn passkeys_of(&self, user_id: i32) -> Result<Vec<passkey::Model>, StoreError> {
        Ok(passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(user_id))
            .order_by_asc(passkey::Column::CreatedAt)
            .order_by_asc(passkey::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// Whether the person has a passkey (one indexed lookup).
    pub async fn has_passkey(&self, user_id: i32) -> Result<bool, StoreError> {
        Ok(passkey::Entity::find()
            .select_only()
            .column(passkey::Column::Id)
            .filter(passkey::Column::UserId.eq(user_id))
            .into_tuple::<i32>()
            .one(self.connection())
            .await?
            .is_some())
    }

    /// The passkey with this credential id (base64url), whoever's it is.
    pub async fn passkey_by_credential_id(
        &self,
        credential_id: &str,
    ) -> Result<Option<passkey::Model>, StoreError> {
        Ok(passkey::Entity::find()
            .filter(passkey::Column::CredentialId.eq(credential_id))
            .one(self.connection())
            .await?)
    }

    /// Stores a new passkey for its person, ends their other sessions (`keep_session` stays)
    /// and audits it (mailed), in one transaction. Refused with `LimitReached` when they have
    /// [`MAX_PER_USER`] (counted under a lock on the person: PostgreSQL `FOR UPDATE`, SQLite
    /// the IMMEDIATE transaction) and `AlreadyExists` when the credential is stored already.
    pub async fn add_passkey(
        &self,
        new: NewPasskey,
        keep_session: i32,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<passkey::Model, StoreError> {
        let txn = self.begin_write().await?;
        if self.connection().get_database_backend() == DatabaseBackend::Postgres {
            user::Entity::find_by_id(new.user_id)
                .lock_exclusive()
                .one(&txn)
                .await?;
        }
        let count = passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(new.user_id))
            .count(&txn)
            .await?;
        if count >= MAX_PER_USER {
            return Err(StoreError::LimitReached);
        }
        let user_id = new.user_id;
        let added = passkey::ActiveModel {
            user_id: Set(new.user_id),
            name: Set(new.name),
            credential_id: Set(new.credential_id),
            user_handle: Set(new.user_handle),
            credential: Set(new.credential),
            sign_count: Set(new.sign_count),
            created_at: Set(now),
            last_used_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let added = match added {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::AlreadyExists);
            }
            other => other?,
        };
        finish_factor_change(txn, user_id, keep_session, ADDED, &added, actor, now).await?;
        Ok(added)
    }

    /// Renames one of the person's passkeys, with its audit event; `None` when it is not
    /// theirs (or gone).
    pub async fn rename_passkey(
        &self,
        user_id: i32,
        id: i32,
        name: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<passkey::Model>, StoreError> {
        let txn = self.begin_write().await?;
        let Some(found) = passkey::Entity::find_by_id(id)
            .filter(passkey::Column::UserId.eq(user_id))
            .one(&txn)
            .await?
        else {
            return Ok(None);
        };
        let detail = format!("{:?} to {name:?} (id {id})", found.name);
        let mut renamed: passkey::ActiveModel = found.into();
        renamed.name = Set(name);
        let renamed = renamed.update(&txn).await?;
        AuditNote::new(RENAMED, detail)
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(Some(renamed))
    }

    /// Deletes one of the person's passkeys, ends their other sessions and audits it (mailed),
    /// in one transaction. With `second_factor_required` (the organization requires two-step
    /// verification) the last second factor stays; checked under a lock on the person, so two
    /// deletions at once cannot both pass. When no second factor is left, the recovery codes
    /// that stand in for one go too, and this instance's cached app-password checks are stale
    /// at once (others hear of it through the trigger of migration 19).
    pub async fn remove_passkey(
        &self,
        user_id: i32,
        id: i32,
        keep_session: i32,
        second_factor_required: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PasskeyRemoval, StoreError> {
        let txn = self.begin_write().await?;
        if self.connection().get_database_backend() == DatabaseBackend::Postgres {
            user::Entity::find_by_id(user_id)
                .lock_exclusive()
                .one(&txn)
                .await?;
        }
        let Some(found) = passkey::Entity::find_by_id(id)
            .filter(passkey::Column::UserId.eq(user_id))
            .one(&txn)
            .await?
        else {
            return Ok(PasskeyRemoval::NotFound);
        };
        passkey::Entity::delete_by_id(found.id).exec(&txn).await?;
        let second_factor_left = has_second_factor(&txn, user_id).await?;
        if second_factor_required && !second_factor_left {
            // Dropped unwritten: the delete above rolls back.
            return Ok(PasskeyRemoval::LastSecondFactor);
        }
        if !second_factor_left {
            delete_recovery_codes(&txn, user_id).await?;
        }
        let sessions_ended =
            finish_factor_change(txn, user_id, keep_session, DELETED, &found, actor, now).await?;
        self.revocations().revoked();
        Ok(PasskeyRemoval::Removed {
            sessions_ended,
            second_factor_left,
        })
    }

    /// Records a use of passkey `id` of `user_id`: its updated credential (counter, backup
    /// flags) and when. With a signature counter (`sign_count` > 0) only over a lower one: of
    /// two uses with the same counter (a cloned key, a replay) one is recorded and the other
    /// answered `false`.
    pub async fn record_passkey_use(
        &self,
        id: i32,
        user_id: i32,
        credential: String,
        sign_count: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut update = passkey::Entity::update_many()
            .col_expr(passkey::Column::Credential, Expr::value(credential))
            .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
            .filter(passkey::Column::Id.eq(id))
            .filter(passkey::Column::UserId.eq(user_id));
        if sign_count > 0 {
            update = update
                .col_expr(passkey::Column::SignCount, Expr::value(sign_count))
                .filter(passkey::Column::SignCount.lt(sign_count));
        }
        Ok(update.exec(self.connection()).await?.rows_affected == 1)
    }

    /// Keeps a started ceremony, in place of an earlier one of the same kind and binding;
    /// expired ceremonies (of anyone) are deleted on the way, so they never pile up.
    pub async fn start_ceremony(
        &self,
        new: NewCeremony<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        passkey_ceremony::Entity::delete_many()
            .filter(passkey_ceremony::Column::ExpiresAt.lte(now))
            .exec(&txn)
            .await?;
        let (session_id, token_hash) = match new.binding {
            CeremonyBinding::Session(id) => (Some(id), None),
            CeremonyBinding::TokenHash(hash) => (None, Some(hash.to_owned())),
        };
        let row = passkey_ceremony::ActiveModel {
            session_id: Set(session_id),
            token_hash: Set(token_hash),
            kind: Set(new.kind.as_str().to_owned()),
            name: Set(new.name),
            state: Set(new.state),
            expires_at: Set(new.expires_at),
            ..Default::default()
        };
        // Starting again replaces the session's earlier ceremony of this kind (one statement,
        // so two starts at once leave one).
        passkey_ceremony::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    passkey_ceremony::Column::SessionId,
                    passkey_ceremony::Column::Kind,
                ])
                .update_columns([
                    passkey_ceremony::Column::Name,
                    passkey_ceremony::Column::State,
                    passkey_ceremony::Column::ExpiresAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Takes the unexpired ceremony of `kind` bound to `binding`, deleting it: `None` when
    /// there is none (never started, finished already, started by another session, or a
    /// moment ago claimed by a concurrent finish) or it expired.
    pub async fn claim_ceremony(
        &self,
        binding: CeremonyBinding<'_>,
        kind: CeremonyKind,
        now: DateTime<Utc>,
    ) -> Result<Option<passkey_ceremony::Model>, StoreError> {
        let Some(found) = passkey_ceremony::Entity::find()
            .filter(bound_to(binding))
            .filter(passkey_ceremony::Column::Kind.eq(kind.as_str()))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        // The delete is the claim: only one of two finishes at once deletes the row.
        let deleted = passkey_ceremony::Entity::delete_many()
            .filter(passkey_ceremony::Column::Id.eq(found.id))
            .exec(self.connection())
            .await?
            .rows_affected;
        Ok((deleted == 1 && now < found.expires_at).then_some(found))
    }
}
