//! The `sign_in_links` table.

use sea_orm::entity::prelude::*;

/// A sign-in link mailed to a person whose sign-ins are held back (`domain::sign_in_link`).
/// Found by the hash of its token; the token itself is kept sealed with the server key, for
/// the mail; deleted when used, replaced by a newer one, or once expired.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The token, sealed (`SecretKey::seal`) for the link's person.
    pub token_sealed: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Written by hand: the derived `Debug` would print the token's hash and sealed copy.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
