//! App-password expiry (issue 31): `app_passwords.expires_at`, the date chosen at creation
//! (none: never); `expiry_reminded_at` and `expired_noted_at`, when the reminder mail was
//! queued and the expiry written to the audit log, so each happens once; and the
//! organization's `app_password_idle_days` ("app passwords unused for N days stop working",
//! none: off). No trigger: the check compares the times itself, cached or not, and a change
//! of the organization's row already signals a revocation (migration 11).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppPasswords {
    Table,
    ExpiresAt,
    ExpiryRemindedAt,
    ExpiredNotedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    AppPasswordIdleDays,
}

const EXPIRY_INDEX: &str = "idx_app_passwords_expires_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for (name, column) in [
            ("expires_at", AppPasswords::ExpiresAt),
            ("expiry_reminded_at", AppPasswords::ExpiryRemindedAt),
            ("expired_noted_at", AppPasswords::ExpiredNotedAt),
        ] {
            if !manager.has_column("app_passwords", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(AppPasswords::Table)
                            .add_column(timestamp_with_time_zone_null(column))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        if !manager
            .has_column("organizations", "app_password_idle_days")
            .await?
        {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .add_column(integer_null(Organizations::AppPasswordIdleDays))
                        .to_owned(),
                )
                .await?;
        }
        // The periodic job looks for fixed dates coming up.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(EXPIRY_INDEX)
                    .table(AppPasswords::Table)
                    .col(AppPasswords::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .if_exists()
                    .name(EXPIRY_INDEX)
                    .table(AppPasswords::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            AppPasswords::ExpiredNotedAt,
            AppPasswords::ExpiryRemindedAt,
            AppPasswords::ExpiresAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AppPasswords::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(Organizations::AppPasswordIdleDays)
                    .to_owned(),
            )
            .await
    }
}
