//! Mail alerts, sent when `--smtp-url` and `--mail-from` are set. A change that warrants an
//! alert (`domain::alerts`) writes its audit event and the alert's outbox row in its own
//! transaction (`db::audit`): so no change is ever slowed or failed by mail, and no alert is
//! missed, however concurrent changes interleave. Every few seconds each instance claims a
//! batch of the mails that are due, under a token of its own and for longer than the batch can
//! take ([`alerts::CLAIM`]); it makes each mail from its audit event, sends it (each conversation
//! cut off at [`alerts::SEND_DEADLINE`]) and records the outcome, which only the claim's
//! holder can do. A failure is logged and tried again later (`domain::alerts::retry_delay`).

use std::time::Duration;

use chrono::Utc;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::db::entities::mail_outbox;
use crate::db::{Store, StoreError};
use crate::domain::alerts::{self, AlertFacts, MAX_ATTEMPTS};
use crate::domain::random::{OsRandom, random_hex};
use crate::domain::{password_link, sign_in_link};
use crate::secret_key::SecretKey;

/// How often the outbox is emptied.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// How long one step of an SMTP conversation may take (the whole of it:
/// [`alerts::SEND_DEADLINE`]).
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
    /// Opens the sealed token of a mailed sign-in link ([`Mailer::with_secret_key`]).
    secret_key: Option<SecretKey>,
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
            secret_key: None,
        }))
    }

    /// This mailer with the server key, which a mailed sign-in link's mail needs (its token is
    /// kept sealed, `use_cases::sign_in_link_mail`); without it those mails are not sent.
    pub fn with_secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(key);
        self
    }

    /// Whether the SMTP server can be reached: it connects, greets, logs us in when the URL has
    /// credentials, and answers `NOOP` (for readiness; see `crate::http::readiness`).
    pub async fn reachable(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the SMTP server did not answer NOOP".to_owned()),
            Err(error) => Err(error.to_string()),
        }
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
    /// Mails this instance took from the outbox.
    pub claimed: usize,
    pub sent: usize,
    /// Attempts that failed (tried again later, or given up after [`MAX_ATTEMPTS`]).
    pub failed: usize,
    /// Mails given up without an attempt: nobody to send them to (see [`Undeliverable`]).
    pub undeliverable: usize,
}

/// Why a queued alert has nobody to go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Undeliverable {
    #[error("its audit event is no longer kept")]
    EventGone,
    #[error("its audit event is about nobody")]
    NobodyConcerned,
    #[error("the person no longer exists")]
    PersonGone,
    #[error("the person's sign-in name is not a mail address")]
    NotAMailAddress,
    #[error("its audit event is not of an alerted kind")]
    NotAlerted,
    #[error("the sign-in link it would carry no longer works (used, replaced or expired)")]
    SignInLinkGone,
    #[error("a sign-in link's mail needs the server key (`Mailer::with_secret_key`)")]
    NoSecretKey,
    #[error("the password link it would carry no longer works (used, replaced or expired)")]
    PasswordLinkGone,
}

/// A mail made from its audit event, ready to send.
struct Made {
    recipient: String,
    alert: alerts::Alert,
}

