//! The `users` table.

use sea_orm::entity::prelude::*;

/// An account of the organization. `username_key` is the case-folded username that the
/// unique index is on, so "Ada@x" and "ada@X" cannot both exist.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub username: String,
    #[sea_orm(unique)]
    pub username_key: String,
    pub display_name: String,
    /// The lower-cased display name, which the people search's index is on.
    pub name_key: String,
    /// Encoded argon2id PHC string.
    pub password_hash: String,
    pub password_changed_at: DateTimeUtc,
    pub is_enabled: bool,
    /// "user" or "admin".
    pub role: Role,
    pub created_at: DateTimeUtc,
    /// Consecutive failed sign-ins; reset by a successful one.
    pub failed_sign_ins: i32,
    /// No sign-in attempt is checked before this time.
    pub throttled_until: Option<DateTimeUtc>,
    /// The person dismissed Security info's preview notice.
    pub preview_notice_dismissed: bool,
    /// The second factor sign-in asks for first, as the person chose it; `None`: Latchkey
    /// chooses (and a choice whose last method is gone is passed over).
    pub default_method: Option<SecondFactorKind>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Written by hand: the derived `Debug` would print `password_hash`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("username", &self.username)
            .field("username_key", &self.username_key)
            .field("display_name", &self.display_name)
            .field("password_hash", &"..")
            .field("password_changed_at", &self.password_changed_at)
            .field("is_enabled", &self.is_enabled)
            .field("role", &self.role)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A kind of second factor, as the person's default sign-in method is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SecondFactorKind {
    #[sea_orm(string_value = "authenticator_app")]
    AuthenticatorApp,
    #[sea_orm(string_value = "passkey")]
    Passkey,
}

/// What a person may do. Administrators also run the admin console and the changes of
/// `latchkey admin`; stored by name, as before this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Role {
    #[sea_orm(string_value = "admin")]
    Administrator,
    #[sea_orm(string_value = "user")]
    Member,
}

impl Role {
    /// Its name in audit events and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Administrator => "admin",
            Self::Member => "user",
        }
    }
}
