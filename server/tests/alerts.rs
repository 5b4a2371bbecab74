//! Mail alerts through the outbox, on SQLite and PostgreSQL: an alerted change queues its mail
//! in its own transaction, so none is missed however concurrent changes commit (on PostgreSQL
//! one may commit after a later one); two instances send each mail exactly once; only the
//! holder of a mail's claim records it; a mail server that is down costs the change nothing and
//! the mail is tried again later. The mails go to a small SMTP server of the test's own, which
//! keeps what it receives. Delivery through real Postfix and Dovecot is in the browser tests
//! (`mail_clients.spec.ts`).

mod support;

use std::sync::Arc;

use chrono::{Duration, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use server::db::{Actor, Store};
use server::jobs::mail_alerts::{MailSettingsError, Mailer, Round, run_once};
use support::mail_sink::MailSink;
use support::{TestDatabase, TestResult};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A mailer whose SMTP server refuses connections (nothing listens on the port).
fn mailer_to_a_closed_port() -> Result<Mailer, Error> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Mailer::from_settings(
        Some(&format!("smtp://127.0.0.1:{port}")),
        Some("Latchkey <security@contoso.example>"),
        "https://id.contoso.example",
    )?
    .ok_or_else(|| "configured".into())
}

/// Runs the senders of `stores` in turn until a round of all of them sends nothing.
async fn send_until_quiet(stores: &[&Store], mailer: &Mailer) -> Result<(), Error> {
    loop {
        let mut claimed = 0;
        for store in stores {
            claimed += run_once(store, mailer).await?.claimed;
        }
        if claimed == 0 {
            return Ok(());
        }
    }
}

#[tokio::test]
async fn alerted_changes_are_queued_in_their_own_transaction_and_retried_when_the_mail_server_is_down()
-> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let mailer = mailer_to_a_closed_port()?;

        // The changes succeed although the mail server is down, and queue their alerts
        // themselves, before any sender runs.
        support::app_password_for(&backend, "ada@contoso.example", "Outlook").await?;
        let outbox = backend.store().outbox().await?;
        let mut kinds = Vec::new();
        for mail in &outbox {
            let event = backend.store().audit_event(mail.audit_event_id).await?;
            kinds.extend(event.map(|event| event.kind));
        }
        assert_eq!(
            kinds,
            ["authenticator.added", "app_password.created"],
            "{}",
            database.name
        );

        let second_instance = support::backend_with_key_of(&database, &backend).await;
        let first = run_once(backend.store(), &mailer).await?;
        let second = run_once(second_instance.store(), &mailer).await?;
        assert_eq!(first.claimed + second.claimed, 2, "{}", database.name);
        assert_eq!(first.failed + second.failed, 2, "{}", database.name);

        let outbox = backend.store().outbox().await?;
        assert_eq!(outbox.len(), 2, "{}", database.name);
        for mail in &outbox {
            assert_eq!(mail.attempts, 1);
            assert!(mail.sent_at.is_none() && mail.gave_up_at.is_none());
            assert!(mail.last_error.is_some());
            assert!(mail.claim_token.is_none() && mail.claimed_until.is_none());
            assert!(
                mail.next_attempt_at > Utc::now(),
                "retried later, not at once"
            );
        }
        // Nothing is due yet: no new attempt.
        assert_eq!(
            run_once(backend.store(), &mailer).await?,
            Round::default(),
            "{}",
            database.name
        );

        // A week after it was sent, housekeeping deletes a mail; unsent ones stay.
        let now = Utc::now();
        let later = now + Duration::hours(2);
        let claimed = backend
            .store()
            .claim_due_mails("housekeeping-test", later, later + Duration::minutes(1), 10)
            .await?;
        assert_eq!(claimed.len(), 2, "{}", database.name);
        assert!(
            backend
                .store()
                .mail_sent(outbox[0].id, "housekeeping-test", now - Duration::days(8))
                .await?
        );
        assert_eq!(backend.store().release_mails("housekeeping-test").await?, 1);
        let purged = server::jobs::housekeeping::run_once(&backend, None, now).await?;
        assert_eq!(purged.mails, 1, "{}", database.name);
        assert_eq!(
            backend.store().outbox().await?.len(),
            1,
            "{}",
            database.name
        );
    }
    Ok(())
}

