//! The `app_passwords` table.

use sea_orm::entity::prelude::*;

/// An app password. The secret itself is never stored: `lookup_hash` (keyed HMAC, unique)
/// finds the one candidate row, `password_hash` (argon2id) verifies it.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_passwords")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    /// Case-folded name; unique together with `user_id`.
    pub name_key: String,
    #[sea_orm(unique)]
    pub lookup_hash: String,
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub last_used_ip: Option<String>,
    pub last_used_client: Option<String>,
    /// What it may reach (`AppPasswordKind::as_str`); "everything" unless limited.
    pub kind: String,
    /// When it stops working, as chosen at creation; `None`: never (the organization's idle
    /// rule may still end it).
    pub expires_at: Option<DateTimeUtc>,
    /// When the mail reminding of its expiry was queued (once).
    pub expiry_reminded_at: Option<DateTimeUtc>,
    /// When its expiry was written to the audit log (once).
    pub expired_noted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Written by hand: the derived `Debug` would print `lookup_hash`, `password_hash`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("name_key", &self.name_key)
            .field("lookup_hash", &"..")
            .field("password_hash", &"..")
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("last_used_ip", &self.last_used_ip)
            .field("last_used_client", &self.last_used_client)
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .field("expiry_reminded_at", &self.expiry_reminded_at)
            .field("expired_noted_at", &self.expired_noted_at)
            .finish()
    }
}
