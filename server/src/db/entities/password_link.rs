//! The `password_links` table.

use sea_orm::entity::prelude::*;

/// A one-time link with which a person sets their password: after an administrator's reset,
/// as a new person, or mailed to them ("Forgot password?"). Only a hash of its token is stored; it is deleted when used.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "password_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// "reset", "welcome" or "forgot".
    pub purpose: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// A mailed link's token, sealed with the server key, for its mail; `None` for a link an
    /// administrator was shown.
    pub token_sealed: Option<String>,
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
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
