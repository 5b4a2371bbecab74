//! `app_passwords.kind`: what an app password may reach ("mail", "sending_only",
//! "calendars_and_contacts", "everything"). Every existing one reaches everything, as before.
//! A change of kind can refuse an app password accepted until now, so it signals a revocation
//! like the triggers of migration 11 (PostgreSQL `NOTIFY`, SQLite the epoch counter): other
//! instances drop their cached acceptances within 100 ms.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

use super::m20261201_000011_revocation_signals::CHANNEL;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppPasswords {
    Table,
    Kind,
}

/// The trigger that signals a change of kind.
const TRIGGER: &str = "revoke_on_app_password_kind_change";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("app_passwords", "kind").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(AppPasswords::Table)
                        .add_column(string(AppPasswords::Kind).default("everything"))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                // The function of migration 11, made again in case it is gone.
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION latchkey_revoked() RETURNS trigger AS $$ \
                     BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END \
                     $$ LANGUAGE plpgsql"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {TRIGGER} ON app_passwords"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {TRIGGER} AFTER UPDATE OF kind ON app_passwords FOR EACH ROW \
                     WHEN (OLD.kind IS DISTINCT FROM NEW.kind) EXECUTE FUNCTION latchkey_revoked()"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER UPDATE OF kind ON app_passwords \
                     WHEN OLD.kind IS NOT NEW.kind BEGIN \
                     UPDATE revocations SET epoch = epoch + 1 WHERE id = 1; END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS {TRIGGER} ON app_passwords"
            ))
            .await?;
        } else {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {TRIGGER}"))
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(AppPasswords::Table)
                    .drop_column(AppPasswords::Kind)
                    .to_owned(),
            )
            .await
    }
}
