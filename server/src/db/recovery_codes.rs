//! Recovery codes (`domain::recovery_code`): a person's set replaced as a whole, counted, and
//! used one code at a time. Every change is one transaction with its audit event (a use's event
//! queues the person's mail through `db::audit`). A code is used by one conditional UPDATE
//! (`used_at` set only where it is still empty), so of two uses of one code at once, on one
//! instance or several, exactly one signs in.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::audit::AuditNote;
use super::entities::recovery_code;
use super::store::{Actor, Store, StoreError};
use super::transaction_steps::{delete_recovery_codes, has_second_factor, lock_person};
use crate::domain::recovery_code::{CREATED, USED, used_detail};

/// How many codes of a person's set are still unused, and how many the set had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryCodeCount {
    pub left: u64,
    /// 0: the person never got codes (or lost them with their last second factor).
    pub issued: u64,
}

impl Store {
    /// Replaces the person's recovery codes with new ones (`code_hashes`: their keyed hashes),
    /// with the audit event, in one transaction; the earlier codes stop working. Only for a
    /// person with a second factor, a confirmed authenticator app or a passkey (`NotFound`
    /// otherwise), checked under the lock on the person every deletion of a second factor
    /// takes first (`transaction_steps::lock_person`), so one at the same moment cannot leave
    /// codes behind without a second factor (and, all taking it first, none deadlocks).
    pub async fn replace_recovery_codes(
        &self,
        user_id: i32,
        code_hashes: Vec<String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_person(self, &txn, user_id).await?;
        if !has_second_factor(&txn, user_id).await? {
            return Err(StoreError::NotFound);
        }
        delete_recovery_codes(&txn, user_id).await?;
        let issued = code_hashes.len();
        recovery_code::Entity::insert_many(code_hashes.into_iter().map(|code_hash| {
            recovery_code::ActiveModel {
                user_id: Set(user_id),
                code_hash: Set(code_hash),
                created_at: Set(now),
                used_at: Set(None),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
        AuditNote::new(
            CREATED,
            format!("{issued} new recovery codes; the earlier ones stop working"),
        )
        .row(Some(user_id), actor, now)
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// How many of the person's recovery codes are left (one query).
    pub async fn recovery_codes_left(&self, user_id: i32) -> Result<RecoveryCodeCount, StoreError> {
        let codes = recovery_code::Entity::find()
            .filter(recovery_code::Column::UserId.eq(user_id))
            .all(self.connection())
            .await?;
        Ok(RecoveryCodeCount {
            left: codes.iter().filter(|code| code.used_at.is_none()).count() as u64,
            issued: codes.len() as u64,
        })
    }

    /// Uses the person's unused recovery code with this keyed hash, with its audit event (which
    /// queues their mail), in one transaction. Answers how many codes are left, or `None` when
    /// it is not one of theirs or was used already, a moment ago included: the UPDATE's
    /// condition lets only one of two uses at once set `used_at`.
    pub async fn use_recovery_code(
        &self,
        user_id: i32,
        code_hash: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let txn = self.begin_write().await?;
        let claimed = recovery_code::Entity::update_many()
            .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
            .filter(recovery_code::Column::UserId.eq(user_id))
            .filter(recovery_code::Column::CodeHash.eq(code_hash))
            .filter(recovery_code::Column::UsedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed != 1 {
            // Nothing was changed: the transaction ends unwritten.
            return Ok(None);
        }
        let left = recovery_code::Entity::find()
            .filter(recovery_code::Column::UserId.eq(user_id))
            .filter(recovery_code::Column::UsedAt.is_null())
            .count(&txn)
            .await?;
        AuditNote::new(USED, used_detail(left))
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(Some(left))
    }
}
