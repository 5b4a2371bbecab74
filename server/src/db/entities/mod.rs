//! sea-orm entities: one module per table. Rows here are server-only and never `Serialize`,
//! so a password hash cannot reach a response by accident.

pub mod app_password;
pub mod app_password_ip;
pub mod apple_profile_link;
pub mod audit_event;
pub mod authenticator_app;
pub mod key_check;
pub mod mail_outbox;
pub mod organization;
pub mod passkey;
pub mod passkey_ceremony;
pub mod password_link;
pub mod recovery_code;
pub mod session;
pub mod sign_in_link;
pub mod throttle_counter;
pub mod user;
