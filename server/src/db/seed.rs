//! Many people at once, for benchmarks and scale tests (`seed_bench`, the people-search test):
//! named from a few first and last names, so a prefix matches as many as in a real directory,
//! inserted a thousand rows per statement, all with one password hash; and as many app
//! passwords for each as asked, all with one argon2 hash but each with its own lookup hash.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sha2::{Digest, Sha256};

use super::entities::user::Role;
use super::entities::{app_password, authenticator_app, passkey, recovery_code, session, user};
use super::store::{ORGANIZATION_ID, Store, StoreError};
use crate::domain::account;
use crate::domain::session as domain_session;

const FIRST: [&str; 16] = [
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "John",
    "Katherine",
    "Leslie",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tim",
];
const LAST: [&str; 16] = [
    "Allen",
    "Backus",
    "Cerf",
    "Dijkstra",
    "Engelbart",
    "Floyd",
    "Hamilton",
    "Hopper",
    "Johnson",
    "Knuth",
    "Lamport",
    "Liskov",
    "Perlman",
    "Ritchie",
    "Shannon",
    "Wirth",
];

/// The `n`th seeded person: (sign-in name, name), e.g. ("grace.hopper119@seed.example",
/// "Grace Hopper").
pub fn seeded_person(n: usize) -> (String, String) {
    let (first, last) = (FIRST[n % 16], LAST[(n / 16) % 16]);
    (
        format!(
            "{}.{}{n}@seed.example",
            first.to_lowercase(),
            last.to_lowercase()
        ),
        format!("{first} {last}"),
    )
}

/// The secret of the seeded person `n`'s `k`th app password: 16 letters derived from `n` and
/// `k`, so a benchmark can sign in as anyone without a list of ten million secrets.
pub fn seeded_app_password(n: usize, k: usize) -> String {
    Sha256::digest(format!("seeded app password {n} {k}"))
        .iter()
        .take(16)
        .map(|byte| char::from(b'a' + byte % 26))
        .collect()
}

/// The session token of the seeded person `n`.
pub fn seeded_session(n: usize) -> String {
    format!("seeded session {n}")
}

/// Rows per insert statement: nine values a row stay under SQLite's 32,766 parameters (and
/// PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 3000;

impl Store {
    /// Adds the seeded people `0..count` (see [`seeded_person`]), without audit events.
    pub async fn seed_people(
        &self,
        count: usize,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for start in (0..count).step_by(1000) {
            let rows = (start..(start + 1000).min(count)).map(|n| {
                let (username, display_name) = seeded_person(n);
                user::ActiveModel {
                    organization_id: Set(ORGANIZATION_ID),
                    username_key: Set(account::lookup_key(&username)),
                    username: Set(username),
                    name_key: Set(account::name_key(&display_name)),
                    display_name: Set(display_name),
                    password_hash: Set(password_hash.to_owned()),
                    password_changed_at: Set(now),
                    is_enabled: Set(true),
                    role: Set(Role::Member),
                    created_at: Set(now),
                    failed_sign_ins: Set(0),
                    throttled_until: Set(None),
                    preview_notice_dismissed: Set(false),
                    ..Default::default()
                }
            });
            user::Entity::insert_many(rows)
                .exec_without_returning(self.connection())
                .await?;
        }
        Ok(())
    }

    /// Gives each of the seeded people `0..people` app passwords `0..per_person`
    /// ([`seeded_app_password`]), all with `password_hash` and each with the lookup hash
    /// `lookup(secret)` (the server key's, which the store does not hold), without audit
    /// events.
    pub async fn seed_app_passwords(
        &self,
        people: usize,
        per_person: usize,
        password_hash: &str,
        lookup: impl Fn(&str) -> String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let ids = self.seeded_ids(people).await?;
        let all = ids
            .iter()
            .enumerate()
            .flat_map(|(n, id)| (0..per_person).map(move |k| (n, k, *id)));
        let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
        for (n, k, user_id) in all {
            batch.push(app_password::ActiveModel {
                user_id: Set(user_id),
                name: Set(format!("Device {k}")),
                name_key: Set(format!("device {k}")),
                lookup_hash: Set(lookup(&seeded_app_password(n, k))),
                password_hash: Set(password_hash.to_owned()),
                created_at: Set(now),
                last_used_at: Set(None),
                last_used_ip: Set(None),
                last_used_client: Set(None),
                ..Default::default()
            });
            if batch.len() == ROWS_PER_INSERT {
                app_password::Entity::insert_many(std::mem::take(&mut batch))
                    .exec_without_returning(self.connection())
                    .await?;
            }
        }
        if !batch.is_empty() {
            app_password::Entity::insert_many(batch)
                .exec_without_returning(self.connection())
                .await?;
        }
        Ok(())
    }

