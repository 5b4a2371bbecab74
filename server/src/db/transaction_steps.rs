//! Steps that several changes take inside their own writing transaction (a password set, a
//! second factor counted, recovery codes dropped, the person locked). A leaf of the storage
//! layer: it uses the entities and nothing else of `db`, so the changes' modules need not use
//! each other.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect,
};

use super::entities::{authenticator_app, passkey, recovery_code, user};
use super::store::{Store, StoreError};

/// Locks the person's row until `txn` ends, on PostgreSQL (`FOR UPDATE`; SQLite's IMMEDIATE
/// write transaction already lets one writer at a time): every deletion of a second factor
/// takes it, so of two at once (the app and the last passkey) the second sees the first's
/// result and cannot leave the person without the second factor their organization requires,
/// or with recovery codes and no second factor.
pub(super) async fn lock_person(
    store: &Store,
    txn: &DatabaseTransaction,
    user_id: i32,
) -> Result<(), StoreError> {
    if store.connection().get_database_backend() == DatabaseBackend::Postgres {
        user::Entity::find_by_id(user_id)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    Ok(())
}

/// Whether the person has a second factor: a confirmed authenticator app or a passkey.
pub(super) async fn has_second_factor(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<bool, StoreError> {
    let apps = authenticator_app::Entity::find()
        .filter(authenticator_app::Column::UserId.eq(user_id))
        .filter(authenticator_app::Column::ConfirmedAt.is_not_null())
        .count(db)
        .await?;
    if apps > 0 {
        return Ok(true);
    }
    Ok(passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .count(db)
        .await?
        > 0)
}

/// Deletes every recovery code of `user_id` inside a transaction: when the set is replaced,
/// or when the person's last second factor goes (a code stands in for one).
pub(super) async fn delete_recovery_codes(
    txn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<u64, DbErr> {
    Ok(recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(txn)
        .await?
        .rows_affected)
}

/// Sets a new password hash and its change time inside a writing transaction; `NotFound` if
/// there is no such user. Shared by the person's own change and an administrator's reset.
pub(super) async fn write_new_password(
    txn: &DatabaseTransaction,
    user_id: i32,
    hash: String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let updated = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::PasswordChangedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
