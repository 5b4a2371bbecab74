//! The `authenticator_apps` table.

use sea_orm::entity::prelude::*;

/// One of a user's authenticator apps (TOTP), with the name they gave it. The secret is sealed
/// with the server key. Until `confirmed_at` is set (a first code was entered) it does not
/// count as a method; a person has at most one such pending app.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authenticator_apps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    pub secret_sealed: String,
    /// The last time step whose code was accepted; codes of this step or earlier are refused.
    pub last_used_step: Option<i64>,
    /// When a code of it last signed in or confirmed it's the person.
    pub last_used_at: Option<DateTimeUtc>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Written by hand: the derived `Debug` would print `secret_sealed`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("secret_sealed", &"..")
            .field("last_used_step", &self.last_used_step)
            .field("last_used_at", &self.last_used_at)
            .field("confirmed_at", &self.confirmed_at)
            .field("created_at", &self.created_at)
            .finish()
    }
}
