//! The `sessions` table.

use sea_orm::entity::prelude::*;

/// A browser session. Only a hash of the cookie value is stored, so a copy of the
/// database does not let anyone sign in.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    /// When the user last proved who they are (password, and code when enrolled).
    pub verified_at: DateTimeUtc,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The password was right but the authenticator code is still missing: not signed in yet.
    pub pending_second_step: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Written by hand: the derived `Debug` would print `token_hash`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("token_hash", &"..")
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("verified_at", &self.verified_at)
            .field("ip", &self.ip)
            .field("user_agent", &self.user_agent)
            .field("pending_second_step", &self.pending_second_step)
            .finish()
    }
}
