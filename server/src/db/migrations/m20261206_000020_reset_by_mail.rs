//! "Forgot password?" by mail: the organization's switch (off by default: it makes the mailbox
//! of a sign-in name enough to set its password, so the organization decides), and, for a
//! mailed password link, its token sealed with the server key (bound to the link's person),
//! for the mail made from the link's audit event when it is sent. Links an administrator
//! shows have none.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    ResetPasswordByMail,
}

#[derive(DeriveIden)]
enum PasswordLinks {
    Table,
    TokenSealed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        if !manager
            .has_column("organizations", "reset_password_by_mail")
            .await?
        {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .add_column(boolean(Organizations::ResetPasswordByMail).default(false))
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_column("password_links", "token_sealed").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(PasswordLinks::Table)
                        .add_column(text_null(PasswordLinks::TokenSealed))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PasswordLinks::Table)
                    .drop_column(PasswordLinks::TokenSealed)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(Organizations::ResetPasswordByMail)
                    .to_owned(),
            )
            .await
    }
}
