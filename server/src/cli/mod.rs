//! The command line's subcommands besides serving: `latchkey admin` (people and settings),
//! `latchkey backup` / `restore`, and `latchkey checkpassword` (Dovecot's password check).
//! Each is an adapter over the same use cases and storage the web pages use.

pub mod admin_commands;
pub mod backup_commands;
pub mod checkpassword;
