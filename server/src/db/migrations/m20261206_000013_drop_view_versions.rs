//! No more page cache (issue 33): migration 12's view-version triggers, their trigger
//! functions on PostgreSQL, and the `view_versions` table go, so a change to a person's rows
//! or to the organization no longer also writes a counter that nothing reads.
//!
//! `down` puts them back as migration 12 made them (it runs migration 12's `up`), so a binary
//! from before this migration finds the schema it expects.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

use super::m20261202_000012_view_versions as view_versions;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows belong to one person: each had a trigger per event.
const PERSONAL_TABLES: [&str; 4] = ["users", "sessions", "app_passwords", "authenticator_apps"];

/// Migration 12's trigger on `event` of `table` (on PostgreSQL also its function's name).
fn trigger_name(table: &str, event: &str) -> String {
    format!("view_version_on_{table}_{event}")
}

/// The organization's trigger (and function) on PostgreSQL, which the personal tables'
/// `TRUNCATE` triggers call too.
const ORGANIZATION_TRIGGER: &str = "view_version_on_organizations";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                // Triggers first: a function is dropped once nothing calls it.
                for table in PERSONAL_TABLES {
                    for event in ["insert", "update", "delete", "truncate"] {
                        let name = trigger_name(table, event);
                        db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {table}"))
                            .await?;
                    }
                }
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {ORGANIZATION_TRIGGER} ON organizations"
                ))
                .await?;
                for table in PERSONAL_TABLES {
                    for event in ["insert", "update", "delete"] {
                        let name = trigger_name(table, event);
                        db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {name}()"))
                            .await?;
                    }
                }
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {ORGANIZATION_TRIGGER}()"))
                    .await?;
            }
            _ => {
                for table in PERSONAL_TABLES.into_iter().chain(["organizations"]) {
                    for event in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!(
                            "DROP TRIGGER IF EXISTS {}",
                            trigger_name(table, event)
                        ))
                        .await?;
                    }
                }
            }
        }
        db.execute_unprepared("DROP TABLE IF EXISTS view_versions")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        view_versions::Migration.up(manager).await
    }
}