/// The old design moved a cursor past the highest audit event id it had read. On PostgreSQL
/// an id is taken at insert: change A takes its id, change B takes a higher one and commits,
/// a sender reads B and moves past it, then A commits, below the cursor, and was never
/// mailed. Here A is held open just after its audit event is written (a trigger waits on an
/// advisory lock the test holds), so the order is certain. SQLite has one writer at a time,
/// so its transactions cannot commit out of order.
#[tokio::test]
async fn an_alert_committed_after_a_later_one_is_sent_exactly_once() -> TestResult {
    let Some(database) = TestDatabase::postgres().await else {
        return Ok(());
    };
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    let ada = support::add_user(&backend, "ada@contoso.example").await;
    let bo = support::add_user(&backend, "bo@contoso.example").await;
    let first = backend.store().clone();
    let second = database.store().await;
    let sink = MailSink::start().await?;
    let mailer = sink.mailer()?;
    // Alerts start from here (the old design began after the newest event on first use).
    send_until_quiet(&[&first, &second], &mailer).await?;

    let db = first.connection();
    db.execute_unprepared(&format!(
        "CREATE FUNCTION wait_for_the_test() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NEW; END $$; \
         CREATE TRIGGER hold_ada AFTER INSERT ON audit_events FOR EACH ROW \
         WHEN (NEW.user_id = {}) EXECUTE FUNCTION wait_for_the_test();",
        ada.id
    ))
    .await?;
    let hold = db.begin().await?;
    hold.execute_unprepared("SELECT pg_advisory_xact_lock(4242)")
        .await?;

    // A: Ada's password change writes its audit event, then waits, uncommitted.
    let change_a = tokio::spawn({
        let store = first.clone();
        let hash = ada.password_hash.clone();
        async move {
            store
                .change_password(ada.id, hash, 0, &Actor::default(), Utc::now())
                .await
        }
    });
    let waiting = support::time_until(std::time::Duration::from_secs(10), async || {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS waiting FROM pg_locks WHERE locktype = 'advisory' \
                 AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            ))
            .await?;
        let waiting: i64 = row.map_or(Ok(0), |row| row.try_get("", "waiting"))?;
        Ok::<_, sea_orm::DbErr>(waiting == 1)
    })
    .await?;
    assert!(waiting.is_some(), "change A did not reach its audit event");

    // B: Bo's password change, on the other instance, commits with a higher id.
    second
        .change_password(
            bo.id,
            bo.password_hash.clone(),
            0,
            &Actor::default(),
            Utc::now(),
        )
        .await?;
    send_until_quiet(&[&first, &second], &mailer).await?;
    assert_eq!(
        sink.count("bo@contoso.example", "Your password was changed"),
        1
    );
    assert_eq!(
        sink.count("ada@contoso.example", "Your password was changed"),
        0
    );

    // A commits now, after B, below B's id.
    hold.commit().await?;
    change_a.await??;
    let ids = |events: Vec<server::db::entities::audit_event::Model>| {
        events
            .into_iter()
            .filter(|event| event.kind == "password.changed")
            .map(|event| event.id)
            .collect::<Vec<_>>()
    };
    let a_ids = ids(first.audit_events(Some(ada.id), None).await?);
    let b_ids = ids(first.audit_events(Some(bo.id), None).await?);
    assert!(
        matches!((a_ids.as_slice(), b_ids.as_slice()), ([a], [b]) if a < b),
        "A's event must have the lower id: {a_ids:?} {b_ids:?}"
    );

    send_until_quiet(&[&first, &second], &mailer).await?;
    send_until_quiet(&[&second, &first], &mailer).await?;
    assert_eq!(
        sink.count("ada@contoso.example", "Your password was changed"),
        1,
        "A's alert, committed after B's, is sent, once"
    );
    assert_eq!(
        sink.count("bo@contoso.example", "Your password was changed"),
        1
    );
    assert_eq!(sink.received().len(), 2);
    Ok(())
}

