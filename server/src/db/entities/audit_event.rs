use sea_orm::entity::prelude::*;

/// Something security-relevant that happened, kept for the administrator.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The person it is about.
    pub user_id: Option<i32>,
    /// The signed-in administrator who did it, when it was one (not the person themselves,
    /// the command line or the system).
    pub actor_user_id: Option<i32>,
    /// A stable machine-readable name, e.g. "setup.completed".
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
