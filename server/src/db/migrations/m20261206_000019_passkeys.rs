//! Passkeys and security keys (WebAuthn), and the state of their ceremonies.
//!
//! - `passkeys`: a person's credentials, each with the name they gave it, found by its
//!   credential id (unique, base64url), the serialized `webauthn_rs::prelude::Passkey` (public
//!   key, counter, flags: no secret), the signature counter apart so a use can be recorded with
//!   a condition on it, and the user handle the credential was made with (what a discoverable
//!   credential names its person by).
//! - `passkey_ceremonies`: a started registration or sign-in (its challenge, serialized by
//!   `webauthn-rs`), bound to the session that started it (or, for a passwordless sign-in,
//!   to the hash of a token only the starting page holds), for 5 minutes; claimed by deleting
//!   it, so it finishes once.
//!
//! Deleting a passkey may leave a person without a second factor, which stops their app
//! passwords: a trigger signals it as migration 11's do (`db::revocations`).

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    UserId,
    Name,
    CredentialId,
    UserHandle,
    Credential,
    SignCount,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum PasskeyCeremonies {
    Table,
    Id,
    SessionId,
    TokenHash,
    Kind,
    Name,
    State,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}

/// The revocation signal of a deleted passkey (named like migration 11's, which tests count).
const TRIGGER: &str = "revoke_on_passkey_delete";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .if_not_exists()
                    .col(pk_auto(Passkeys::Id))
                    .col(integer(Passkeys::UserId))
                    .col(string(Passkeys::Name))
                    .col(string_uniq(Passkeys::CredentialId))
                    .col(string(Passkeys::UserHandle))
                    .col(text(Passkeys::Credential))
                    .col(big_integer(Passkeys::SignCount))
                    .col(timestamp_with_time_zone(Passkeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(Passkeys::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Passkeys::Table, Passkeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("passkeys_user_id")
                    .table(Passkeys::Table)
                    .col(Passkeys::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PasskeyCeremonies::Table)
                    .if_not_exists()
                    .col(pk_auto(PasskeyCeremonies::Id))
                    .col(integer_null(PasskeyCeremonies::SessionId))
                    .col(string_null(PasskeyCeremonies::TokenHash).unique_key())
                    .col(string(PasskeyCeremonies::Kind))
                    .col(string_null(PasskeyCeremonies::Name))
                    .col(text(PasskeyCeremonies::State))
                    .col(timestamp_with_time_zone(PasskeyCeremonies::ExpiresAt))
                    // A session's ceremonies end with it (signing out, the second step done).
                    .foreign_key(
                        ForeignKey::create()
                            .from(PasskeyCeremonies::Table, PasskeyCeremonies::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One ceremony of each kind per session: starting again replaces it.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("passkey_ceremonies_session_kind")
                    .table(PasskeyCeremonies::Table)
                    .col(PasskeyCeremonies::SessionId)
                    .col(PasskeyCeremonies::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("passkey_ceremonies_expires_at")
                    .table(PasskeyCeremonies::Table)
                    .col(PasskeyCeremonies::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                // `latchkey_revoked()` is migration 11's.
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {TRIGGER} AFTER DELETE ON passkeys FOR EACH ROW \
                     EXECUTE FUNCTION latchkey_revoked()"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER DELETE ON passkeys BEGIN \
                     UPDATE revocations SET epoch = epoch + 1 WHERE id = 1; END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {TRIGGER} ON passkeys"))
                .await?;
        } else {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {TRIGGER}"))
                .await?;
        }
        manager
            .drop_table(Table::drop().table(PasskeyCeremonies::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Passkeys::Table).to_owned())
            .await
    }
}
