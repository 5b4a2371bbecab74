//! The `key_checks` table.

use sea_orm::entity::prelude::*;

/// The one row (`id` 1) holding the check value of the secret key the database is used with
/// (`SecretKey::check_value`): a keyed hash, which says nothing about the key itself.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_checks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub mac: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
