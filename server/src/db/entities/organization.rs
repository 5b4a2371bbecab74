//! The `organizations` table.

use sea_orm::entity::prelude::*;

/// The one organization this Latchkey instance serves, with its sign-in policy.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// Whether people may create and use app passwords (off by default).
    pub allow_app_passwords: bool,
    /// Whether app passwords are managed on Security info (on) or the legacy page (off).
    pub security_info_experience: bool,
    pub created_at: DateTimeUtc,
    /// Everyone must keep a second factor: deleting the last one is refused.
    pub require_two_step: bool,
    /// An administrator's password reset also revokes the person's app passwords (on by
    /// default); sessions always end.
    pub reset_revokes_app_passwords: bool,
    /// People may reset their own password with a mailed link ("Forgot password?"; off by
    /// default, offered only where mail is set up).
    pub reset_password_by_mail: bool,
    /// Mail settings (migration 24), all empty until an administrator enters them: where
    /// people's mail apps reach IMAP and SMTP, and the CalDAV and CardDAV addresses.
    pub mail_imap_host: Option<String>,
    pub mail_imap_port: Option<i32>,
    pub mail_imap_tls: bool,
    pub mail_smtp_host: Option<String>,
    pub mail_smtp_port: Option<i32>,
    pub mail_smtp_tls: bool,
    pub mail_caldav_url: Option<String>,
    pub mail_carddav_url: Option<String>,
    /// App passwords unused (since their last use, or their creation) for this many days
    /// stop working; `None`: off (the default).
    pub app_password_idle_days: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
