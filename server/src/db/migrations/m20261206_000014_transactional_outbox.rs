//! A transactional outbox for mail alerts. Until now each instance turned audit events into
//! outbox rows after the fact, moving a cursor (`mail_cursors`) past the highest event id it had
//! seen; on PostgreSQL an id is taken at insert and transactions commit in any order, so an
//! event committed after a higher one was already passed over and never mailed. From here on
//! the change that writes an audit event warranting a mail writes its outbox row in the same
//! transaction (`db::audit`), and the mail's words are made from the event when it is sent.
//!
//! - `recipient`, `subject` and `body` go (a mail is made when it is sent); `claim_token` comes:
//!   only the instance holding a mail's claim may record how sending it went.
//! - Events the cursor had passed are done, sent or not. Alerted events after it get their row
//!   now (when the cursor never existed, alerts never ran: nothing is owed). The kinds are the
//!   ones alerted when this migration was written, not whatever `domain::alerts` says later.
//! - The cursor table is dropped: nothing reads it any more, and an older instance still
//!   running (a rolling upgrade) fails its alert rounds, logged, instead of sending with the
//!   old claims.
//!
//! Each step checks what is already there, so an interrupted run can be run again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Recipient,
    Subject,
    Body,
    ClaimToken,
}

#[derive(DeriveIden)]
enum MailCursors {
    Table,
    Id,
    LastAuditEventId,
}

/// The columns of a mail's words, made before sending in the old design.
const WORDS: [(&str, MailOutbox); 3] = [
    ("recipient", MailOutbox::Recipient),
    ("subject", MailOutbox::Subject),
    ("body", MailOutbox::Body),
];

/// Queues the alerted events after the cursor that have no row yet (the statement is the
/// same on SQLite and PostgreSQL). An event about nobody gets no mail.
const QUEUE_EVENTS_AFTER_THE_CURSOR: &str = "\
    INSERT INTO mail_outbox (audit_event_id, created_at, attempts, next_attempt_at) \
    SELECT id, created_at, 0, created_at FROM audit_events \
    WHERE user_id IS NOT NULL \
      AND kind IN ('app_password.created', 'app_password.new_ip', 'password.changed', \
                   'authenticator.added', 'authenticator.deleted') \
      AND id > (SELECT last_audit_event_id FROM mail_cursors WHERE id = 1) \
      AND id NOT IN (SELECT audit_event_id FROM mail_outbox)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one thing at a time.
        for (name, column) in WORDS {
            if manager.has_column("mail_outbox", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(MailOutbox::Table)
                            .drop_column(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        if !manager.has_column("mail_outbox", "claim_token").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(MailOutbox::Table)
                        .add_column(string_null(MailOutbox::ClaimToken))
                        .to_owned(),
                )
                .await?;
        }
        if manager.has_table("mail_cursors").await? {
            manager
                .get_connection()
                .execute_unprepared(QUEUE_EVENTS_AFTER_THE_CURSOR)
                .await?;
            manager
                .drop_table(Table::drop().table(MailCursors::Table).to_owned())
                .await?;
        }
        Ok(())
    }

    /// Back to the cursor, placed after every event (the old design would otherwise queue
    /// them again); mails not sent yet are dropped, as their words are gone.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "DELETE FROM mail_outbox WHERE sent_at IS NULL AND gave_up_at IS NULL",
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MailOutbox::Table)
                    .drop_column(MailOutbox::ClaimToken)
                    .to_owned(),
            )
            .await?;
        for (_, column) in WORDS {
            let mut words = match column {
                MailOutbox::Body => text(column),
                _ => string(column),
            };
            manager
                .alter_table(
                    Table::alter()
                        .table(MailOutbox::Table)
                        .add_column(words.default(""))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(MailCursors::Table)
                    .if_not_exists()
                    .col(integer(MailCursors::Id).primary_key())
                    .col(integer(MailCursors::LastAuditEventId))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO mail_cursors (id, last_audit_event_id) \
             SELECT 1, COALESCE(MAX(id), 0) FROM audit_events",
        )
        .await?;
        Ok(())
    }
}
