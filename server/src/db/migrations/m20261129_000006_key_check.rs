//! The server key's check value: tells at start-up (and at restore) whether the secret key
//! file is the one this database was written with.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyChecks {
    Table,
    Id,
    Mac,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyChecks::Table)
                    .if_not_exists()
                    .col(integer(KeyChecks::Id).primary_key())
                    .col(string(KeyChecks::Mac))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KeyChecks::Table).to_owned())
            .await
    }
}