#[tokio::test]
async fn two_instances_with_concurrent_writers_send_every_alert_exactly_once() -> TestResult {
    const PEOPLE: usize = 6;
    const CHANGES_EACH: usize = 3;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let mut people = Vec::new();
        for i in 0..PEOPLE {
            people.push(support::add_user(&backend, &format!("person{i}@contoso.example")).await);
        }
        let instances = [backend.store().clone(), database.store().await];
        let sink = MailSink::start().await?;
        let mailer = sink.mailer()?;

        // Both instances send all along, while changes on both are written at once.
        let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let mut senders = Vec::new();
        for store in instances.clone() {
            let mailer = mailer.clone();
            let writing = Arc::clone(&writing);
            senders.push(tokio::spawn(async move {
                while writing.load(std::sync::atomic::Ordering::SeqCst) {
                    run_once(&store, &mailer).await?;
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                Ok::<_, server::db::StoreError>(())
            }));
        }
        let mut writers = Vec::new();
        for round in 0..CHANGES_EACH {
            for (i, person) in people.iter().enumerate() {
                let store = instances[(i + round) % 2].clone();
                let (id, hash) = (person.id, person.password_hash.clone());
                writers.push(tokio::spawn(async move {
                    store
                        .change_password(id, hash, 0, &Actor::default(), Utc::now())
                        .await
                }));
            }
        }
        for writer in writers {
            writer.await??;
        }
        writing.store(false, std::sync::atomic::Ordering::SeqCst);
        for sender in senders {
            sender.await??;
        }
        send_until_quiet(&[&instances[0], &instances[1]], &mailer).await?;

        for person in &people {
            assert_eq!(
                sink.count(&person.username, "Your password was changed"),
                CHANGES_EACH,
                "{}: {}",
                database.name,
                person.username
            );
        }
        assert_eq!(
            sink.received().len(),
            PEOPLE * CHANGES_EACH,
            "{}",
            database.name
        );
        let outbox = instances[0].outbox().await?;
        assert_eq!(outbox.len(), PEOPLE * CHANGES_EACH, "{}", database.name);
        assert!(
            outbox
                .iter()
                .all(|mail| mail.sent_at.is_some() && mail.attempts == 0),
            "{}: each sent at its first attempt",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_instance_whose_claim_was_taken_over_cannot_record_the_mail() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada = support::add_user(&backend, "ada@contoso.example").await;
        let first = backend.store().clone();
        let second = database.store().await;
        first
            .change_password(
                ada.id,
                ada.password_hash.clone(),
                0,
                &Actor::default(),
                Utc::now(),
            )
            .await?;

        // Whole seconds: PostgreSQL keeps microseconds, and the times are compared below.
        let start = (Utc::now() + Duration::seconds(1)).trunc_subsecs(0);
        let held = first
            .claim_due_mails("first", start, start + Duration::minutes(1), 10)
            .await?;
        assert_eq!(held.len(), 1, "{}", database.name);
        let id = held[0].id;
        // While the claim holds, the other instance cannot take the mail.
        let soon = start + Duration::seconds(30);
        assert!(
            second
                .claim_due_mails("second", soon, soon + Duration::minutes(1), 10)
                .await?
                .is_empty()
        );
        // Once it has run out, it can; the first instance can then record nothing.
        let after = start + Duration::minutes(2);
        let taken = second
            .claim_due_mails("second", after, after + Duration::minutes(1), 10)
            .await?;
        assert_eq!(taken.iter().map(|m| m.id).collect::<Vec<_>>(), [id]);
        assert!(
            !first.mail_sent(id, "first", after).await?,
            "{}: the first instance's claim was taken over",
            database.name
        );
        assert!(
            !first
                .mail_failed(id, "first", 1, "timed out", Some(after), after)
                .await?
        );
        let row = first.outbox().await?.remove(0);
        assert!(row.sent_at.is_none(), "{}", database.name);
        assert_eq!(row.attempts, 0);
        assert_eq!(row.claim_token.as_deref(), Some("second"));

        assert!(second.mail_sent(id, "second", after).await?);
        let row = first.outbox().await?.remove(0);
        assert_eq!(row.sent_at, Some(after), "{}", database.name);
        // A sent mail is never claimed again, nor recorded by anyone else.
        let much_later = after + Duration::hours(1);
        assert!(
            first
                .claim_due_mails("first", much_later, much_later + Duration::minutes(1), 10)
                .await?
                .is_empty()
        );
        assert!(!first.mail_sent(id, "first", much_later).await?);
    }
    Ok(())
}

#[tokio::test]
async fn alerts_carry_no_secret_and_go_only_to_mail_addresses_while_fresh() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let store = backend.store();
        let sink = MailSink::start().await?;
        let mailer = sink.mailer()?;

        support::add_user(&backend, "ada@contoso.example").await;
        let (_, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Outlook").await?;
        // A sign-in name that is not a mail address: the alert is given up, unsent.
        let bo = support::add_user(&backend, "bo").await;
        store
            .change_password(
                bo.id,
                bo.password_hash.clone(),
                0,
                &Actor::default(),
                Utc::now(),
            )
            .await?;
        // A change from two days ago, when mail was off: too old to alarm anyone now.
        let cy = support::add_user(&backend, "cy@contoso.example").await;
        store
            .change_password(
                cy.id,
                cy.password_hash.clone(),
                0,
                &Actor::default(),
                Utc::now() - Duration::days(2),
            )
            .await?;

        let round = run_once(store, &mailer).await?;
        assert_eq!(
            round,
            Round {
                claimed: 3,
                sent: 2,
                failed: 0,
                undeliverable: 1
            },
            "{}",
            database.name
        );
        let received = sink.received();
        let subjects: Vec<(&str, &str)> = received
            .iter()
            .map(|mail| (mail.recipient.as_str(), mail.subject()))
            .collect();
        assert_eq!(
            subjects,
            [
                ("ada@contoso.example", "Authenticator app added"),
                ("ada@contoso.example", "New app password \"Outlook\""),
            ],
            "{}",
            database.name
        );
        let secret: String = created.password.split_whitespace().collect();
        for mail in &received {
            let text = mail.text();
            assert!(!text.contains(&created.password), "{text}");
            assert!(!text.contains(&secret), "{text}");
            assert!(
                text.contains("https://id.contoso.example/security-info"),
                "{text}"
            );
        }

        let outbox = store.outbox().await?;
        let bo_mail = outbox
            .iter()
            .find(|mail| mail.gave_up_at.is_some())
            .ok_or("Bo's alert is given up")?;
        assert_eq!(
            bo_mail.last_error.as_deref(),
            Some("the person's sign-in name is not a mail address")
        );
        assert_eq!(run_once(store, &mailer).await?, Round::default());
        // The stale one is deleted with the finished ones, never sent.
        assert_eq!(
            store
                .purge_finished_mails(Utc::now() - Duration::days(1))
                .await?,
            1,
            "{}",
            database.name
        );
        assert_eq!(sink.received().len(), 2);
    }
    Ok(())
}

