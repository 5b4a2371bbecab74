//! The `passkeys` table.

use sea_orm::entity::prelude::*;

/// One passkey or security key of a person (`domain::passkey`): its name, its credential id
/// (base64url, unique), the user handle it was made with, the serialized
/// `webauthn_rs::prelude::Passkey` (public key, counter, flags; nothing secret), and its
/// signature counter apart, so a use is recorded only over a lower one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    #[sea_orm(unique)]
    pub credential_id: String,
    pub user_handle: String,
    #[sea_orm(column_type = "Text")]
    pub credential: String,
    pub sign_count: i64,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
