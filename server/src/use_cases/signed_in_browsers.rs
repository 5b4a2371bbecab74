//! Security info's signed-in browsers ([`SignedInBrowserUseCases`]): the person's complete
//! sessions that are still live, named from their User-Agent (`domain::user_agent`), and
//! signing one of them out (`db::signed_in_browsers`: the person's own only, with its audit
//! event in the same transaction). Signing out this browser from the list is Sign out.

use app::backend::{BrowserSignedOut, RequestContext, SessionUseCases, SignedInBrowserUseCases};
use app::error::AppError;
use app::signed_in_browsers::SignedInBrowser;
use async_trait::async_trait;
use chrono::Utc;

use super::{ServerBackend, actor};
use crate::db::{AuditNote, BrowserSession, StoreError};
use crate::domain::activity::SIGNED_OUT_A_BROWSER;
use crate::domain::{timefmt, user_agent};

/// The audit detail of a browser signed out from the list: "Firefox on Windows, 192.0.2.7".
fn signed_out_detail(browser: &BrowserSession) -> String {
    let label = user_agent::describe(browser.user_agent.as_deref().unwrap_or_default()).label();
    match &browser.ip {
        Some(ip) => format!("{label}, {ip}"),
        None => label,
    }
}

#[async_trait]
impl SignedInBrowserUseCases for ServerBackend {
    async fn signed_in_browsers(
        &self,
        context: &RequestContext,
    ) -> Result<Vec<SignedInBrowser>, AppError> {
        // Open before two-step too: it is part of Security info, and signing out always is.
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        let now = Utc::now();
        let policy = &self.settings.session_policy;
        // Signed in in this browser only (the usual case): the list is this session, read already.
        let sessions = if signed_in.counts.complete_sessions <= 1 {
            let this = &signed_in.session;
            vec![BrowserSession {
                id: this.id,
                created_at: this.created_at,
                last_seen_at: this.last_seen_at,
                ip: this.ip.clone(),
                user_agent: this.user_agent.clone(),
            }]
        } else {
            self.store.browser_sessions(signed_in.user.id).await?
        };
        let mut browsers: Vec<SignedInBrowser> = sessions
            .into_iter()
            .filter(|session| policy.is_live(session.created_at, session.last_seen_at, now))
            .map(|session| {
                let this_browser = session.id == signed_in.session.id;
                // This browser is active now; its last write may be a minute old.
                let last_seen = if this_browser {
                    now
                } else {
                    session.last_seen_at
                };
                SignedInBrowser {
                    id: session.id,
                    browser: user_agent::describe(
                        session.user_agent.as_deref().unwrap_or_default(),
                    )
                    .label(),
                    address: session.ip,
                    last_active: timefmt::relative(last_seen, now),
                    last_active_at: timefmt::moment(last_seen),
                    signed_in: timefmt::date(session.created_at),
                    this_browser,
                }
            })
            .collect();
        // This browser first; the others stay most recently active first.
        browsers.sort_by_key(|browser| !browser.this_browser);
        Ok(browsers)
    }

    async fn sign_out_browser(
        &self,
        context: &RequestContext,
        id: i32,
    ) -> Result<BrowserSignedOut, AppError> {
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        if id == signed_in.session.id {
            return Ok(BrowserSignedOut::ThisBrowser(self.sign_out(context).await?));
        }
        self.store
            .sign_out_browser(
                signed_in.user.id,
                id,
                |browser| AuditNote::new(SIGNED_OUT_A_BROWSER, signed_out_detail(browser)),
                &actor(context),
                Utc::now(),
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AppError::BrowserGone,
                other => other.into(),
            })?;
        Ok(BrowserSignedOut::Another)
    }
}
