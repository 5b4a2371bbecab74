//! The `app_password_ips` table.

use sea_orm::entity::prelude::*;

/// A client address an app password was used from; unique per app password.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_password_ips")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub app_password_id: i32,
    pub ip: String,
    pub first_seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
