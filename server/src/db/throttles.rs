//! Throttle counters: read, claim, release, purge. A claim is a compare-and-swap on the row's
//! `version`, so parallel attempts (on one instance or several) each count, and none slips past
//! a wait another has just started.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::throttle_counter;
use super::store::{Store, StoreError};
use crate::domain::throttle::{Counter, FailureLimit, FailureWindow, Rule};

/// Tries at a compare-and-swap before a claim under heavy contention counts as throttled.
const MAX_CLAIM_TRIES: usize = 8;

/// The outcome of claiming an attempt under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Counted; go ahead.
    Granted,
    /// Not before this time.
    WaitUntil(DateTime<Utc>),
}

fn counter_of(row: &throttle_counter::Model) -> Counter {
    Counter {
        failures: row.failures,
        throttled_until: row.throttled_until,
        expires_at: row.expires_at,
    }
}

impl Store {
    /// The counter under `key`, if there is one.
    pub async fn throttle_counter(&self, key: &str) -> Result<Option<Counter>, StoreError> {
        Ok(throttle_counter::Entity::find_by_id(key.to_owned())
            .one(self.connection())
            .await?
            .as_ref()
            .map(counter_of))
    }

    /// Counts an attempt under `key` if `rule` allows one now.
    pub async fn claim_attempt(
        &self,
        key: &str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        for _ in 0..MAX_CLAIM_TRIES {
            let row = throttle_counter::Entity::find_by_id(key.to_owned())
                .one(self.connection())
                .await?;
            let next = match rule.claim(row.as_ref().map(counter_of), now) {
                Ok(next) => next,
                Err(until) => return Ok(Claim::WaitUntil(until)),
            };
            if self.swap_counter(key, row.map(|r| r.version), next).await? {
                return Ok(Claim::Granted);
            }
        }
        // Many attempts on one key at the same instant: an attack; let them wait a moment.
        Ok(Claim::WaitUntil(now + chrono::Duration::seconds(1)))
    }

