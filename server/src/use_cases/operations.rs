//! What running the server asks of storage outside any person's request: whether the database
//! answers, has this version's migrations and records this instance's secret key (for
//! `/readyz`), and whether anyone can sign in yet (for the first start's setup link).

use super::ServerBackend;
use crate::db::{MigrationState, StoreError};

impl ServerBackend {
    /// Whether the database answers at all.
    pub async fn ping_database(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Which migrations of this version the database lacks, and which it has from a newer one.
    pub async fn migration_state(&self) -> Result<MigrationState, StoreError> {
        self.store.migration_state().await
    }

    /// Whether the database records this instance's secret key (`None`: it records none yet).
    pub async fn database_key_matches(&self) -> Result<Option<bool>, StoreError> {
        Ok(self
            .store
            .key_check()
            .await?
            .map(|recorded| recorded == self.secret_key.check_value()))
    }

    /// Whether anyone can sign in yet; false until first-time setup has run.
    pub async fn has_accounts(&self) -> Result<bool, StoreError> {
        self.store.has_accounts().await
    }
}
