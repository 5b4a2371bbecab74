//! Sign-in: failure counters on users, the second-step flag on sessions, authenticator apps.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    FailedSignIns,
    ThrottledUntil,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    PendingSecondStep,
}

#[derive(DeriveIden)]
enum AuthenticatorApps {
    Table,
    Id,
    UserId,
    SecretSealed,
    LastUsedStep,
    ConfirmedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite allows one column per ALTER TABLE.
        if !manager.has_column("users", "failed_sign_ins").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(integer(Users::FailedSignIns).default(0))
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_column("users", "throttled_until").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(timestamp_with_time_zone_null(Users::ThrottledUntil))
                        .to_owned(),
                )
                .await?;
        }
        if !manager
            .has_column("sessions", "pending_second_step")
            .await?
        {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .add_column(boolean(Sessions::PendingSecondStep).default(false))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuthenticatorApps::Table)
                    .if_not_exists()
                    .col(pk_auto(AuthenticatorApps::Id))
                    // One authenticator app per user (several since migration 25).
                    .col(integer_uniq(AuthenticatorApps::UserId))
                    .col(string(AuthenticatorApps::SecretSealed))
                    .col(big_integer_null(AuthenticatorApps::LastUsedStep))
                    .col(timestamp_with_time_zone_null(
                        AuthenticatorApps::ConfirmedAt,
                    ))
                    .col(timestamp_with_time_zone(AuthenticatorApps::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuthenticatorApps::Table, AuthenticatorApps::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(AuthenticatorApps::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
