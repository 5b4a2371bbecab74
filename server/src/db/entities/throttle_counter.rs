//! The `throttle_counters` table.

use sea_orm::entity::prelude::*;

/// One throttle counter (see `domain::throttle::Counter`); `version` changes on every write,
/// so a claim can update the row only if nobody else did since it was read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "throttle_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub failures: i32,
    pub throttled_until: Option<DateTimeUtc>,
    pub expires_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
