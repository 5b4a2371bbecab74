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
        // triggers: the revocation signals would then be silently wrong, and the cache of
        // checks in front of them with them.
        let names = trigger_names(&again).await?;
        assert_eq!(
            names.iter().filter(|n| n.starts_with("revoke_on_")).count(),
            // Migration 11's eight, migration 19's passkey deletion and migration 22's kind
            // change.
            10,
            "{}: {names:?}",
            database.name
        );
    }
    Ok(())
}

/// The names of the database's triggers (PostgreSQL: those of users, not its own).
async fn trigger_names(
    connection: &sea_orm::DatabaseConnection,
) -> Result<Vec<String>, sea_orm::DbErr> {
    let triggers = match connection.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'trigger'",
    };
    Ok(connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            triggers,
        ))
        .await?
        .iter()
        .filter_map(|row| row.try_get::<String>("", "name").ok())
        .collect())
}

/// Whether anything migration 12 made for the page cache is there: a view-version trigger,
/// a trigger function (PostgreSQL) or the `view_versions` table.
async fn view_versions_left(
    connection: &sea_orm::DatabaseConnection,
) -> Result<Vec<String>, sea_orm::DbErr> {
    let backend = connection.get_database_backend();
    let others = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT proname::text AS name FROM pg_proc WHERE proname LIKE 'view\\_version%' \
             UNION ALL SELECT tablename::text AS name FROM pg_tables WHERE tablename = 'view_versions'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'view_versions'",
    };
    let mut left: Vec<String> = trigger_names(connection)
        .await?
        .into_iter()
        .filter(|name| name.starts_with("view_version"))
        .collect();
    left.extend(
        connection
            .query_all_raw(Statement::from_string(backend, others))
            .await?
            .iter()
            .filter_map(|row| row.try_get::<String>("", "name").ok()),
    );
    Ok(left)
}

/// The page cache is gone (migration 13): after every migration no trigger is left on the
/// personal tables or the organization but the revocation signals (migration 11), no trigger
/// function of migration 12 on PostgreSQL, and no `view_versions` table. Undoing migration 13
/// puts migration 12's back; applying it again takes them away.
#[tokio::test]
async fn no_view_version_trigger_or_table_is_left_after_the_migrations() -> TestResult {
    const DROP_VIEW_VERSIONS: &str = "m20261206_000013_drop_view_versions";
    for database in TestDatabase::all().await {
        let name = database.name;
        let connection = db::connect_and_migrate(&database.url).await?;
        assert_eq!(
            view_versions_left(&connection).await?,
            Vec::<String>::new(),
            "{name}"
        );
        let triggers = trigger_names(&connection).await?;
        assert!(
            triggers.iter().all(|t| t.starts_with("revoke_on_")),
            "{name}: only the revocation signals are left: {triggers:?}"
        );

        // Down to migration 12 (past whatever came after 13), then up again.
        let applied = Migrator::get_applied_migrations(&connection).await?;
        let undone = applied
            .iter()
            .rev()
            .position(|m| m.name() == DROP_VIEW_VERSIONS)
            .ok_or("migration 13 applied")?
            + 1;
        Migrator::down(&connection, Some(u32::try_from(undone)?)).await?;
        let restored = view_versions_left(&connection).await?;
        assert!(
            restored.contains(&"view_versions".to_owned())
                && restored.contains(&"view_version_on_sessions_insert".to_owned()),
            "{name}: undoing migration 13 restores migration 12's: {restored:?}"
        );
        Migrator::up(&connection, None).await?;
        assert_eq!(
            view_versions_left(&connection).await?,
            Vec::<String>::new(),
            "{name}: again"
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
        assert_eq!(created.role, server::db::Role::Administrator);
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
