//! Counters of sign-in attempts, shared by every instance on the database (see
//! `domain::throttle`). Keyed by a hash of what is counted; each row expires by itself.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ThrottleCounters {
    Table,
    Key,
    Failures,
    ThrottledUntil,
    ExpiresAt,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ThrottleCounters::Table)
                    .if_not_exists()
                    .col(string_len(ThrottleCounters::Key, 64).primary_key())
                    .col(integer(ThrottleCounters::Failures))
                    .col(timestamp_with_time_zone_null(
                        ThrottleCounters::ThrottledUntil,
                    ))
                    .col(timestamp_with_time_zone(ThrottleCounters::ExpiresAt))
                    .col(big_integer(ThrottleCounters::Version))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("throttle_counters_expires_at")
                    .table(ThrottleCounters::Table)
                    .col(ThrottleCounters::ExpiresAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(ThrottleCounters::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
