//! The database's plans for the queries every request of a kind runs (the app-password check,
//! the signed-in page's session with its person, policy and method counts, Security info's
//! list and signed-in browsers, sign-in's lookup, the people search),
//! built from the very queries the store runs: for the scale benchmark's report and its test,
//! which show that none of them reads more than an index range however many people there are.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait};

use super::entities::user;
use super::store::{Store, StoreError};

/// One query's plan: what it is for, and the database's steps.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub query: &'static str,
    pub steps: Vec<String>,
}

impl QueryPlan {
    /// Whether a step reads a whole table or walks a whole index, except the organization's
    /// table, which has one row: `SCAN` on SQLite; on PostgreSQL a `Seq Scan`, or an index
    /// scan without an `Index Cond` (a merge join walking a primary key from its start).
    pub fn reads_everything(&self) -> bool {
        self.steps.iter().enumerate().any(|(at, step)| {
            let node = step.trim_start_matches([' ', '-', '>']);
            // The organization is one row.
            if node.contains("organizations") {
                return false;
            }
            let index_scan = node.starts_with("Index Scan") || node.starts_with("Index Only Scan");
            node.starts_with("SCAN")
                || node.starts_with("Seq Scan")
                || (index_scan && !self.node_details(at).any(|d| d.starts_with("Index Cond:")))
        })
    }

    /// The detail lines under the PostgreSQL plan node at `at` (`Index Cond: ...`,
    /// `Filter: ...`): indented deeper than it, up to the next node.
    fn node_details(&self, at: usize) -> impl Iterator<Item = &str> {
        let indent = |line: &str| line.len() - line.trim_start().len();
        let depth = indent(&self.steps[at]);
        self.steps[at + 1..]
            .iter()
            .take_while(move |line| indent(line) > depth && !line.trim_start().starts_with("->"))
            .map(|line| line.trim_start())
    }
}

impl Store {
    /// The plans of the hot paths' queries, for `user_id` (Security info's list) and the
    /// people search of `prefix`. Values that match nothing plan as real ones do: each query
    /// looks its row up by a unique key.
    pub async fn hot_path_plans(
        &self,
        user_id: i32,
        prefix: &str,
    ) -> Result<Vec<QueryPlan>, StoreError> {
        let backend = self.connection().get_database_backend();
        let key = "0".repeat(64);
        let queries = [
            (
                "app-password check: candidate by lookup hash",
                super::app_passwords::candidate_query(&key).build(backend),
            ),
            (
                "signed-in request: session by token hash",
                super::sessions::session_query(&key).build(backend),
            ),
            (
                "Security info: the person's app passwords",
                super::app_passwords::list_query(user_id).build(backend),
            ),
            (
                "Security info: the person's signed-in browsers",
                super::signed_in_browsers::browsers_query(user_id).build(backend),
            ),
            (
                "sign-in: person by sign-in name",
                user::Entity::find()
                    .filter(user::Column::UsernameKey.eq("nobody@example.org"))
                    .build(backend),
            ),
        ];
        let mut plans = Vec::new();
        for (query, statement) in queries {
            plans.push(QueryPlan {
                query,
                steps: self.explain(statement).await?,
            });
        }
        plans.push(QueryPlan {
            query: "people search: both index ranges",
            steps: self.people_search_plan(prefix).await?,
        });
        Ok(plans)
    }
}

#[cfg(test)]
mod tests {
    use super::QueryPlan;

    fn plan(steps: &[&str]) -> QueryPlan {
        QueryPlan {
            query: "test",
            steps: steps.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn index_ranges_and_key_lookups_are_not_reading_everything() {
        assert!(
            !plan(&[
                "SEARCH sessions USING INDEX sessions_token_hash_key (token_hash=?)",
                "SEARCH users USING INTEGER PRIMARY KEY (rowid=?)"
            ])
            .reads_everything()
        );
        assert!(!plan(&[
            "Nested Loop  (cost=0.85..16.90 rows=1 width=200)",
            "  ->  Index Scan using sessions_token_hash_key on sessions  (cost=0.42..8.44 rows=1)",
            "        Index Cond: ((token_hash)::text = '00'::text)",
            "  ->  Index Scan using users_pkey on users  (cost=0.42..8.44 rows=1 width=150)",
            "        Index Cond: (id = sessions.user_id)",
        ])
        .reads_everything());
        // The organization's one row may be read whole.
        assert!(
            !plan(&["  ->  Seq Scan on organizations  (cost=0.00..1.01 rows=1)"])
                .reads_everything()
        );
    }

    #[test]
    fn whole_tables_and_unbounded_index_walks_are_reading_everything() {
        assert!(plan(&["SCAN users"]).reads_everything());
        assert!(plan(&["Seq Scan on app_passwords  (cost=0.00..1.01 rows=1)"]).reads_everything());
        // Seen with a million people and sessions for two of them: the merge join walks the
        // users' primary key from its first entry.
        assert!(plan(&[
            "Merge Join  (cost=8.87..9.35 rows=1 width=200)",
            "  Merge Cond: (users.id = sessions.user_id)",
            "  ->  Index Scan using users_pkey on users  (cost=0.42..61040.43 rows=1000002)",
            "  ->  Sort  (cost=8.45..8.46 rows=1 width=100)",
            "        Sort Key: sessions.user_id",
            "        ->  Index Scan using sessions_token_hash_key on sessions  (cost=0.42..8.44)",
            "              Index Cond: ((token_hash)::text = '00'::text)",
        ])
        .reads_everything());
        // A filter is not a condition on the index.
        assert!(
            plan(&[
                "Index Only Scan using users_username_key_key on users  (cost=0.42..40000.00)",
                "  Filter: ((name_key)::text ~~ 'grace%'::text)",
            ])
            .reads_everything()
        );
    }
}
