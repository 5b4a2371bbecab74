//! The organization's mail settings (IMAP and SMTP host, port and TLS; CalDAV and CardDAV
//! addresses), from which Security info offers an Apple configuration profile with a new app
//! password; all empty until an administrator enters them. And `apple_profile_links`: the
//! single-use, 10-minute links a QR code carries to the phone. A row keeps only the keyed hash
//! of its token and whose app password it is; the password travels sealed inside the token
//! (`use_cases::apple_profiles`), so the database alone never holds it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    MailImapHost,
    MailImapPort,
    MailImapTls,
    MailSmtpHost,
    MailSmtpPort,
    MailSmtpTls,
    MailCaldavUrl,
    MailCarddavUrl,
}

#[derive(DeriveIden)]
enum AppleProfileLinks {
    Table,
    Id,
    UserId,
    AppPasswordId,
    TokenHash,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppPasswords {
    Table,
    Id,
}

/// The new columns of `organizations`, each added by one statement (SQLite alters one at a
/// time) unless a half-run migration added it already.
fn organization_columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        ("mail_imap_host", text_null(Organizations::MailImapHost)),
        ("mail_imap_port", integer_null(Organizations::MailImapPort)),
        (
            "mail_imap_tls",
            boolean(Organizations::MailImapTls).default(true).to_owned(),
        ),
        ("mail_smtp_host", text_null(Organizations::MailSmtpHost)),
        ("mail_smtp_port", integer_null(Organizations::MailSmtpPort)),
        (
            "mail_smtp_tls",
            boolean(Organizations::MailSmtpTls).default(true).to_owned(),
        ),
        ("mail_caldav_url", text_null(Organizations::MailCaldavUrl)),
        ("mail_carddav_url", text_null(Organizations::MailCarddavUrl)),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, mut column) in organization_columns() {
            if !manager.has_column("organizations", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Organizations::Table)
                            .add_column(&mut column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .create_table(
                Table::create()
                    .table(AppleProfileLinks::Table)
                    .if_not_exists()
                    .col(pk_auto(AppleProfileLinks::Id))
                    .col(integer(AppleProfileLinks::UserId))
                    .col(integer(AppleProfileLinks::AppPasswordId))
                    .col(string_uniq(AppleProfileLinks::TokenHash))
                    .col(timestamp_with_time_zone(AppleProfileLinks::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AppleProfileLinks::Table, AppleProfileLinks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AppleProfileLinks::Table, AppleProfileLinks::AppPasswordId)
                            .to(AppPasswords::Table, AppPasswords::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("apple_profile_links_expires_at")
                    .table(AppleProfileLinks::Table)
                    .col(AppleProfileLinks::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AppleProfileLinks::Table).to_owned())
            .await?;
        for (name, _) in organization_columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
