//! Mail alerts, sent when `--smtp-url` and `--mail-from` are set. Each alert is made from an
//! audit event, which the change itself wrote in its own transaction: so no change is ever
//! slowed or failed by mail, and none is missed. Every few seconds each instance
//! 1. turns new audit events of the alerted kinds (`domain::alerts`) into mails in the outbox
//!    table, moving a cursor over the audit log in the same transaction, and
//! 2. sends the mails that are due, each claimed first so that no two instances send it;
//!    a failure is logged and tried again later (`domain::alerts::retry_delay`).

use std::time::Duration;

use chrono::Utc;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::db::{NewMail, Store, StoreError};
use crate::domain::alerts::{self, ALERT_KINDS, AlertFacts, MAX_ATTEMPTS};

/// How often the outbox is filled and emptied.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// How long an instance holds a mail it is sending.
const CLAIM: chrono::Duration = chrono::Duration::minutes(2);
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Why mail settings were refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum MailSettingsError {
    #[error("--smtp-url and --mail-from go together: set both, or neither")]
    Incomplete,
    #[error("--mail-from {0:?} is not a mail address (e.g. \"Latchkey <security@example.org>\")")]
    From(String),
    #[error(
        "--smtp-url is not usable: {0} (e.g. smtp://127.0.0.1:25, smtp://user:pass@host:587?tls=required, smtps://host)"
    )]
    Url(String),
}

/// Where alerts go out.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP URL may carry a password.
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// The mailer for the settings, `None` when mail is not configured.
    pub fn from_settings(
        smtp_url: Option<&str>,
        mail_from: Option<&str>,
        public_url: &str,
    ) -> Result<Option<Self>, MailSettingsError> {
        let (url, from) = match (smtp_url, mail_from) {
            (None, None) => return Ok(None),
            (Some(url), Some(from)) => (url, from),
            _ => return Err(MailSettingsError::Incomplete),
        };
        let from: Mailbox = from
            .parse()
            .map_err(|_| MailSettingsError::From(from.to_owned()))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| MailSettingsError::Url(error.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Some(Self {
            transport,
            from,
            public_url: public_url.to_owned(),
        }))
    }

    async fn send(&self, recipient: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = recipient.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub queued: usize,
    pub sent: usize,
    pub failed: usize,
}

/// Queues the alerts of new audit events, then sends the mails that are due.
pub async fn run_once(store: &Store, mailer: &Mailer) -> Result<Round, StoreError> {
    let queued = enqueue_new_alerts(store, &mailer.public_url).await?;
    let now = Utc::now();
    let mut round = Round {
        queued,
        ..Round::default()
    };
    for mail in store.claim_due_mails(now, now + CLAIM, 20).await? {
        match mailer
            .send(&mail.recipient, &mail.subject, &mail.body)
            .await
        {
            Ok(()) => {
                store.mail_sent(mail.id, Utc::now()).await?;
                round.sent += 1;
            }
            Err(error) => {
                let attempts = mail.attempts + 1;
                let retry =
                    (attempts < MAX_ATTEMPTS).then(|| Utc::now() + alerts::retry_delay(attempts));
                match retry {
                    Some(at) => {
                        tracing::warn!(mail = mail.id, attempts, %error, retry_at = %at, "could not send a mail alert; will try again")
                    }
                    None => {
                        tracing::error!(mail = mail.id, attempts, %error, "could not send a mail alert; gave up")
                    }
                }
                store
                    .mail_failed(mail.id, attempts, &error, retry, Utc::now())
                    .await?;
                round.failed += 1;
            }
        }
    }
    Ok(round)
}

/// Turns the audit events after the cursor into queued mails; returns how many.
async fn enqueue_new_alerts(store: &Store, public_url: &str) -> Result<usize, StoreError> {
    let cursor = store.alert_cursor().await?;
    let (events, last) = store.audit_events_after(cursor, &ALERT_KINDS, 200).await?;
    if last == cursor {
        return Ok(0);
    }
    let mut mails = Vec::new();
    for event in events {
        let Some(user_id) = event.user_id else {
            continue;
        };
        let Some(user) = store.user(user_id).await? else {
            continue;
        };
        // Sign-in names that are not mail addresses get no mail.
        if user.username.parse::<Mailbox>().is_err() {
            continue;
        }
        let app_password = match alerts::new_ip_app_password_id(&event.detail) {
            Some(id) if event.kind == "app_password.new_ip" => {
                store.app_password_of(user_id, id).await?
            }
            _ => None,
        };
        let facts = AlertFacts {
            kind: &event.kind,
            detail: &event.detail,
            ip: event.ip.as_deref(),
            client: event.user_agent.as_deref(),
            at: event.created_at,
            app_password_name: app_password.as_ref().map(|a| a.name.as_str()),
            person: &user.display_name,
            account: &user.username,
            public_url,
        };
        if let Some(alert) = alerts::compose(&facts) {
            mails.push(NewMail {
                audit_event_id: event.id,
                recipient: user.username.clone(),
                subject: alert.subject,
                body: alert.body,
            });
        }
    }
    let queued = mails.len();
    store.enqueue_mails(mails, last, Utc::now()).await?;
    Ok(queued)
}

/// Runs [`run_once`] every [`INTERVAL`] until the process ends; failures are logged.
pub fn spawn(store: Store, mailer: Mailer) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match run_once(&store, &mailer).await {
                Ok(round) if round != Round::default() => {
                    tracing::info!(?round, "mail alerts");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "mail alerts failed; will try again"),
            }
        }
    });
}
