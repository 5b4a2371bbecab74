//! First-time setup through the one-time link.

use app::backend::{RequestContext, SetupUseCases};
use app::error::AppError;
use app::model::SetupForm;
use async_trait::async_trait;
use chrono::Utc;

use super::{ServerBackend, actor};
use crate::db::{NewAdmin, NewOrganization};
use crate::domain::{account, password};

#[async_trait]
impl SetupUseCases for ServerBackend {
    async fn setup_link_valid(&self, token: &str) -> bool {
        self.setup_gate.accepts(token, Utc::now())
    }

    async fn complete_setup(
        &self,
        form: SetupForm,
        context: RequestContext,
    ) -> Result<(), AppError> {
        if !self.setup_gate.accepts(&form.token, Utc::now()) {
            return Err(AppError::NotFound);
        }
        let result: Result<(), AppError> = async {
            let organization = account::parse_organization_name(&form.organization)?;
            let display_name = account::parse_display_name(&form.display_name)?;
            let username = account::Username::parse(&form.username)?;
            account::check_new_password(&form.password, &form.confirm_password, username.as_str())?;
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
                    actor(&context),
                    Utc::now(),
                )
                .await?;
            tracing::info!(admin = %admin.username, "first-time setup completed; the setup link is closed");
            Ok(())
        }
        .await;
        if matches!(result, Ok(()) | Err(AppError::AlreadySetUp)) {
            self.setup_gate.close();
        }
        result
    }
}
