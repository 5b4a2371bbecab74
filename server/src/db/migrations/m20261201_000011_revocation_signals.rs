//! Revocation signals, so that every instance can answer app-password checks from memory and
//! still refuse a revoked one within moments. Triggers fire on every change that can turn an
//! accepted app password into a refused one, whichever code (or person at a SQL prompt) makes
//! it: an app password deleted or its secret replaced, a person disabled, deleted or renamed,
//! the organization's settings changed, an authenticator app deleted or its confirmation
//! changed.
//!
//! - PostgreSQL: the triggers `NOTIFY latchkey_revocations`; the notification is delivered when
//!   the change commits (and not at all if it rolls back).
//! - SQLite: the triggers count up `revocations.epoch`, which each instance reads every 100 ms.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each trigger: its name, the event, and (optionally) when it matters; `{old}`/`{new}` are the
/// row before and after, `{differs}` is the backend's "IS DISTINCT FROM".
pub(super) const TRIGGERS: [(&str, &str, &str); 8] = [
    (
        "revoke_on_app_password_delete",
        "DELETE ON app_passwords",
        "",
    ),
    (
        "revoke_on_app_password_change",
        "UPDATE OF lookup_hash, password_hash, user_id ON app_passwords",
        "",
    ),
    ("revoke_on_user_delete", "DELETE ON users", ""),
    (
        "revoke_on_user_change",
        "UPDATE OF is_enabled, username_key, organization_id ON users",
        "OLD.is_enabled {differs} NEW.is_enabled OR OLD.username_key {differs} NEW.username_key \
         OR OLD.organization_id {differs} NEW.organization_id",
    ),
    ("revoke_on_policy_change", "UPDATE ON organizations", ""),
    (
        "revoke_on_organization_delete",
        "DELETE ON organizations",
        "",
    ),
    (
        "revoke_on_second_factor_delete",
        "DELETE ON authenticator_apps",
        "",
    ),
    (
        "revoke_on_second_factor_change",
        "UPDATE OF confirmed_at, user_id ON authenticator_apps",
        "OLD.confirmed_at {differs} NEW.confirmed_at OR OLD.user_id {differs} NEW.user_id",
    ),
];

/// The SQLite statement making one of [`TRIGGERS`]: it counts the epoch up (also used by
/// migration 25, which makes the table of two of them again).
pub(super) fn sqlite_trigger((name, event, when): (&str, &str, &str)) -> String {
    let when = if when.is_empty() {
        String::new()
    } else {
        format!("WHEN {}", when.replace("{differs}", "IS NOT"))
    };
    format!(
        "CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} {when} BEGIN \
         UPDATE revocations SET epoch = epoch + 1 WHERE id = 1; END"
    )
}

/// The channel PostgreSQL notifies on (also in `db::revocations`).
pub const CHANNEL: &str = "latchkey_revocations";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION latchkey_revoked() RETURNS trigger AS $$ \
                     BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END \
                     $$ LANGUAGE plpgsql"
                ))
                .await?;
                for (name, event, when) in TRIGGERS {
                    let table = event.rsplit(' ').next().unwrap_or_default();
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {table}"))
                        .await?;
                    let when = if when.is_empty() {
                        String::new()
                    } else {
                        format!("WHEN ({})", when.replace("{differs}", "IS DISTINCT FROM"))
                    };
                    // One notification per row is fine: PostgreSQL folds identical
                    // notifications of one transaction into one.
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {event} FOR EACH ROW {when} \
                         EXECUTE FUNCTION latchkey_revoked()"
                    ))
                    .await?;
                }
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TABLE IF NOT EXISTS revocations \
                     (id INTEGER PRIMARY KEY, epoch BIGINT NOT NULL)",
                )
                .await?;
                db.execute_unprepared(
                    "INSERT INTO revocations (id, epoch) VALUES (1, 0) ON CONFLICT DO NOTHING",
                )
                .await?;
                for trigger in TRIGGERS {
                    db.execute_unprepared(&sqlite_trigger(trigger)).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
        for (name, event, _) in TRIGGERS {
            let table = event.rsplit(' ').next().unwrap_or_default();
            if postgres {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {table}"))
                    .await?;
            } else {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name}"))
                    .await?;
            }
        }
        if postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS latchkey_revoked()")
                .await?;
        } else {
            db.execute_unprepared("DROP TABLE IF EXISTS revocations")
                .await?;
        }
        Ok(())
    }
}
