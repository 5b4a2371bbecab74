//! The streak of a person's failed second steps (`domain::attack_alert`): each failure is
//! counted in one transaction with the alert it may bring, and a complete sign-in ends the
//! streak in its own transaction (`Store::start_session`).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, DbErr, EntityTrait};

use super::audit::event;
use super::entities::throttle_counter;
use super::store::{Actor, Store, StoreError};
use super::throttles::count_failure_on;
use crate::domain::attack_alert::{self, ALERTED, STREAK};

impl Store {
    /// Counts one failed second step of `user_id` since their last complete sign-in, and
    /// answers with the streak's count. A failure whose count mails the person
    /// (`attack_alert::alerts_at`) writes the alert's audit event, and with it the mail
    /// (`AuditRow::insert`), in the same transaction. The count is one upsert that answers
    /// with the new count, so of failures counted at once, on one instance or several,
    /// exactly one sees each number: each mail goes once.
    pub async fn count_failed_second_step(
        &self,
        user_id: i32,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let txn = self.begin_write().await?;
        let streak =
            count_failure_on(&txn, &attack_alert::streak_key(user_id), STREAK, now).await?;
        if attack_alert::alerts_at(streak.failures) {
            event(
                Some(user_id),
                ALERTED,
                attack_alert::alert_detail(),
                actor,
                now,
            )
            .insert(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(streak.failures)
    }

    /// How many second steps `user_id` has failed since their last complete sign-in (0 when
    /// none, or when the streak was forgotten).
    pub async fn failed_second_steps(
        &self,
        user_id: i32,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        Ok(self
            .throttle_counter(&attack_alert::streak_key(user_id))
            .await?
            .filter(|streak| streak.expires_at > now)
            .map_or(0, |streak| u32::try_from(streak.failures).unwrap_or(0)))
    }
}

/// Ends `user_id`'s streak of failed second steps, in `txn`: their complete sign-in's.
pub(super) async fn end_streak(txn: &DatabaseTransaction, user_id: i32) -> Result<(), DbErr> {
    throttle_counter::Entity::delete_by_id(attack_alert::streak_key(user_id))
        .exec(txn)
        .await?;
    Ok(())
}
