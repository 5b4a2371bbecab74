//! `latchkey backup` and `latchkey restore`: a consistent copy of the SQLite database, taken
//! while the server runs, with the secret key it needs beside it; and both put back into an
//! empty place, checked before they appear there.
//!
//! A backup is two files: `FILE` (the database) and `FILE.key` (the secret key), both mode
//! 0600 whatever the umask: the database holds password hashes and the audit log. A restored
//! database is 0600 too, whatever the mode of the copy it came from.
//! Without the key, the app passwords and authenticator apps in the database cannot be
//! checked; the database records a check value of its key (`key_checks`), so a wrong pair is
//! refused here and at start-up instead of failing every sign-in.

use std::fs;
use std::path::{Path, PathBuf};

use crate::db::{self, ConnectError, Store, StoreError};
use crate::domain::counted;
use crate::secret_key::{SecretKey, SecretKeyError, short_key_id};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy of the database (must not exist). The key goes to FILE.key.
    pub file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The database copy made by `latchkey backup`.
    pub file: PathBuf,
    /// Its secret key file [default: FILE.key].
    #[arg(long)]
    pub key: Option<PathBuf>,
}

/// Why a backup or restore did not happen; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backup and restore work on SQLite databases; for PostgreSQL use pg_dump and pg_restore (see the README), and keep the secret key file with the dump"
    )]
    NotSqlite,
    #[error("there is no database at {0}: check --database-url")]
    NoDatabase(PathBuf),
    #[error("{0} already exists: a backup never overwrites a file; choose a new name")]
    BackupExists(PathBuf),
    #[error(
        "a database already exists at {0}: restore into an empty place (stop Latchkey and move the old files away first)"
    )]
    TargetExists(PathBuf),
    #[error("there is no backup at {0}")]
    NoBackup(PathBuf),
    #[error("{path} is not a usable Latchkey backup: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "the key file {key} is not the key of the database {database} (key {given}, the database expects {expected}): use the key file that belongs with it"
    )]
    KeyMismatch {
        key: PathBuf,
        database: PathBuf,
        given: String,
        expected: String,
    },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] SecretKeyError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the database and its secret key are, as configured (`--database-url`,
/// `--secret-key-file`).
#[derive(Debug, Clone, Copy)]
pub struct DatabaseFiles<'a> {
    pub database_url: &'a str,
    pub secret_key_file: &'a std::path::Path,
}

/// The SQLite file of the configured database, or why there is none.
fn sqlite_file(files: &DatabaseFiles<'_>) -> Result<PathBuf, BackupError> {
    match db::Backend::of_url(files.database_url) {
        Some(db::Backend::Sqlite) => Ok(PathBuf::from(db::sqlite_path(files.database_url))),
        _ => Err(BackupError::NotSqlite),
    }
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::File {
        path: path.to_owned(),
        source,
    }
}

