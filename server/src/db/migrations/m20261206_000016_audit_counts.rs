//! Counted audit events (`domain::audit_bounds`): `count`, how many attempts a row stands for
//! (1 for every other event), and `bucket`, the key of what a counted row counts (kind,
//! person, detail, address and window), unique, so that instances counting the same attempt
//! at once add to one row (`INSERT ... ON CONFLICT (bucket) DO UPDATE`). Rows written one by
//! one have no bucket (NULLs are never equal, on either database).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Count,
    Bucket,
}

const BUCKET_INDEX: &str = "audit_events_bucket";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite alters a table one column at a time.
        if !manager.has_column("audit_events", "count").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .add_column(integer(AuditEvents::Count).default(1))
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_column("audit_events", "bucket").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .add_column(string_len_null(AuditEvents::Bucket, 64))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .unique()
                    .name(BUCKET_INDEX)
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Bucket)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The index first: SQLite does not drop an indexed column.
        manager
            .drop_index(
                Index::drop()
                    .name(BUCKET_INDEX)
                    .table(AuditEvents::Table)
                    .to_owned(),
            )
            .await?;
        for column in [AuditEvents::Bucket, AuditEvents::Count] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
