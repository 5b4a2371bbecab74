//! The view versions of sessions' people and of the organization (migration 12): what a page
//! answered from memory costs (`crate::page_cache`), one query for the views that arrive
//! together (`crate::page_cache::VersionReads`).

use std::collections::HashMap;

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

/// The versions behind the sessions whose token hashes are in `token_hashes_json` (a JSON
/// array of strings): per session, its unique key and two primary-key reads, in one statement
/// whatever the number of sessions.
pub(crate) fn view_versions_query(backend: DatabaseBackend, token_hashes_json: &str) -> Statement {
    // On PostgreSQL, an array is an index condition whatever its length; a set-returning
    // function in `IN` is guessed at 100 rows, which can tip the planner to reading every
    // session.
    let in_token_hashes = match backend {
        DatabaseBackend::Postgres => "= ANY(ARRAY(SELECT json_array_elements_text($1::json)))",
        _ => "IN (SELECT value FROM json_each(?))",
    };
    Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT sessions.token_hash AS token_hash, sessions.user_id AS user_id, \
             COALESCE((SELECT version FROM view_versions WHERE scope = sessions.user_id), 0) AS person, \
             COALESCE((SELECT version FROM view_versions WHERE scope = {ORGANIZATION_SCOPE}), 0) AS organization \
             FROM sessions WHERE sessions.token_hash {in_token_hashes}"
        ),
        [token_hashes_json.into()],
    )
}

impl Store {
    /// The view versions of the sessions with these token hashes, by token hash; a session
    /// that does not exist is missing from the answer.
    pub async fn view_versions(
        &self,
        token_hashes: &[&str],
    ) -> Result<HashMap<String, ViewVersions>, StoreError> {
        // A list of strings always serializes: mapped, not unwrapped.
        let json = serde_json::to_string(token_hashes)
            .map_err(|error| sea_orm::DbErr::Custom(format!("token hashes as JSON: {error}")))?;
        let statement = view_versions_query(self.connection().get_database_backend(), &json);
        let mut versions = HashMap::with_capacity(token_hashes.len());
        for row in self.connection().query_all_raw(statement).await? {
            versions.insert(
                row.try_get("", "token_hash")?,
                ViewVersions {
                    user_id: row.try_get("", "user_id")?,
                    person: row.try_get("", "person")?,
                    organization: row.try_get("", "organization")?,
                },
            );
        }
        Ok(versions)
    }
}
