//! Sign-in links mailed to a person whose sign-ins an attack from many addresses holds back
//! (`domain::sign_in_link`): the hash of the token, to find the link by, and the token itself
//! sealed with the server key (bound to the link's person), for the mail that is made from
//! the link's audit event when it is sent. Neither gives the link to someone holding only the
//! database.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignInLinks {
    Table,
    Id,
    UserId,
    TokenHash,
    TokenSealed,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignInLinks::Table)
                    .if_not_exists()
                    .col(pk_auto(SignInLinks::Id))
                    .col(integer(SignInLinks::UserId))
                    .col(string_uniq(SignInLinks::TokenHash))
                    .col(text(SignInLinks::TokenSealed))
                    .col(timestamp_with_time_zone(SignInLinks::CreatedAt))
                    .col(timestamp_with_time_zone(SignInLinks::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SignInLinks::Table, SignInLinks::UserId)
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
                    .name("sign_in_links_user_id")
                    .table(SignInLinks::Table)
                    .col(SignInLinks::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("sign_in_links_expires_at")
                    .table(SignInLinks::Table)
                    .col(SignInLinks::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignInLinks::Table).to_owned())
            .await
    }
}
