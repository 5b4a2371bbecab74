//! The `authenticator_apps` table.

use sea_orm::entity::prelude::*;

/// A user's authenticator app (TOTP). The secret is sealed with the server key. Until
/// `confirmed_at` is set (a first code was entered) it does not count as a method.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authenticator_apps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub user_id: i32,
    pub secret_sealed: String,
    /// The last time step whose code was accepted; codes of this step or earlier are refused.
    pub last_used_step: Option<i64>,
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
            .field("secret_sealed", &"..")
            .field("last_used_step", &self.last_used_step)
            .field("confirmed_at", &self.confirmed_at)
            .field("created_at", &self.created_at)
            .finish()
    }
}
