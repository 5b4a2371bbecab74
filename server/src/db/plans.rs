//! The database's plans for the queries every request of a kind runs (the app-password check,
//! the signed-in page's session, Security info's list, sign-in's lookup, the people search),
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
    /// Whether a step reads a whole table or walks a whole index (`SCAN` on SQLite, `Seq
    /// Scan` on PostgreSQL), except the organization's table, which has one row.
    pub fn reads_everything(&self) -> bool {
        self.steps.iter().any(|step| {
            let step = step.trim_start_matches([' ', '-', '>']);
            (step.starts_with("SCAN") || step.starts_with("Seq Scan"))
                && !step.contains("organizations")
        })
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
