//! The `passkey_ceremonies` table.

use sea_orm::entity::prelude::*;

/// A started passkey ceremony (`domain::passkey::CeremonyKind`): the state `webauthn-rs`
/// needs to finish it (its challenge), bound to the session that started it or, for a
/// passwordless sign-in, to the hash of a token only the starting page holds; until
/// `expires_at`, and claimed by deleting it.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkey_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub session_id: Option<i32>,
    #[sea_orm(unique)]
    pub token_hash: Option<String>,
    pub kind: String,
    /// The name the person gave the passkey they are adding.
    pub name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub state: String,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Written by hand: the state holds the challenge, which is not for logs.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("session_id", &self.session_id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
