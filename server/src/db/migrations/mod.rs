//! Versioned, append-only schema migrations, applied at start-up. Never edit a migration
//! that has shipped; add a new one.

use sea_orm_migration::prelude::*;

mod m20261125_000001_initial_schema;
mod m20261125_000002_accounts;
mod m20261125_000003_app_password_ips;
mod m20261128_000004_throttle_counters;
mod m20261128_000005_require_two_step;
mod m20261129_000006_key_check;
mod m20261129_000007_mail_outbox;
mod m20261129_000008_reset_revokes_app_passwords;
mod m20261129_000009_recent_activity;
mod m20261130_000010_password_links;
pub(crate) mod m20261201_000011_revocation_signals;
pub(crate) mod m20261202_000012_view_versions;
mod m20261206_000013_drop_view_versions;
mod m20261206_000014_transactional_outbox;
mod m20261206_000015_sign_in_links;
mod m20261206_000016_audit_counts;
mod m20261206_000017_recovery_codes;
mod m20261206_000019_passkeys;
mod m20261206_000020_reset_by_mail;
mod m20261206_000021_audit_command_line;
mod m20261206_000022_app_password_kinds;
mod m20261206_000023_app_password_expiry;
mod m20261206_000024_mail_settings;
mod m20261206_000025_several_authenticators;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_initial_schema::Migration),
            Box::new(m20261125_000002_accounts::Migration),
            Box::new(m20261125_000003_app_password_ips::Migration),
            Box::new(m20261128_000004_throttle_counters::Migration),
            Box::new(m20261128_000005_require_two_step::Migration),
            Box::new(m20261129_000006_key_check::Migration),
            Box::new(m20261129_000007_mail_outbox::Migration),
            Box::new(m20261129_000008_reset_revokes_app_passwords::Migration),
            Box::new(m20261129_000009_recent_activity::Migration),
            Box::new(m20261130_000010_password_links::Migration),
            Box::new(m20261201_000011_revocation_signals::Migration),
            Box::new(m20261202_000012_view_versions::Migration),
            Box::new(m20261206_000013_drop_view_versions::Migration),
            Box::new(m20261206_000014_transactional_outbox::Migration),
            Box::new(m20261206_000015_sign_in_links::Migration),
            Box::new(m20261206_000016_audit_counts::Migration),
            Box::new(m20261206_000017_recovery_codes::Migration),
            Box::new(m20261206_000019_passkeys::Migration),
            Box::new(m20261206_000020_reset_by_mail::Migration),
            Box::new(m20261206_000021_audit_command_line::Migration),
            Box::new(m20261206_000022_app_password_kinds::Migration),
            Box::new(m20261206_000023_app_password_expiry::Migration),
            Box::new(m20261206_000024_mail_settings::Migration),
            Box::new(m20261206_000025_several_authenticators::Migration),
        ]
    }
}
