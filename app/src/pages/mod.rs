//! Pages, one module each.

pub mod app_password_flow;
pub mod legacy_app_passwords;
pub mod not_found;
pub mod profile;
pub mod security_info;
pub mod sign_in;