    /// Gives back a successful attempt under `key` (a backoff starts over).
    pub async fn release_attempt(
        &self,
        key: &str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for _ in 0..MAX_CLAIM_TRIES {
            let Some(row) = throttle_counter::Entity::find_by_id(key.to_owned())
                .one(self.connection())
                .await?
            else {
                return Ok(());
            };
            let swapped = match rule.release(Some(counter_of(&row)), now) {
                Some(next) => self.swap_counter(key, Some(row.version), next).await?,
                None => {
                    throttle_counter::Entity::delete_many()
                        .filter(throttle_counter::Column::Key.eq(key))
                        .filter(throttle_counter::Column::Version.eq(row.version))
                        .exec(self.connection())
                        .await?
                        .rows_affected
                        == 1
                }
            };
            if swapped {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Writes a marker under `key` (no attempts, nothing to wait for) that lasts until
    /// `expires_at`: a known address.
    pub async fn set_throttle_marker(
        &self,
        key: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let marker = throttle_counter::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(0),
            throttled_until: Set(None),
            expires_at: Set(expires_at),
            version: Set(0),
        };
        throttle_counter::Entity::insert(marker)
            .on_conflict(
                OnConflict::column(throttle_counter::Column::Key)
                    .update_column(throttle_counter::Column::ExpiresAt)
                    .to_owned(),
            )
            .exec_without_returning(self.connection())
            .await?;
        Ok(())
    }

    /// Counts one failure under `key` in `limit`'s fixed window and returns the window after
    /// it: one upsert, atomic on both databases, so failures on every instance add up and
    /// none is lost to a race. The row lives until the window ends (`expires_at`).
    pub async fn count_failure(
        &self,
        key: &str,
        limit: FailureLimit,
        now: DateTime<Utc>,
    ) -> Result<FailureWindow, StoreError> {
        count_failure_on(self.connection(), key, limit, now).await
    }

    /// Stores `number` under `key` unless a number is there already; answers with the one
    /// kept. One upsert (a throttle counter that lives until `expires_at`), so of attempts at
    /// once the first number wins for all of them.
    pub(super) async fn keep_first_number(
        &self,
        key: &str,
        number: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        use throttle_counter::Column;
        let statement = Query::insert()
            .into_table(throttle_counter::Entity)
            .columns([
                Column::Key,
                Column::Failures,
                Column::ThrottledUntil,
                Column::ExpiresAt,
                Column::Version,
            ])
            .values([
                key.into(),
                i32::try_from(number).unwrap_or(i32::MAX).into(),
                Option::<DateTime<Utc>>::None.into(),
                expires_at.into(),
                1_i64.into(),
            ])
            .map_err(|error| DbErr::Custom(error.to_string()))?
            .on_conflict(
                // Touches the row only so that it is returned, number unchanged.
                OnConflict::column(Column::Key)
                    .value(
                        Column::Version,
                        Expr::col((throttle_counter::Entity, Column::Version)).add(1),
                    )
                    .to_owned(),
            )
            .returning(Query::returning().column(Column::Failures))
            .to_owned();
        let row = self
            .connection()
            .query_one(&statement)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the number of a counted event".into()))?;
        let kept: i32 = row.try_get("", "failures")?;
        Ok(u32::try_from(kept).unwrap_or(u32::MAX))
    }

    /// Deletes counters that have expired; returns how many.
    pub async fn purge_expired_throttles(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(throttle_counter::Entity::delete_many()
            .filter(throttle_counter::Column::ExpiresAt.lte(now))
            .exec(self.connection())
            .await?
            .rows_affected)
    }

    /// Replaces the row at `version` (or inserts it when `version` is `None`) with `next`;
    /// false when another writer got there first.
    async fn swap_counter(
        &self,
        key: &str,
        version: Option<i64>,
        next: Counter,
    ) -> Result<bool, StoreError> {
        let written = match version {
            None => {
                throttle_counter::Entity::insert(throttle_counter::ActiveModel {
                    key: Set(key.to_owned()),
                    failures: Set(next.failures),
                    throttled_until: Set(next.throttled_until),
                    expires_at: Set(next.expires_at),
                    version: Set(1),
                })
                .on_conflict(
                    OnConflict::column(throttle_counter::Column::Key)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(self.connection())
                .await?
            }
            Some(version) => {
                throttle_counter::Entity::update_many()
                    .col_expr(
                        throttle_counter::Column::Failures,
                        Expr::value(next.failures),
                    )
                    .col_expr(
                        throttle_counter::Column::ThrottledUntil,
                        Expr::value(next.throttled_until),
                    )
                    .col_expr(
                        throttle_counter::Column::ExpiresAt,
                        Expr::value(next.expires_at),
                    )
                    .col_expr(throttle_counter::Column::Version, Expr::value(version + 1))
                    .filter(throttle_counter::Column::Key.eq(key))
                    .filter(throttle_counter::Column::Version.eq(version))
                    .exec(self.connection())
                    .await?
                    .rows_affected
            }
        };
        Ok(written == 1)
    }
}

/// [`Store::count_failure`] on `connection`: the store's, or a transaction that writes what
/// goes with the count (`db::attack_alerts`).
pub(super) async fn count_failure_on(
    connection: &impl ConnectionTrait,
    key: &str,
    limit: FailureLimit,
    now: DateTime<Utc>,
) -> Result<FailureWindow, StoreError> {
    use throttle_counter::Column;
    let new_end = now + limit.window;
    let column = |c: Column| Expr::col((throttle_counter::Entity, c));
    let live = column(Column::ExpiresAt).gt(now);
    let statement = Query::insert()
        .into_table(throttle_counter::Entity)
        .columns([
            Column::Key,
            Column::Failures,
            Column::ThrottledUntil,
            Column::ExpiresAt,
            Column::Version,
        ])
        .values([
            key.into(),
            1_i32.into(),
            Option::<DateTime<Utc>>::None.into(),
            new_end.into(),
            1_i64.into(),
        ])
        .map_err(|error| DbErr::Custom(error.to_string()))?
        .on_conflict(
            OnConflict::column(Column::Key)
                .value(
                    Column::Failures,
                    Expr::case(live.clone(), column(Column::Failures).add(1)).finally(1),
                )
                .value(
                    Column::ExpiresAt,
                    Expr::case(live, column(Column::ExpiresAt)).finally(new_end),
                )
                .value(Column::Version, column(Column::Version).add(1))
                .to_owned(),
        )
        .returning(Query::returning().columns([Column::Failures, Column::ExpiresAt]))
        .to_owned();
    let row = connection
        .query_one(&statement)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the counted failure".into()))?;
    let failures: i32 = row.try_get("", "failures")?;
    let ends: DateTime<Utc> = row.try_get("", "expires_at")?;
    Ok(FailureWindow {
        started: ends - limit.window,
        failures: u32::try_from(failures).unwrap_or(0),
    })
}
