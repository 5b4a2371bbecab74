//! Several authenticator apps per person, each with a name and its last use, and the person's
//! default sign-in method (`users.default_method`: "authenticator_app" or "passkey"; `NULL`
//! lets Latchkey choose). Existing apps are named "Authenticator app".
//!
//! The one-per-person unique constraint on `authenticator_apps.user_id` goes: PostgreSQL drops
//! it; SQLite cannot drop a column constraint, so the table is made again, with its rows and
//! migration 11's revocation triggers, in this migration's transaction.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

use super::m20261201_000011_revocation_signals::{TRIGGERS, sqlite_trigger};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthenticatorApps {
    Table,
    Id,
    UserId,
    Name,
    SecretSealed,
    LastUsedStep,
    LastUsedAt,
    ConfirmedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    DefaultMethod,
}

/// The name existing apps get, and new ones when the person gives none.
const DEFAULT_NAME: &str = "Authenticator app";
const USER_INDEX: &str = "authenticator_apps_user_id";
/// The copy of the table SQLite fills before it replaces the original.
const REBUILT: &str = "authenticator_apps_rebuilt";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if !manager.has_column("users", "default_method").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(string_null(Users::DefaultMethod))
                        .to_owned(),
                )
                .await?;
        }
        if manager.has_column("authenticator_apps", "name").await? {
            return Ok(());
        }
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE authenticator_apps DROP CONSTRAINT IF EXISTS authenticator_apps_user_id_key",
                )
                .await?;
                manager
                    .alter_table(
                        Table::alter()
                            .table(AuthenticatorApps::Table)
                            .add_column(string(AuthenticatorApps::Name).default(DEFAULT_NAME))
                            .add_column(timestamp_with_time_zone_null(
                                AuthenticatorApps::LastUsedAt,
                            ))
                            .to_owned(),
                    )
                    .await?;
                manager
                    .create_index(
                        Index::create()
                            .if_not_exists()
                            .name(USER_INDEX)
                            .table(AuthenticatorApps::Table)
                            .col(AuthenticatorApps::UserId)
                            .to_owned(),
                    )
                    .await?;
            }
            _ => {
                let create = Table::create()
                    .table(Alias::new(REBUILT))
                    .col(pk_auto(AuthenticatorApps::Id))
                    .col(integer(AuthenticatorApps::UserId))
                    .col(string(AuthenticatorApps::Name).default(DEFAULT_NAME))
                    .col(string(AuthenticatorApps::SecretSealed))
                    .col(big_integer_null(AuthenticatorApps::LastUsedStep))
                    .col(timestamp_with_time_zone_null(AuthenticatorApps::LastUsedAt))
                    .col(timestamp_with_time_zone_null(
                        AuthenticatorApps::ConfirmedAt,
                    ))
                    .col(timestamp_with_time_zone(AuthenticatorApps::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Alias::new(REBUILT), AuthenticatorApps::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_string(SqliteQueryBuilder);
                let triggers: String = TRIGGERS
                    .iter()
                    .filter(|(_, event, _)| event.ends_with(" authenticator_apps"))
                    .map(|&trigger| sqlite_trigger(trigger) + ";")
                    .collect();
                // One batch on one connection, all or nothing: the pool's other connections
                // would see the table half made again.
                db.execute_unprepared(&format!(
                    "SAVEPOINT rebuild_authenticator_apps; \
                     {create}; \
                     INSERT INTO {REBUILT} (id, user_id, secret_sealed, last_used_step, confirmed_at, created_at) \
                     SELECT id, user_id, secret_sealed, last_used_step, confirmed_at, created_at FROM authenticator_apps; \
                     DROP TABLE authenticator_apps; \
                     ALTER TABLE {REBUILT} RENAME TO authenticator_apps; \
                     {triggers} \
                     CREATE INDEX IF NOT EXISTS {USER_INDEX} ON authenticator_apps (user_id); \
                     RELEASE rebuild_authenticator_apps;"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Going back would have to choose one app per person: not done; the columns stay.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::DefaultMethod)
                    .to_owned(),
            )
            .await
    }
}
