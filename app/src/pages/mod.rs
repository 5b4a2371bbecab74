//! Pages, one module each.

pub mod not_found;
pub mod profile;
pub mod security_info;
pub mod sign_in;
