//! Storage on SQLite and PostgreSQL: migrations, SQLite durability settings, first-time setup.

mod support;

use chrono::Utc;
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;
use server::db::{self, Actor, NewAdmin, NewOrganization, StoreError, migrations::Migrator};
use support::{TestDatabase, TestResult};

fn admin(name: &str) -> NewAdmin {
    NewAdmin {
        username: name.to_owned(),
        username_key: name.to_lowercase(),
        display_name: "Ada".to_owned(),
        password_hash: "$argon2id$placeholder".to_owned(),
    }
}

fn org() -> NewOrganization {
    NewOrganization {
        name: "Contoso".to_owned(),
        allow_app_passwords: false,
    }
}

#[tokio::test]
async fn migrations_apply_and_are_safe_to_run_twice() -> TestResult {
    for database in TestDatabase::all().await {
        let connection = db::connect_and_migrate(&database.url).await?;
        Migrator::up(&connection, None).await?;
        let again = db::connect_and_migrate(&database.url).await?;
        assert!(
            Migrator::get_pending_migrations(&again).await?.is_empty(),
            "{}",
            database.name
        );
        for table in [
            "organizations",
            "users",
            "sessions",
            "app_passwords",
            "audit_events",
        ] {
            let count = again
                .query_one_raw(Statement::from_string(
                    again.get_database_backend(),
                    format!("SELECT COUNT(*) AS n FROM {table}"),
                ))
                .await?;
            assert!(count.is_some(), "{}: table {table} exists", database.name);
        }
        // A later migration that rebuilds a table (SQLite's way to change a column) drops its
        // triggers: the revocation signals and the view versions would then be silently
        // wrong, and the caches in front of them with them.
        let triggers = match again.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                "SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal"
            }
            _ => "SELECT name FROM sqlite_master WHERE type = 'trigger'",
        };
        let names: Vec<String> = again
            .query_all_raw(Statement::from_string(
                again.get_database_backend(),
                triggers,
            ))
            .await?
            .iter()
            .filter_map(|row| row.try_get::<String>("", "name").ok())
            .collect();
        let tables = [
            "users",
            "sessions",
            "app_passwords",
            "authenticator_apps",
            "organizations",
        ];
        for table in tables {
            for event in ["insert", "update", "delete"] {
                let name = format!("view_version_on_{table}_{event}");
                let expected = database.name == "sqlite" || table != "organizations";
                assert_eq!(names.contains(&name), expected, "{}: {name}", database.name);
            }
        }
        assert_eq!(
            names.iter().filter(|n| n.starts_with("revoke_on_")).count(),
            8,
            "{}: {names:?}",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn sqlite_uses_wal_full_sync_and_a_busy_timeout() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let connection = db::connect_and_migrate(&database.url).await?;
    let backend = connection.get_database_backend();
    let pragma = |name: &str| Statement::from_string(backend, format!("PRAGMA {name}"));
    let journal = connection
        .query_one_raw(pragma("journal_mode"))
        .await?
        .ok_or("no journal_mode")?;
    assert_eq!(journal.try_get_by_index::<String>(0)?, "wal");
    let synchronous = connection
        .query_one_raw(pragma("synchronous"))
        .await?
        .ok_or("no synchronous")?;
    assert_eq!(synchronous.try_get_by_index::<i32>(0)?, 2, "2 = FULL");
    let timeout = connection
        .query_one_raw(pragma("busy_timeout"))
        .await?
        .ok_or("no busy_timeout")?;
    assert!(timeout.try_get_by_index::<i32>(0)? >= 1000);
    Ok(())
}

#[tokio::test]
async fn setup_creates_the_organization_and_an_admin_once() -> TestResult {
    for database in TestDatabase::all().await {
        let store = database.store().await;
        assert!(!store.has_accounts().await?);
        assert!(store.organization().await?.is_none());
        let created = store
            .complete_setup(
                org(),
                admin("Ada@Example.org"),
                Actor::default(),
                Utc::now(),
            )
            .await?;
        assert_eq!(created.role, "admin");
        assert_eq!(created.username_key, "ada@example.org");
        assert!(store.has_accounts().await?);
        let organization = store.organization().await?.ok_or("organization missing")?;
        assert_eq!(organization.name, "Contoso");
        assert!(
            !organization.allow_app_passwords,
            "app passwords are off unless chosen"
        );
        assert!(organization.security_info_experience);
        let again = store
            .complete_setup(
                org(),
                admin("eve@example.org"),
                Actor::default(),
                Utc::now(),
            )
            .await;
        assert!(
            matches!(again, Err(StoreError::AlreadySetUp)),
            "{}: {again:?}",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn concurrent_setups_create_exactly_one_organization() -> TestResult {
    for database in TestDatabase::all().await {
        let store = database.store().await;
        let attempts = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .complete_setup(
                        org(),
                        admin(&format!("admin{i}@example.org")),
                        Actor::default(),
                        Utc::now(),
                    )
                    .await
            })
        });
        let mut succeeded = 0;
        for attempt in attempts {
            if attempt.await?.is_ok() {
                succeeded += 1;
            }
        }
        assert_eq!(succeeded, 1, "{}", database.name);
        let users = store
            .connection()
            .query_one_raw(Statement::from_string(
                store.connection().get_database_backend(),
                "SELECT COUNT(*) FROM users",
            ))
            .await?
            .ok_or("no count")?;
        assert_eq!(users.try_get_by_index::<i64>(0)?, 1, "{}", database.name);
    }
    Ok(())
}

#[tokio::test]
async fn unusable_databases_give_clear_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(
        &corrupt,
        b"this is not an SQLite database, just some text that is long enough",
    )?;
    let error = db::connect_and_migrate(&format!("sqlite://{}", corrupt.display()))
        .await
        .err()
        .ok_or("expected an error")?;
    assert!(error.to_string().contains("corrupt.db"), "{error}");
    let error = db::connect_and_migrate("mysql://localhost/x")
        .await
        .err()
        .ok_or("expected an error")?;
    assert!(
        error.to_string().contains("unsupported database URL"),
        "{error}"
    );
    let error = db::connect_and_migrate("postgres://nobody:pw@127.0.0.1:1/none")
        .await
        .err()
        .ok_or("expected an error")?;
    assert!(
        error.to_string().contains("***"),
        "password hidden: {error}"
    );
    Ok(())
}
