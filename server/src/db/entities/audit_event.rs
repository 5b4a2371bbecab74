//! The `audit_events` table.

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
    /// When it happened; for a counted event (`domain::audit_bounds`), the first of them.
    pub created_at: DateTimeUtc,
    /// How many attempts this row stands for: 1, or more for a counted event.
    pub count: i32,
    /// What a counted event counts (`domain::audit_bounds::bucket`); unique. `None` for an
    /// event written on its own.
    pub bucket: Option<String>,
    /// Made by `latchkey admin` on the server's machine (not read from the client's name,
    /// which a browser chooses).
    pub by_command_line: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