    /// Gives each of the seeded people `0..people` a confirmed authenticator app (its sealed
    /// secret a placeholder: nobody signs in with it) and a signed-in session (token
    /// [`seeded_session`]), so the planner's statistics see both spread over everyone, as in
    /// an organization where app passwords need a second factor.
    pub async fn seed_signed_in(
        &self,
        people: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let ids = self.seeded_ids(people).await?;
        for (start, chunk) in ids.chunks(ROWS_PER_INSERT).enumerate() {
            let apps = chunk.iter().map(|user_id| authenticator_app::ActiveModel {
                user_id: Set(*user_id),
                secret_sealed: Set("seeded".to_owned()),
                last_used_step: Set(None),
                confirmed_at: Set(Some(now)),
                created_at: Set(now),
                ..Default::default()
            });
            authenticator_app::Entity::insert_many(apps)
                .exec_without_returning(self.connection())
                .await?;
            let sessions = chunk.iter().enumerate().map(|(offset, user_id)| {
                let n = start * ROWS_PER_INSERT + offset;
                session::ActiveModel {
                    user_id: Set(*user_id),
                    token_hash: Set(domain_session::token_hash(&seeded_session(n))),
                    created_at: Set(now),
                    last_seen_at: Set(now),
                    verified_at: Set(now),
                    ip: Set(None),
                    user_agent: Set(None),
                    pending_second_step: Set(false),
                    ..Default::default()
                }
            });
            session::Entity::insert_many(sessions)
                .exec_without_returning(self.connection())
                .await?;
        }
        Ok(())
    }

    /// Gives each of the seeded people `0..people` one recovery code and one passkey row
    /// (placeholders: nobody signs in with them), so the planner's statistics see both spread
    /// over everyone, as the session's read counts them for Security info.
    pub async fn seed_second_factor_rows(
        &self,
        people: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let ids = self.seeded_ids(people).await?;
        for chunk in ids.chunks(ROWS_PER_INSERT) {
            let codes = chunk.iter().map(|user_id| recovery_code::ActiveModel {
                user_id: Set(*user_id),
                code_hash: Set(format!("seeded-{user_id}")),
                created_at: Set(now),
                used_at: Set(None),
                ..Default::default()
            });
            recovery_code::Entity::insert_many(codes)
                .exec_without_returning(self.connection())
                .await?;
            let passkeys = chunk.iter().map(|user_id| passkey::ActiveModel {
                user_id: Set(*user_id),
                name: Set("Seeded key".to_owned()),
                credential_id: Set(format!("seeded-{user_id}")),
                user_handle: Set(format!("seeded-{user_id}")),
                credential: Set("{}".to_owned()),
                sign_count: Set(0),
                created_at: Set(now),
                last_used_at: Set(None),
                ..Default::default()
            });
            passkey::Entity::insert_many(passkeys)
                .exec_without_returning(self.connection())
                .await?;
        }
        Ok(())
    }

    /// The ids of the seeded people `0..people`, in the order they were added (n = 0, 1, ...).
    async fn seeded_ids(&self, people: usize) -> Result<Vec<i32>, StoreError> {
        Ok(user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::UsernameKey.like("%@seed.example"))
            .order_by_asc(user::Column::Id)
            .limit(u64::try_from(people).unwrap_or(u64::MAX))
            .into_tuple()
            .all(self.connection())
            .await?)
    }
}
