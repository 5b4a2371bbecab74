//! `audit_events.by_command_line`: whether `latchkey admin` made the change. It used to be read
//! from the event's client name, which anyone signing in chooses (their User-Agent), so a
//! browser could pass itself off as the command line in the audit log. Earlier events of the
//! command line are marked by that name, once, as they were shown before.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    ByCommandLine,
}

/// The client name `latchkey admin` wrote before this column.
const OLD_COMMAND_LINE_CLIENT: &str = "latchkey admin (command line)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager
            .has_column("audit_events", "by_command_line")
            .await?
        {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(boolean(AuditEvents::ByCommandLine).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(AuditEvents::Table)
                    .value(AuditEvents::ByCommandLine, true)
                    .and_where(Expr::col(Alias::new("actor_user_id")).is_null())
                    .and_where(Expr::col(Alias::new("user_agent")).eq(OLD_COMMAND_LINE_CLIENT))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::ByCommandLine)
                    .to_owned(),
            )
            .await
    }
}
