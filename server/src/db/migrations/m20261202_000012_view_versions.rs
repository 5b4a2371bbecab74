//! View versions, so that a page rendered for a person can be answered again from memory and
//! still never outlive a change to what it shows (`crate::page_cache`). `view_versions` holds
//! one counter per person (`scope` = the user's id) and one for the organization (`scope` =
//! [`ORGANIZATION_SCOPE`]); triggers count them up in the same transaction as every change to
//! a person's row, sessions, app passwords (their last use too) and authenticator apps, and to
//! the organization's settings, whichever code (or person at a SQL prompt) makes it. A reader
//! that sees a version unchanged therefore knows nothing it shows has changed since, on this
//! instance or any other.
//!
//! - PostgreSQL: statement-level triggers over transition tables, so a statement touching many
//!   rows (a bulk insert, a revoke-all) counts each person up once.
//! - SQLite: row-level triggers (the only kind it has; a `DELETE` without `WHERE` still fires
//!   them, as SQLite skips its truncate shortcut on a table with triggers). PostgreSQL's
//!   `TRUNCATE` of a personal table moves the organization's counter.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The `scope` of the organization's counter (no user has id 0).
pub const ORGANIZATION_SCOPE: i32 = 0;

/// The tables whose rows belong to one person, with the column naming that person.
const PERSONAL_TABLES: [(&str, &str); 4] = [
    ("users", "id"),
    ("sessions", "user_id"),
    ("app_passwords", "user_id"),
    ("authenticator_apps", "user_id"),
];

const EVENTS: [&str; 3] = ["INSERT", "UPDATE", "DELETE"];

/// Counts `scope` up by one, creating its row at 1.
fn bump(scope: &str) -> String {
    format!(
        "INSERT INTO view_versions (scope, version) VALUES ({scope}, 1) \
         ON CONFLICT (scope) DO UPDATE SET version = view_versions.version + 1;"
    )
}

fn trigger_name(table: &str, event: &str) -> String {
    format!("view_version_on_{table}_{}", event.to_lowercase())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE IF NOT EXISTS view_versions \
             (scope INTEGER PRIMARY KEY, version BIGINT NOT NULL)",
        )
        .await?;
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                for (table, column) in PERSONAL_TABLES {
                    for event in EVENTS {
                        let name = trigger_name(table, event);
                        // PostgreSQL allows transition tables on single-event triggers only.
                        let (referencing, people) = match event {
                            "INSERT" => (
                                "NEW TABLE AS new_rows",
                                format!("SELECT {column} FROM new_rows"),
                            ),
                            "DELETE" => (
                                "OLD TABLE AS old_rows",
                                format!("SELECT {column} FROM old_rows"),
                            ),
                            _ => (
                                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                                format!(
                                    "SELECT {column} FROM new_rows UNION SELECT {column} FROM old_rows"
                                ),
                            ),
                        };
                        // In scope order, so that two statements touching the same people
                        // take their counters' locks in the same order.
                        db.execute_unprepared(&format!(
                            "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN \
                             INSERT INTO view_versions (scope, version) \
                             SELECT DISTINCT scope, 1 FROM ({people}) AS changed(scope) ORDER BY scope \
                             ON CONFLICT (scope) DO UPDATE SET version = view_versions.version + 1; \
                             RETURN NULL; END $$ LANGUAGE plpgsql"
                        ))
                        .await?;
                        db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {table}"))
                            .await?;
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {name} AFTER {event} ON {table} \
                             REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
                        ))
                        .await?;
                    }
                }
                let name = "view_version_on_organizations";
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {} \
                     RETURN NULL; END $$ LANGUAGE plpgsql",
                    bump(&ORGANIZATION_SCOPE.to_string())
                ))
                .await?;
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON organizations"))
                    .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON organizations \
                     FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
                ))
                .await?;
                // A TRUNCATE names no rows: it moves the organization's counter, which every
                // page compares.
                for (table, _) in PERSONAL_TABLES {
                    let truncate = trigger_name(table, "TRUNCATE");
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {truncate} ON {table}"))
                        .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {truncate} AFTER TRUNCATE ON {table} \
                         FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
                    ))
                    .await?;
                }
            }
            _ => {
                for (table, column) in PERSONAL_TABLES {
                    for event in EVENTS {
                        let body = match event {
                            "INSERT" => bump(&format!("NEW.{column}")),
                            "DELETE" => bump(&format!("OLD.{column}")),
                            // A row moved to another person changes both pages.
                            _ => format!(
                                "{} {}",
                                bump(&format!("NEW.{column}")),
                                bump(&format!("OLD.{column}"))
                            ),
                        };
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER IF NOT EXISTS {} AFTER {event} ON {table} BEGIN {body} END",
                            trigger_name(table, event)
                        ))
                        .await?;
                    }
                }
                for event in EVENTS {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER IF NOT EXISTS {} AFTER {event} ON organizations BEGIN {} END",
                        trigger_name("organizations", event),
                        bump(&ORGANIZATION_SCOPE.to_string())
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
        if postgres {
            for (table, _) in PERSONAL_TABLES {
                let truncate = trigger_name(table, "TRUNCATE");
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {truncate} ON {table}"))
                    .await?;
                for event in EVENTS {
                    let name = trigger_name(table, event);
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {table}"))
                        .await?;
                    db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {name}()"))
                        .await?;
                }
            }
            let name = "view_version_on_organizations";
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON organizations"))
                .await?;
            db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {name}()"))
                .await?;
        } else {
            for (table, _) in PERSONAL_TABLES.iter().chain(&[("organizations", "")]) {
                for event in EVENTS {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {}",
                        trigger_name(table, event)
                    ))
                    .await?;
                }
            }
        }
        db.execute_unprepared("DROP TABLE IF EXISTS view_versions")
            .await?;
        Ok(())
    }
}
