use sea_orm::entity::prelude::*;

/// A user's authenticator app (TOTP). The secret is sealed with the server key. Until
/// `confirmed_at` is set (a first code was entered) it does not count as a method.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
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
