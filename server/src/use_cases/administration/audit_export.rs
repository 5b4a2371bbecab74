//! The audit log for administrators: a page of it in the console, and the whole log (or a
//! filtered part) streamed as CSV, every cell safe to open in a spreadsheet.

use app::backend::RequestContext;
use app::error::AppError;
use app::model::AuditQuery;

use super::super::ServerBackend;
use super::Administration;

use crate::db::AuditFilter;
use crate::domain::{spreadsheet, timefmt};

/// Audit events shown per page in the admin console.
pub(super) const AUDIT_PAGE_SIZE: u64 = 50;

/// Audit events read per query while the CSV export streams (its memory is about one batch).
const CSV_BATCH: u64 = 1000;

impl ServerBackend {
    /// The administration of the request's administrator and the filter `query` asks for;
    /// what cannot be read is refused with the field it concerns.
    pub(super) async fn audit_filter(
        &self,
        context: &RequestContext,
        query: &AuditQuery,
    ) -> Result<(Administration, AuditFilter), AppError> {
        let admin = self.administration_for(context).await?;
        let day = |field: &'static str, text: &str| -> Result<_, AppError> {
            match text.trim() {
                "" => Ok(None),
                text => timefmt::parse_day_or_moment(text).map(Some).ok_or_else(|| {
                    AppError::invalid(
                        field,
                        format!("{text:?} is not a day: write it as 2026-11-29."),
                    )
                }),
            }
        };
        let user_id = match query.person.trim() {
            "" => None,
            name => Some(
                admin
                    .person(name)
                    .await
                    .map_err(|_| {
                        AppError::invalid(
                            "person",
                            format!("No one has the sign-in name {name:?}."),
                        )
                    })?
                    .id,
            ),
        };
        let filter = AuditFilter {
            user_id,
            kind: Some(query.kind.trim().to_owned()).filter(|k| !k.is_empty()),
            from: day("from", &query.from)?,
            // The last day named is included.
            until: day("to", &query.to)?.map(|day| day + chrono::Duration::days(1)),
        };
        Ok((admin, filter))
    }

    /// The audit events `query` asks for as CSV, newest first, read a batch at a time while
    /// the answer streams, so memory stays bounded whatever the log's size. Refused like every
    /// administration use case.
    pub async fn audit_csv(
        &self,
        context: &RequestContext,
        query: &AuditQuery,
    ) -> Result<impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + use<>, AppError>
    {
        let (admin, filter) = self.audit_filter(context, query).await?;
        let header = spreadsheet::csv_rows([[
            "time", "actor", "person", "kind", "detail", "address", "client", "count",
        ]]);
        let batches = futures::stream::try_unfold(Some(None), move |next: Option<Option<i32>>| {
            let admin = admin.clone();
            let filter = filter.clone();
            async move {
                let Some(before) = next else {
                    return Ok(None);
                };
                let log = admin
                    .audit_page(&filter, before, CSV_BATCH)
                    .await
                    .map_err(std::io::Error::other)?;
                let rows: Vec<[String; 8]> = log
                    .events
                    .iter()
                    .map(|event| {
                        [
                            event.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                            log.actor_of(event).unwrap_or_default().to_owned(),
                            log.username_of(event).unwrap_or_default().to_owned(),
                            event.kind.clone(),
                            event.detail.clone(),
                            event.ip.clone().unwrap_or_default(),
                            event.user_agent.clone().unwrap_or_default(),
                            event.count.to_string(),
                        ]
                    })
                    .collect();
                let more = (log.events.len() as u64 == CSV_BATCH)
                    .then(|| log.events.last().map(|event| event.id));
                if rows.is_empty() {
                    return Ok(None);
                }
                Ok(Some((spreadsheet::csv_rows(rows), more)))
            }
        });
        Ok(futures::StreamExt::chain(
            futures::stream::once(async move { Ok(header) }),
            batches,
        ))
    }
}
