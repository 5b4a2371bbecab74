//! One-time password links (an administrator's reset, or a new person's first password) and
//! the people search's key on names: `users.name_key`, the lower-cased display name, indexed
//! like `username_key`. On PostgreSQL both keys compare byte by byte (`COLLATE "C"`), so a
//! prefix is one index range whatever the database's own collation. And who did what:
//! `audit_events.actor_user_id`, the signed-in administrator behind an event about someone.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PasswordLinks {
    Table,
    Id,
    UserId,
    TokenHash,
    Purpose,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    ActorUserId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    NameKey,
    UsernameKey,
}

const NAME_INDEX: &str = "users_name_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PasswordLinks::Table)
                    .if_not_exists()
                    .col(pk_auto(PasswordLinks::Id))
                    .col(integer(PasswordLinks::UserId))
                    .col(string_uniq(PasswordLinks::TokenHash))
                    .col(string(PasswordLinks::Purpose))
                    .col(timestamp_with_time_zone(PasswordLinks::CreatedAt))
                    .col(timestamp_with_time_zone(PasswordLinks::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PasswordLinks::Table, PasswordLinks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("password_links_user_id")
                    .table(PasswordLinks::Table)
                    .col(PasswordLinks::UserId)
                    .to_owned(),
            )
            .await?;
        if !manager.has_column("audit_events", "actor_user_id").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .add_column(integer_null(AuditEvents::ActorUserId))
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_column("users", "name_key").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(string(Users::NameKey).default(""))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        if db.get_database_backend() == DatabaseBackend::Postgres {
            for column in ["username_key", "name_key"] {
                db.execute_unprepared(&format!(
                    r#"ALTER TABLE users ALTER COLUMN {column} TYPE varchar COLLATE "C""#
                ))
                .await?;
            }
        }
        // The keys of the people already there, lower-cased as the application does it
        // (SQLite's `lower()` leaves everything but ASCII as it is).
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, display_name FROM users",
            ))
            .await?;
        for row in rows {
            let id: i32 = row.try_get("", "id")?;
            let name: String = row.try_get("", "display_name")?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    DatabaseBackend::Postgres => "UPDATE users SET name_key = $1 WHERE id = $2",
                    _ => "UPDATE users SET name_key = ? WHERE id = ?",
                },
                [name.to_lowercase().into(), id.into()],
            ))
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(NAME_INDEX)
                    .table(Users::Table)
                    .col(Users::NameKey)
                    // With the sign-in name key, a search's matches are ordered and paged
                    // from the index alone, reading only the rows of the page.
                    .col(Users::UsernameKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::ActorUserId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(NAME_INDEX)
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::NameKey)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PasswordLinks::Table).to_owned())
            .await
    }
}
