//! The server side of `app::backend::Backend`: what server functions call. Each method
//! checks the rules in `domain`, calls the `db::Store`, and maps errors to `AppError` once.

use std::sync::Arc;

use app::backend::{Backend, ClientInfo};
use app::error::AppError;
use app::setup::SetupForm;
use async_trait::async_trait;
use chrono::Utc;

use crate::db::store::Actor;
use crate::db::{NewAdmin, NewOrganization, Store, StoreError};
use crate::domain::{ValidationError, account, password, setup_token::SetupGate};
use crate::secret_key::SecretKey;

/// Shared by every request of one server process.
#[derive(Debug)]
pub struct ServerBackend {
    pub store: Store,
    pub setup_gate: SetupGate,
    pub secret_key: SecretKey,
}

impl ServerBackend {
    pub fn new(store: Store, secret_key: SecretKey) -> Arc<Self> {
        Arc::new(Self {
            store,
            setup_gate: SetupGate::default(),
            secret_key,
        })
    }
}

// The one place where server errors become what the user reads. Internal details are
// logged here and never sent.
impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        AppError::invalid(e.field, e.message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadySetUp => AppError::AlreadySetUp,
            StoreError::Database(db) => {
                tracing::error!(error = %db, "database error");
                AppError::Unavailable
            }
        }
    }
}

impl From<password::HashError> for AppError {
    fn from(e: password::HashError) -> Self {
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    }
}

fn actor(client: ClientInfo) -> Actor {
    Actor {
        ip: client.ip,
        user_agent: client.user_agent,
    }
}

#[async_trait]
impl Backend for ServerBackend {
    async fn setup_link_valid(&self, token: &str) -> bool {
        self.setup_gate.accepts(token, Utc::now())
    }

    async fn complete_setup(&self, form: SetupForm, client: ClientInfo) -> Result<(), AppError> {
        if !self.setup_gate.accepts(&form.token, Utc::now()) {
            return Err(AppError::NotFound);
        }
        let result: Result<(), AppError> = async {
            let organization = account::parse_organization_name(&form.organization)?;
            let display_name = account::parse_display_name(&form.display_name)?;
            let username = account::Username::parse(&form.username)?;
            account::check_new_password(&form.password, &form.confirm_password)?;
            let password_hash = password::hash_password_blocking(form.password).await?;
            let admin = self
                .store
                .complete_setup(
                    NewOrganization { name: organization, allow_app_passwords: form.allow_app_passwords.is_some() },
                    NewAdmin {
                        username: username.as_str().to_owned(),
                        username_key: username.key().to_owned(),
                        display_name,
                        password_hash,
                    },
                    actor(client),
                    Utc::now(),
                )
                .await?;
            tracing::info!(admin = %admin.username, "first-time setup completed; the setup link is closed");
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                self.setup_gate.close();
                Ok(())
            }
            Err(AppError::AlreadySetUp) => {
                self.setup_gate.close();
                Err(AppError::AlreadySetUp)
            }
            Err(e) => Err(e),
        }
    }
}
