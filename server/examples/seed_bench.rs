//! Seeds a database for `scripts/bench-basic-check.sh` and `scripts/bench-latency.sh`: an
//! organization with app passwords allowed, `one@bench.example` with 1 app password and
//! `forty@bench.example` with 40, each with a confirmed authenticator app (app passwords need
//! a second factor) and a signed-in session. Prints one line per user:
//! "username<TAB>app password<TAB>session token" (the 40-user's last app password).
//!
//! With a third argument N, also N more people (`db::seed`), each with an authenticator app
//! and signed in once, for the people search's benchmark and the hot-path queries' plans;
//! with a fourth, K app passwords for each of them (`db::seed::seeded_app_password`), for the
//! scale benchmark. Prints how long the seeding took on standard error.
//!
//! Usage: seed_bench DATABASE_URL SECRET_KEY_FILE [PEOPLE [APP_PASSWORDS_PER_PERSON]]

use chrono::Utc;
use server::db::{self, Actor, NewAdmin, NewAppPassword, NewOrganization, NewUser, Store};
use server::domain::app_password::{self, AppPasswordSecret};
use server::domain::random::OsRandom;
use server::domain::{password, session, totp};
use server::secret_key::SecretKey;
use server::use_cases;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(database_url), Some(key_file)) = (args.next(), args.next()) else {
        return Err(
            "usage: seed_bench DATABASE_URL SECRET_KEY_FILE [PEOPLE [APP_PASSWORDS_PER_PERSON]]"
                .into(),
        );
    };
    let mut count = || -> Result<usize, std::num::ParseIntError> {
        args.next().map_or(Ok(0), |count| count.parse())
    };
    let (people, per_person) = (count()?, count()?);
    let key = SecretKey::load_or_create(std::path::Path::new(&key_file), &mut OsRandom)?;
    let store = Store::new(db::connect_and_migrate(&database_url).await?);
    let now = Utc::now();
    let account_hash = password::hash_password("bench account password", &mut OsRandom)?;
    let one = store
        .complete_setup(
            NewOrganization {
                name: "Bench".to_owned(),
                allow_app_passwords: true,
            },
            NewAdmin {
                username: "one@bench.example".to_owned(),
                username_key: "one@bench.example".to_owned(),
                display_name: "One".to_owned(),
                password_hash: account_hash.clone(),
            },
            Actor::default(),
            now,
        )
        .await?;
    let forty = store
        .add_user(
            NewUser {
                username: "forty@bench.example".to_owned(),
                username_key: "forty@bench.example".to_owned(),
                display_name: "Forty".to_owned(),
                password_hash: account_hash,
                is_admin: false,
            },
            &Actor::default(),
            now,
        )
        .await?;
    for (user, count) in [(one, 1), (forty, app_password::MAX_PER_USER)] {
        // A confirmed authenticator app (its secret is never used: the session below is
        // already through both steps).
        let secret = totp::generate_secret(&mut OsRandom);
        let sealed = key.seal(
            use_cases::TOTP_SEAL_PURPOSE,
            &use_cases::totp_owner(user.id),
            &secret,
            &mut OsRandom,
        );
        let name = "Authenticator app".to_owned();
        store
            .save_pending_authenticator(user.id, name.clone(), sealed, &Actor::default(), now)
            .await?;
        let app = store.authenticator(user.id).await?.ok_or("authenticator")?;
        // Before any session: none to keep.
        store
            .confirm_authenticator(app.id, user.id, 1, name, 0, &Actor::default(), now)
            .await?
            .ok_or("confirmed")?;
        let token = session::new_token(&mut OsRandom);
        store
            .create_session(
                user.id,
                session::token_hash(&token),
                false,
                &Actor::default(),
                now,
            )
            .await?;
        let mut last = String::new();
        for n in 1..=count {
            let secret = AppPasswordSecret::generate(&mut OsRandom);
            let new = NewAppPassword {
                user_id: user.id,
                name: format!("App {n}"),
                name_key: format!("app {n}"),
                lookup_hash: key
                    .keyed_hash(app_password::LOOKUP_PURPOSE, secret.as_str().as_bytes()),
                password_hash: password::hash_password(secret.as_str(), &mut OsRandom)?,
            };
            store
                .create_app_password(new, app_password::MAX_PER_USER, &Actor::default(), now)
                .await?;
            last = secret.for_display();
        }
        println!("{}\t{last}\t{token}", user.username);
    }
    if people > 0 {
        let started = std::time::Instant::now();
        let hash = password::hash_password("bench person password", &mut OsRandom)?;
        store.seed_people(people, &hash, now).await?;
        eprintln!("seeded {people} people in {:.1?}", started.elapsed());
        let started = std::time::Instant::now();
        store.seed_signed_in(people, now).await?;
        eprintln!(
            "seeded {people} authenticator apps and sessions in {:.1?}",
            started.elapsed()
        );
        if per_person > 0 {
            let started = std::time::Instant::now();
            let hash = password::hash_password("bench app password", &mut OsRandom)?;
            let lookup =
                |secret: &str| key.keyed_hash(app_password::LOOKUP_PURPOSE, secret.as_bytes());
            store
                .seed_app_passwords(people, per_person, &hash, lookup, now)
                .await?;
            eprintln!(
                "seeded {} app passwords in {:.1?}",
                people * per_person,
                started.elapsed()
            );
        }
    }
    Ok(())
}