/// Sends the mails that are due, a batch claimed by this instance.
pub async fn run_once(store: &Store, mailer: &Mailer) -> Result<Round, StoreError> {
    let token = random_hex(&mut OsRandom, 16);
    let now = Utc::now();
    let until = now + alerts::CLAIM;
    let mails = store
        .claim_due_mails(&token, now, until, alerts::BATCH)
        .await?;
    let mut round = Round {
        claimed: mails.len(),
        ..Round::default()
    };
    for mail in mails {
        if !alerts::room_for_one_more(Utc::now(), until) {
            // The claim could run out while this mail is sent, and another instance send it too.
            store.release_mails(&token).await?;
            break;
        }
        let made = match make(store, mailer, &mail).await? {
            Ok(made) => made,
            Err(reason) => {
                tracing::debug!(mail = mail.id, %reason, "a mail alert has nobody to go to");
                let reason = reason.to_string();
                let recorded = store
                    .mail_failed(mail.id, &token, mail.attempts, &reason, None, Utc::now())
                    .await?;
                warn_unless_recorded(recorded, mail.id);
                round.undeliverable += 1;
                continue;
            }
        };
        let sent = tokio::time::timeout(
            alerts::SEND_DEADLINE,
            mailer.send(&made.recipient, &made.alert.subject, &made.alert.body),
        )
        .await
        .unwrap_or_else(|_| Err("the SMTP conversation took too long".to_owned()));
        match sent {
            Ok(()) => {
                let recorded = store.mail_sent(mail.id, &token, Utc::now()).await?;
                warn_unless_recorded(recorded, mail.id);
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
                let recorded = store
                    .mail_failed(mail.id, &token, attempts, &error, retry, Utc::now())
                    .await?;
                warn_unless_recorded(recorded, mail.id);
                round.failed += 1;
            }
        }
    }
    Ok(round)
}

/// Says so when an outcome could not be recorded because the claim was taken over, which the
/// claim's length should make impossible (a clock far off, a database stalled for minutes).
fn warn_unless_recorded(recorded: bool, mail: i32) {
    if !recorded {
        tracing::warn!(
            mail,
            "this instance's claim on a mail alert ran out and another instance took it over; the mail may be sent twice"
        );
    }
}

/// The mail about `mail`'s audit event, made from the event as it is now kept, or why there is
/// nobody to send it to.
async fn make(
    store: &Store,
    mailer: &Mailer,
    mail: &mail_outbox::Model,
) -> Result<Result<Made, Undeliverable>, StoreError> {
    let public_url = mailer.public_url.as_str();
    let Some(event) = store.audit_event(mail.audit_event_id).await? else {
        return Ok(Err(Undeliverable::EventGone));
    };
    let Some(user_id) = event.user_id else {
        return Ok(Err(Undeliverable::NobodyConcerned));
    };
    let Some(user) = store.user(user_id).await? else {
        return Ok(Err(Undeliverable::PersonGone));
    };
    if user.username.parse::<Mailbox>().is_err() {
        return Ok(Err(Undeliverable::NotAMailAddress));
    }
    if event.kind == sign_in_link::MAILED {
        let Some(key) = &mailer.secret_key else {
            return Ok(Err(Undeliverable::NoSecretKey));
        };
        let mail =
            crate::use_cases::sign_in_link_mail(store, key, &event, public_url, Utc::now()).await?;
        return Ok(match mail {
            Some(mail) => Ok(Made {
                recipient: user.username.clone(),
                alert: alerts::Alert {
                    subject: mail.subject,
                    body: mail.body,
                },
            }),
            None => Err(Undeliverable::SignInLinkGone),
        });
    }
    if event.kind == password_link::MAILED {
        let Some(key) = &mailer.secret_key else {
            return Ok(Err(Undeliverable::NoSecretKey));
        };
        let mail =
            crate::use_cases::password_reset_mail(store, key, &event, public_url, Utc::now())
                .await?;
        return Ok(match mail {
            Some(mail) => Ok(Made {
                recipient: user.username.clone(),
                alert: alerts::Alert {
                    subject: mail.subject,
                    body: mail.body,
                },
            }),
            None => Err(Undeliverable::PasswordLinkGone),
        });
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
    Ok(match alerts::compose(&facts) {
        Some(alert) => Ok(Made {
            recipient: user.username.clone(),
            alert,
        }),
        None => Err(Undeliverable::NotAlerted),
    })
}

/// Runs [`run_once`] every [`INTERVAL`] until the process ends; failures are logged.
pub fn spawn(store: Store, mailer: Mailer) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let result = run_once(&store, &mailer).await;
            if let Ok(round) = &result {
                // Alerts are queued by the changes themselves (`db::audit`): a round claims them.
                crate::metrics::mail_round(round.sent, round.failed);
            }
            match result {
                Ok(round) if round != Round::default() => {
                    tracing::info!(?round, "mail alerts");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "mail alerts failed; will try again"),
            }
        }
    });
}