/// `FILE.key`: where a backup keeps its key.
pub fn key_file_of(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Refuses `key` for a database whose recorded key check is `recorded`.
fn ensure_key_matches(
    key: &SecretKey,
    key_path: &Path,
    recorded: Option<String>,
    database: &Path,
) -> Result<(), BackupError> {
    match recorded {
        Some(expected) if expected != key.check_value() => Err(BackupError::KeyMismatch {
            key: key_path.to_owned(),
            database: database.to_owned(),
            given: key.id(),
            expected: short_key_id(&expected),
        }),
        _ => Ok(()),
    }
}

/// Copies the running database to `args.file` and its key to `args.file`.key.
pub async fn backup(files: &DatabaseFiles<'_>, args: &BackupArgs) -> Result<String, BackupError> {
    let source = sqlite_file(files)?;
    if !source.exists() {
        return Err(BackupError::NoDatabase(source));
    }
    let target = &args.file;
    let target_key = key_file_of(target);
    for path in [target, &target_key] {
        if path.exists() {
            return Err(BackupError::BackupExists(path.clone()));
        }
    }
    let key = SecretKey::load(files.secret_key_file)?;
    let store = Store::new(db::connect(files.database_url).await?);
    ensure_key_matches(
        &key,
        files.secret_key_file,
        store.key_check().await.ok().flatten(),
        &source,
    )?;

    // Written under a temporary name and renamed once complete and on disk, so an interrupted
    // backup never looks like a finished one.
    let partial = with_suffix(target, ".partial");
    if partial.exists() {
        fs::remove_file(&partial).map_err(file_error(&partial))?;
    }
    // SQLite fills an empty file and keeps its mode; one it created would follow the umask.
    create_private(&partial)?;
    store.copy_sqlite_to(&partial).await?;
    store.close().await?;
    sync(&partial)?;
    key.write_new(&target_key)?;
    fs::rename(&partial, target).map_err(file_error(target))?;
    sync_parent(target)?;

    let size = fs::metadata(target).map_err(file_error(target))?.len();
    Ok(format!(
        "backed up {} to {} ({size} bytes) with its secret key in {} (key {}).\n\
         Keep both, and keep the key as private as the live one. Restore with: latchkey restore {}",
        source.display(),
        target.display(),
        target_key.display(),
        key.id(),
        target.display(),
    ))
}

/// Puts a backup and its key where the configuration says, after checking them.
pub async fn restore(files: &DatabaseFiles<'_>, args: &RestoreArgs) -> Result<String, BackupError> {
    let target = sqlite_file(files)?;
    for path in [target.clone(), with_suffix(&target, "-wal")] {
        if path.exists() {
            return Err(BackupError::TargetExists(path));
        }
    }
    if !args.file.is_file() {
        return Err(BackupError::NoBackup(args.file.clone()));
    }
    let key_path = args.key.clone().unwrap_or_else(|| key_file_of(&args.file));
    let key = SecretKey::load(&key_path)?;
    let live_key = files
        .secret_key_file
        .exists()
        .then(|| SecretKey::load(files.secret_key_file));
    if let Some(live_key) = live_key {
        let live_key = live_key?;
        if live_key.check_value() != key.check_value() {
            return Err(BackupError::KeyMismatch {
                key: files.secret_key_file.to_path_buf(),
                database: args.file.clone(),
                given: live_key.id(),
                expected: key.id(),
            });
        }
    }

    // Checked under a temporary name beside the target, then renamed into place.
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(file_error(dir))?;
    }
    let staging = with_suffix(&target, ".restoring");
    remove_sqlite_files(&staging)?;
    copy_private(&args.file, &staging)?;
    let checked = check_restored(&staging, &args.file, &key, &key_path).await;
    let contents = match checked {
        Ok(contents) => contents,
        Err(error) => {
            remove_sqlite_files(&staging)?;
            return Err(error);
        }
    };
    sync(&staging)?;
    if !files.secret_key_file.exists() {
        key.write_new(files.secret_key_file)?;
    }
    fs::rename(&staging, &target).map_err(file_error(&target))?;
    sync_parent(&target)?;
    Ok(format!(
        "restored {} and {} into {} with the key {} in {}.\n\
         Start Latchkey with the same --database-url and --secret-key-file.",
        counted(contents.people, "person", "people"),
        counted(contents.app_passwords, "app password", "app passwords"),
        target.display(),
        key.id(),
        files.secret_key_file.display(),
    ))
}

/// Opens the copy at `staging` (bringing its schema up to date), checks its integrity and its
/// key, records the key check if the backup had none, and says what it holds. The database is
/// closed again (its WAL folded back in) before this returns.
async fn check_restored(
    staging: &Path,
    backup: &Path,
    key: &SecretKey,
    key_path: &Path,
) -> Result<db::Contents, BackupError> {
    let damaged = |reason: String| BackupError::Damaged {
        path: backup.to_owned(),
        reason,
    };
    let url = format!("sqlite://{}", staging.display());
    let connection = db::connect_and_migrate(&url)
        .await
        .map_err(|error| damaged(error.to_string()))?;
    let store = Store::new(connection);
    store.check_sqlite_integrity().await?.map_err(damaged)?;
    ensure_key_matches(key, key_path, store.key_check().await?, backup)?;
    store.record_key_check(&key.check_value()).await?;
    let contents = store.contents().await?;
    store.close().await?;
    // SQLite folds the WAL back in and removes it when the last connection closes.
    for suffix in ["-wal", "-shm"] {
        let extra = with_suffix(staging, suffix);
        if extra.exists() {
            return Err(damaged(format!("{} was left behind", extra.display())));
        }
    }
    Ok(contents)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates the empty file `path` (it must not exist) for its owner alone (0600), whatever
/// the umask.
fn create_private(path: &Path) -> Result<fs::File, BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(file_error(path))
}

/// Copies `from` into the new private file `to` (`fs::copy` would give it `from`'s mode).
fn copy_private(from: &Path, to: &Path) -> Result<(), BackupError> {
    let mut source = fs::File::open(from).map_err(file_error(from))?;
    let mut target = create_private(to)?;
    std::io::copy(&mut source, &mut target).map_err(file_error(to))?;
    Ok(())
}

/// Removes an SQLite file with its WAL and shared-memory files, where they exist.
fn remove_sqlite_files(path: &Path) -> Result<(), BackupError> {
    for file in [
        path.to_owned(),
        with_suffix(path, "-wal"),
        with_suffix(path, "-shm"),
    ] {
        match fs::remove_file(&file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(file_error(&file)(error));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes what is written to the file (or folder) at `path` through to the disk.
fn sync(path: &Path) -> Result<(), BackupError> {
    fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(file_error(path))
}

/// Makes a rename in `path`'s folder durable.
fn sync_parent(path: &Path) -> Result<(), BackupError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => sync(dir),
        None => sync(Path::new(".")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_goes_beside_the_backup() {
        assert_eq!(
            key_file_of(Path::new("/backups/latchkey-2026-11-29.db")),
            PathBuf::from("/backups/latchkey-2026-11-29.db.key")
        );
    }
}