/// Upgrading a database of the cursor design: what the cursor had passed is done; alerted
/// events after it are queued; a mail waiting is kept; the cursor table goes.
#[tokio::test]
async fn the_migration_queues_what_the_cursor_had_not_reached() -> TestResult {
    use sea_orm_migration::MigratorTrait;
    use server::db::migrations::Migrator;
    for database in TestDatabase::all().await {
        let db = server::db::connect(&database.url).await?;
        Migrator::up(&db, Some(13)).await?;
        let store = Store::new(db);
        // Setup writes only events that are not alerted (no outbox row, which the old table
        // could not take).
        let admin = server::db::NewAdmin {
            username: "ada@contoso.example".to_owned(),
            username_key: "ada@contoso.example".to_owned(),
            display_name: "Ada".to_owned(),
            password_hash: "not a hash".to_owned(),
        };
        let organization = server::db::NewOrganization {
            name: "Contoso".to_owned(),
            allow_app_passwords: true,
        };
        let ada = store
            .complete_setup(organization, admin, Actor::default(), Utc::now())
            .await?
            .id;
        let db = store.connection();
        let at = "2026-12-01 10:00:00+00:00";
        for (id, kind) in [
            (101, "password.changed"),
            (102, "password.changed"),
            (103, "sign_in.succeeded"),
            (104, "authenticator.added"),
            (105, "app_password.created"),
        ] {
            db.execute_unprepared(&format!(
                "INSERT INTO audit_events (id, user_id, kind, detail, created_at) \
                 VALUES ({id}, {ada}, '{kind}', '', '{at}')"
            ))
            .await?;
        }
        db.execute_unprepared("INSERT INTO mail_cursors (id, last_audit_event_id) VALUES (1, 103)")
            .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO mail_outbox (audit_event_id, recipient, subject, body, created_at, \
             attempts, next_attempt_at) VALUES (102, 'ada@contoso.example', 's', 'b', '{at}', 1, '{at}')"
        ))
        .await?;
        Migrator::up(db, None).await?;

        let queued: Vec<i32> = store
            .outbox()
            .await?
            .iter()
            .map(|mail| mail.audit_event_id)
            .collect();
        assert_eq!(queued, [102, 104, 105], "{}", database.name);
        let manager = sea_orm_migration::SchemaManager::new(store.connection());
        assert!(
            !manager.has_table("mail_cursors").await?,
            "{}",
            database.name
        );
        assert!(!manager.has_column("mail_outbox", "body").await?);

        // Down (this migration and any after it) goes back to a cursor after every event,
        // dropping the mails it cannot word; up again owes nothing.
        let after_this_one = u32::try_from(Migrator::migrations().len() - 13)?;
        Migrator::down(store.connection(), Some(after_this_one)).await?;
        assert!(
            manager.has_table("mail_cursors").await?,
            "{}",
            database.name
        );
        assert!(manager.has_column("mail_outbox", "body").await?);
        Migrator::up(store.connection(), None).await?;
        assert!(store.outbox().await?.is_empty(), "{}", database.name);
    }
    Ok(())
}

#[test]
fn mail_settings_are_checked_at_start() {
    let url = Some("smtp://127.0.0.1:25");
    let from = Some("Latchkey <security@contoso.example>");
    let public = "http://127.0.0.1:3000";
    assert!(matches!(
        Mailer::from_settings(None, None, public),
        Ok(None)
    ));
    assert!(matches!(
        Mailer::from_settings(url, None, public),
        Err(MailSettingsError::Incomplete)
    ));
    assert!(matches!(
        Mailer::from_settings(url, Some("not an address"), public),
        Err(MailSettingsError::From(_))
    ));
    assert!(matches!(
        Mailer::from_settings(Some("gopher://x"), from, public),
        Err(MailSettingsError::Url(_))
    ));
    assert!(matches!(
        Mailer::from_settings(url, from, public),
        Ok(Some(_))
    ));
}
