//! The organization's "an administrator's password reset revokes the person's app passwords"
//! setting (on by default: a reset usually follows a lost or leaked password, and app passwords
//! made by whoever had it would keep working otherwise).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    ResetRevokesAppPasswords,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager
            .has_column("organizations", "reset_revokes_app_passwords")
            .await?
        {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(boolean(Organizations::ResetRevokesAppPasswords).default(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(Organizations::ResetRevokesAppPasswords)
                    .to_owned(),
            )
            .await
    }
}
