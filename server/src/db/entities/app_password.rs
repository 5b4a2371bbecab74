use sea_orm::entity::prelude::*;

/// An app password. The secret itself is never stored: `lookup_hash` (keyed HMAC, unique)
/// finds the one candidate row, `password_hash` (argon2id) verifies it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
