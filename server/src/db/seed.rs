//! Many people at once, for benchmarks and scale tests (`seed_bench`, the people-search test):
//! named from a few first and last names, so a prefix matches as many as in a real directory,
//! inserted a thousand rows per statement, all with one password hash.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait};

use super::entities::user;
use super::store::{ORGANIZATION_ID, Store, StoreError};
use crate::domain::account;

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
                    role: Set("user".to_owned()),
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
}
