//! The client addresses each app password has been used from, so the first use from a new
//! address can be recorded once (an audit event), whichever instance answers.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppPasswords {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppPasswordIps {
    Table,
    Id,
    AppPasswordId,
    Ip,
    FirstSeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppPasswordIps::Table)
                    .if_not_exists()
                    .col(pk_auto(AppPasswordIps::Id))
                    .col(integer(AppPasswordIps::AppPasswordId))
                    .col(string(AppPasswordIps::Ip))
                    .col(timestamp_with_time_zone(AppPasswordIps::FirstSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AppPasswordIps::Table, AppPasswordIps::AppPasswordId)
                            .to(AppPasswords::Table, AppPasswords::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("app_password_ips_unique")
                    .table(AppPasswordIps::Table)
                    .col(AppPasswordIps::AppPasswordId)
                    .col(AppPasswordIps::Ip)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(AppPasswordIps::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
