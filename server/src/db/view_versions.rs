//! The view versions of a session's person and of the organization (migration 12): the one
//! query a page answered from memory costs (`crate::page_cache`).

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use super::migrations::m20261202_000012_view_versions::ORGANIZATION_SCOPE;
use super::store::{Store, StoreError};

/// What a page for one session may show, as of one moment: equal versions later mean that
/// nothing it shows has changed (the session still exists, and no row of its person or the
/// organization was written meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewVersions {
    pub user_id: i32,
    pub person: i64,
    pub organization: i64,
}

/// The versions behind the session whose token hashes to `token_hash`: two primary-key
/// reads beside the session's unique key, in one statement.
pub(crate) fn view_versions_query(backend: DatabaseBackend, token_hash: &str) -> Statement {
    let placeholder = match backend {
        DatabaseBackend::Postgres => "$1",
        _ => "?",
    };
    Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT sessions.user_id AS user_id, \
             COALESCE((SELECT version FROM view_versions WHERE scope = sessions.user_id), 0) AS person, \
             COALESCE((SELECT version FROM view_versions WHERE scope = {ORGANIZATION_SCOPE}), 0) AS organization \
             FROM sessions WHERE sessions.token_hash = {placeholder}"
        ),
        [token_hash.into()],
    )
}

impl Store {
    /// The view versions of the session with this token hash; `None` when it does not exist.
    pub async fn view_versions(
        &self,
        token_hash: &str,
    ) -> Result<Option<ViewVersions>, StoreError> {
        let statement = view_versions_query(self.connection().get_database_backend(), token_hash);
        let Some(row) = self.connection().query_one_raw(statement).await? else {
            return Ok(None);
        };
        Ok(Some(ViewVersions {
            user_id: row.try_get("", "user_id")?,
            person: row.try_get("", "person")?,
            organization: row.try_get("", "organization")?,
        }))
    }
}
