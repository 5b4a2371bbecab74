//! The `apple_profile_links` table.

use sea_orm::entity::prelude::*;

/// A single-use link to the Apple configuration profile of a new app password, shown as a QR
/// code while its dialog is open. Found by the keyed hash of its token (which carries the
/// password sealed); deleted when used; useless after `expires_at`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "apple_profile_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub app_password_id: i32,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Written by hand: the derived `Debug` would print the token's hash.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("app_password_id", &self.app_password_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
