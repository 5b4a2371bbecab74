//! Work each instance does in the background, beside answering requests: mailing the
//! outbox's alerts and the periodic housekeeping (expired rows, old audit events).

pub mod housekeeping;
pub mod mail_alerts;
