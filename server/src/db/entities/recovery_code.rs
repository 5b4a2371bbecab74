//! The `recovery_codes` table.

use sea_orm::entity::prelude::*;

/// One code of a person's recovery-code set (`domain::recovery_code`). Found by its keyed
/// hash; used once (`used_at`); deleted when the set is replaced or the person's last
/// authenticator app goes.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    /// HMAC-SHA-256 of the code under the server key (`SecretKey::keyed_hash`).
    #[sea_orm(unique)]
    pub code_hash: String,
    pub created_at: DateTimeUtc,
    /// When it signed someone in; it never works again.
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Written by hand: the derived `Debug` would print the code's hash.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}
