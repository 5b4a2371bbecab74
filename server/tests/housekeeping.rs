//! Housekeeping on SQLite and PostgreSQL: ended sessions, expired throttle counters and audit
//! events past their retention are deleted; what is still live stays.

mod support;

use chrono::{Duration, Utc};
use server::db::Actor;
use server::domain::throttle::Rule;
use server::jobs::housekeeping;
use support::{TestDatabase, TestResult};

#[tokio::test]
async fn ended_sessions_expired_counters_and_old_audit_events_are_deleted() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada = support::add_user(&backend, "ada@contoso.example").await;
        let store = backend.store();
        let now = Utc::now();
        let actor = Actor::default();
        let live = store
            .create_session(
                ada.id,
                "live".into(),
                false,
                &actor,
                now - Duration::minutes(5),
            )
            .await?;
        let idle = store
            .create_session(
                ada.id,
                "idle".into(),
                false,
                &actor,
                now - Duration::hours(9),
            )
            .await?;
        let pending = store
            .create_session(
                ada.id,
                "pending".into(),
                true,
                &actor,
                now - Duration::minutes(30),
            )
            .await?;
        let pending_fresh = store
            .create_session(
                ada.id,
                "fresh".into(),
                true,
                &actor,
                now - Duration::minutes(1),
            )
            .await?;
        store
            .claim_attempt("expired", Rule::PAIR, now - Duration::days(2))
            .await?;
        store.claim_attempt("live", Rule::PAIR, now).await?;
        store
            .audit(Some(ada.id), "old", "", &actor, now - Duration::days(500))
            .await?;
        store.audit(Some(ada.id), "recent", "", &actor, now).await?;

        let purged = housekeeping::run_once(&backend, Some(Duration::days(400)), now).await?;
        assert_eq!(purged.sessions, 2, "{}: {purged:?}", database.name);
        assert_eq!(purged.throttle_counters, 1, "{purged:?}");
        assert_eq!(purged.audit_events, 1, "{purged:?}");
        for (session, kept) in [
            (live, true),
            (idle, false),
            (pending, false),
            (pending_fresh, true),
        ] {
            let found = store.session_by_hash(&session.token_hash).await?.is_some();
            assert_eq!(found, kept, "session {}", session.token_hash);
        }
        assert!(store.throttle_counter("live").await?.is_some());
        assert!(store.throttle_counter("expired").await?.is_none());
        let kinds: Vec<_> = store
            .audit_events_of(ada.id)
            .await?
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert!(kinds.contains(&"recent".to_owned()) && !kinds.contains(&"old".to_owned()));

        // Without a retention, audit events stay.
        store
            .audit(Some(ada.id), "old", "", &actor, now - Duration::days(500))
            .await?;
        let purged = housekeeping::run_once(&backend, None, now).await?;
        assert_eq!(purged.audit_events, 0);
    }
    Ok(())
}
