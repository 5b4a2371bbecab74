//! The `mail_outbox` table.

use sea_orm::entity::prelude::*;

/// A mail alert to send about the audit event `audit_event_id`, written in the same transaction
/// as that event (so it exists exactly when the event does); the mail itself is made from the
/// event when it is sent. Sent once `sent_at` is set; retried at `next_attempt_at` until then,
/// unless given up. An instance sending it holds it until `claimed_until` with its own
/// `claim_token`, and only the holder of that token can record how the sending went.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub audit_event_id: i32,
    pub created_at: DateTimeUtc,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub claimed_until: Option<DateTimeUtc>,
    pub claim_token: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub gave_up_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
