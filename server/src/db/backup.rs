//! What backups and start-up need from the database: a consistent copy of an SQLite file,
//! its integrity, what it holds, and the check value of the secret key it is used with.

use std::path::Path;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, Statement,
};

use super::entities::{app_password, key_check, user};
use super::store::{Store, StoreError};

/// The id of the single `key_checks` row.
const KEY_CHECK_ID: i32 = 1;

/// How many people and app passwords a database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contents {
    pub people: u64,
    pub app_passwords: u64,
}

impl Store {
    /// The check value of the secret key recorded in the database, if one is.
    pub async fn key_check(&self) -> Result<Option<String>, StoreError> {
        Ok(key_check::Entity::find_by_id(KEY_CHECK_ID)
            .one(self.connection())
            .await?
            .map(|row| row.mac))
    }

    /// Records `mac` as the key check unless one is recorded already (by this instance or
    /// another starting at the same moment); returns the recorded one.
    pub async fn record_key_check(&self, mac: &str) -> Result<String, StoreError> {
        let row = key_check::ActiveModel {
            id: Set(KEY_CHECK_ID),
            mac: Set(mac.to_owned()),
        };
        key_check::Entity::insert(row)
            .on_conflict(
                OnConflict::column(key_check::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.connection())
            .await?;
        self.key_check().await?.ok_or(StoreError::NotFound)
    }

    /// Writes a copy of the SQLite database to `path`, which must not exist. `VACUUM INTO`
    /// reads in one transaction, so the copy is one consistent moment while writers go on.
    pub async fn copy_sqlite_to(&self, path: &Path) -> Result<(), StoreError> {
        let statement = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "VACUUM INTO ?",
            [path.to_string_lossy().into_owned().into()],
        );
        self.connection().execute_raw(statement).await?;
        Ok(())
    }

    /// SQLite's own check of the file's structure; `Ok(())` or what is damaged.
    pub async fn check_sqlite_integrity(&self) -> Result<Result<(), String>, StoreError> {
        let rows = self
            .connection()
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA integrity_check",
            ))
            .await?;
        let findings: Vec<String> = rows
            .iter()
            .filter_map(|row| row.try_get_by_index::<String>(0).ok())
            .filter(|finding| finding != "ok")
            .collect();
        Ok(if findings.is_empty() {
            Ok(())
        } else {
            Err(findings.join("; "))
        })
    }

    /// How many people and app passwords the database holds.
    pub async fn contents(&self) -> Result<Contents, StoreError> {
        Ok(Contents {
            people: user::Entity::find().count(self.connection()).await?,
            app_passwords: app_password::Entity::find()
                .count(self.connection())
                .await?,
        })
    }
}
