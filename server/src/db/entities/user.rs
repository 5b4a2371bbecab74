use sea_orm::entity::prelude::*;

/// An account of the organization. `username_key` is the case-folded username that the
/// unique index is on, so "Ada@x" and "ada@X" cannot both exist.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub username: String,
    #[sea_orm(unique)]
    pub username_key: String,
    pub display_name: String,
    /// Encoded argon2id PHC string.
    pub password_hash: String,
    pub password_changed_at: DateTimeUtc,
    pub is_enabled: bool,
    /// "user" or "admin".
    pub role: String,
    pub created_at: DateTimeUtc,
    /// Consecutive failed sign-ins; reset by a successful one.
    pub failed_sign_ins: i32,
    /// No sign-in attempt is checked before this time.
    pub throttled_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
