//! `latchkey backup` and `latchkey restore` as the real binary: a backup taken while the real
//! server runs and app passwords are created and deleted, restored into a new folder, where a
//! new server checks every acknowledged write; and the refusals that keep a wrong key or an
//! existing database from being used.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use server::db::{self, Store};
use server::secret_key::SecretKey;
use server::use_cases::{BackendSettings, ServerBackend};
use support::TestResult;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USER: &str = "mail@contoso.example";

/// The real server on the database and key of `dir`; stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    async fn start(dir: &Path) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .envs(environment(dir))
            .env("LATCHKEY_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "latchkey")
            .env("LEPTOS_SITE_ROOT", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = Self { child, port };
        let started = Instant::now();
        while !matches!(server.get("/healthz", None).await, Ok(200)) {
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the server did not start".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    /// The status of `GET path`, with Basic credentials when given.
    async fn get(&self, path: &str, basic: Option<(&str, &str)>) -> std::io::Result<u16> {
        use base64::Engine;
        let authorization = basic.map_or(String::new(), |(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Authorization: Basic {token}\r\n")
        });
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream
            .write_all(
                format!(
                    "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{authorization}\r\n"
                )
                .as_bytes(),
            )
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok(String::from_utf8_lossy(&answer)
            .split(' ')
            .nth(1)
            .and_then(|status| status.parse().ok())
            .unwrap_or(0))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the database and the key of a Latchkey in `dir` live.
fn environment(dir: &Path) -> [(&'static str, String); 3] {
    [
        (
            "LATCHKEY_DATABASE_URL",
            format!("sqlite://{}", dir.join("data/latchkey.db").display()),
        ),
        (
            "LATCHKEY_SECRET_KEY_FILE",
            dir.join("data/secret.key").display().to_string(),
        ),
        ("LATCHKEY_LOG", "warn".to_owned()),
    ]
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `latchkey ARGS` for the Latchkey in `dir`, off the async threads.
async fn latchkey(
    dir: &Path,
    args: &[&str],
) -> Result<Output, Box<dyn std::error::Error + Send + Sync>> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.args(args);
    run(dir, command).await
}

/// Runs `latchkey ARGS` for the Latchkey in `dir` under umask 000: every file it creates
/// without choosing a mode is readable and writable by everyone.
async fn latchkey_under_open_umask(
    dir: &Path,
    args: &[&str],
) -> Result<Output, Box<dyn std::error::Error + Send + Sync>> {
    let mut command = Command::new("sh");
    command
        .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_latchkey"))
        .args(args);
    run(dir, command).await
}

async fn run(
    dir: &Path,
    mut command: Command,
) -> Result<Output, Box<dyn std::error::Error + Send + Sync>> {
    command.envs(environment(dir));
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    Ok(Output {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// What the writer has had acknowledged.
#[derive(Default, Clone)]
struct Acknowledged {
    /// Name and password of each app password whose creation was answered.
    created: Vec<(String, String)>,
    /// Names of those whose deletion was answered.
    deleted: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_restores_every_acknowledged_one() -> TestResult {
    use app::backend::prelude::*;
    let live = tempfile::tempdir()?;
    let server = Server::start(live.path()).await?;

    // The writer is the server's own library on the same file and key, as a second instance.
    let [(_, url), (_, key_file), _] = environment(live.path());
    let backend = ServerBackend::new(
        Store::new(db::connect(&url).await?),
        SecretKey::load(Path::new(&key_file))?,
        BackendSettings::default(),
    );
    support::set_up_organization(&backend).await;
    support::add_user(&backend, USER).await;
    let (ctx, _) = support::signed_in_with_authenticator(&backend, USER, "192.0.2.1").await?;

    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = tokio::spawn({
        let (backend, acknowledged, stop) = (
            Arc::clone(&backend),
            Arc::clone(&acknowledged),
            Arc::clone(&stop),
        );
        async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 35 {
                let name = format!("app {n}");
                let created = backend.create_app_password(&ctx, &name, "", "").await?;
                acknowledged
                    .lock()
                    .map_err(|_| "lock")?
                    .created
                    .push((name.clone(), created.password));
                // Every third one is deleted again.
                if n % 3 == 0 {
                    backend.delete_app_password(&ctx, created.id).await?;
                    acknowledged.lock().map_err(|_| "lock")?.deleted.push(name);
                }
                n += 1;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    });

    // Checks through the server meanwhile (each records the use: writes of its own).
    let started = Instant::now();
    while acknowledged.lock().map_err(|_| "lock")?.created.len() < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the writer is stuck"
        );
        let first = acknowledged
            .lock()
            .map_err(|_| "lock")?
            .created
            .get(1)
            .cloned();
        if let Some((_, password)) = first {
            assert_eq!(
                server.get("/auth/basic", Some((USER, &password))).await?,
                204
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_backup = acknowledged.lock().map_err(|_| "lock")?.clone();
    let backups = tempfile::tempdir()?;
    let backup_file = backups.path().join("latchkey.db");
    let backup_path = backup_file.display().to_string();
    let backed_up = latchkey(live.path(), &["backup", &backup_path]).await?;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.await??;
    let in_the_end = acknowledged.lock().map_err(|_| "lock")?.clone();
    assert_eq!(backed_up.code, Some(0), "{}", backed_up.stderr);
    let after_backup = acknowledged.lock().map_err(|_| "lock")?.created.len();
    println!(
        "backup started after {} acknowledged creates; {after_backup} by the time it finished",
        before_backup.created.len()
    );
    assert!(
        backed_up.stdout.contains("latchkey.db.key"),
        "{}",
        backed_up.stdout
    );
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(backups.path().join("latchkey.db.key"))?.permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600, "the key copy is private");

    let again = latchkey(live.path(), &["backup", &backup_path]).await?;
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    // Restored into a new folder, and served from there.
    let restored = tempfile::tempdir()?;
    let restore = latchkey(restored.path(), &["restore", &backup_path]).await?;
    assert_eq!(restore.code, Some(0), "{}", restore.stderr);
    assert!(
        restore.stdout.contains("restored 2 people"),
        "{}",
        restore.stdout
    );
    let again = latchkey(restored.path(), &["restore", &backup_path]).await?;
    assert_eq!(again.code, Some(1), "never over an existing database");
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    drop(server);
    let server = Server::start(restored.path()).await?;
    for (name, password) in &before_backup.created {
        let answer = server.get("/auth/basic", Some((USER, password))).await?;
        if before_backup.deleted.contains(name) {
            assert_eq!(
                answer, 401,
                "{name}, deleted before the backup, in the restored copy"
            );
        } else if in_the_end.deleted.contains(name) {
            // Deleted while the backup ran: either side of its moment is right.
            assert!(matches!(answer, 204 | 401), "{name}: {answer}");
        } else {
            assert_eq!(answer, 204, "{name}, never deleted, in the restored copy");
        }
    }
    assert_eq!(
        server
            .get("/auth/basic", Some((USER, support::PASSWORD)))
            .await?,
        401,
        "the account password still does not open mail"
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_restore_and_at_start() -> TestResult {
    let live = tempfile::tempdir()?;
    let ready = latchkey(live.path(), &["migrate"]).await?;
    assert_eq!(ready.code, Some(0), "{}", ready.stderr);
    // The first start records the key's check value.
    drop(Server::start(live.path()).await?);
    let backup_file = live.path().join("backup.db");
    let backup_path = backup_file.display().to_string();
    let backed_up = latchkey(live.path(), &["backup", &backup_path]).await?;
    assert_eq!(backed_up.code, Some(0), "{}", backed_up.stderr);

    // Another key, given to restore.
    let other = tempfile::tempdir()?;
    let other_key = other.path().join("other.key");
    SecretKey::load_or_create(&other_key, &mut server::domain::random::OsRandom)?;
    let restored = tempfile::tempdir()?;
    let refused = latchkey(
        restored.path(),
        &[
            "restore",
            &backup_path,
            "--key",
            &other_key.display().to_string(),
        ],
    )
    .await?;
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("is not the key"),
        "{}",
        refused.stderr
    );
    assert!(
        !restored.path().join("data/latchkey.db").exists(),
        "nothing is left half restored"
    );

    // The right key restores; then the server refuses to start with another key file.
    let restore = latchkey(restored.path(), &["restore", &backup_path]).await?;
    assert_eq!(restore.code, Some(0), "{}", restore.stderr);
    std::fs::copy(&other_key, restored.path().join("data/secret.key"))?;
    let start = latchkey(restored.path(), &["serve", "--addr", "127.0.0.1:0"]).await?;
    assert_eq!(start.code, Some(1));
    assert!(
        start.stderr.contains("is not the key of this database"),
        "{}",
        start.stderr
    );

    // Backups are for SQLite; PostgreSQL has pg_dump.
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(["backup", "x.db"])
        .env("LATCHKEY_DATABASE_URL", "postgres://nobody@127.0.0.1/none");
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
    Ok(())
}

/// The permission bits of `path`.
fn mode_of(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

#[tokio::test]
async fn backups_and_restored_databases_are_private_whatever_the_umask() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let live = tempfile::tempdir()?;
    let ready = latchkey(live.path(), &["migrate"]).await?;
    assert_eq!(ready.code, Some(0), "{}", ready.stderr);
    // The first start makes the key and records its check value.
    drop(Server::start(live.path()).await?);

    let backups = tempfile::tempdir()?;
    let backup_file = backups.path().join("latchkey.db");
    let backup_path = backup_file.display().to_string();
    let backed_up = latchkey_under_open_umask(live.path(), &["backup", &backup_path]).await?;
    assert_eq!(backed_up.code, Some(0), "{}", backed_up.stderr);
    assert_eq!(
        mode_of(&backup_file)?,
        0o600,
        "the database copy (password hashes, the audit log) is private"
    );
    assert_eq!(
        mode_of(&backups.path().join("latchkey.db.key"))?,
        0o600,
        "the key copy is private"
    );

    // A copy that lost its mode on the way (another disk, an archive) is restored private.
    std::fs::set_permissions(&backup_file, std::fs::Permissions::from_mode(0o644))?;
    let restored = tempfile::tempdir()?;
    let restore = latchkey_under_open_umask(restored.path(), &["restore", &backup_path]).await?;
    assert_eq!(restore.code, Some(0), "{}", restore.stderr);
    assert_eq!(
        mode_of(&restored.path().join("data/latchkey.db"))?,
        0o600,
        "the restored database is private"
    );
    assert_eq!(mode_of(&restored.path().join("data/secret.key"))?, 0o600);
    Ok(())
}
