//! The database half of `/healthz`: is the file the server opened still the one at its path, can
//! the writer connection read, and can it commit a write. SQLite keeps working on a deleted file
//! (the open descriptors keep the inode alive), so "a query answers" alone would report healthy
//! while every commit goes to a file nobody will ever open again; and a read succeeds while the
//! disk refuses writes. Both are checked here, with reasons a person can act on.
//!
//! Leaves out: the time limit and the HTTP answer (`http/mod.rs`).

use std::path::{Path, PathBuf};

use kefu_core::ids::Timestamp;
use rusqlite::{Connection, params};

use super::StorageError;

/// The database file as opened: its path and, on unix, its device and inode.
#[derive(Debug)]
pub(super) struct DbFile {
    path: PathBuf,
    #[cfg(unix)]
    identity: (u64, u64),
}

impl DbFile {
    /// Records the identity of the file at `path` (call right after opening it).
    pub(super) fn new(path: &Path) -> Result<Self, StorageError> {
        let metadata =
            std::fs::metadata(path).map_err(|source| StorageError::Io { path: path.display().to_string(), source })?;
        #[cfg(not(unix))]
        let _ = metadata;
        Ok(DbFile {
            path: path.to_path_buf(),
            #[cfg(unix)]
            identity: identity(&metadata),
        })
    }

    /// Fails when the file was deleted, moved away or replaced since it was opened.
    pub(super) fn check(&self) -> Result<(), StorageError> {
        let metadata = match std::fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(StorageError::Unavailable(
                    "the database file was deleted or moved while the server runs; restore it and restart".into(),
                ));
            }
            Err(err) => return Err(StorageError::Unavailable(format!("cannot check the database file: {err}"))),
        };
        #[cfg(unix)]
        if identity(&metadata) != self.identity {
            return Err(StorageError::Unavailable(
                "the database file was replaced by another file while the server runs; restart to open it".into(),
            ));
        }
        #[cfg(not(unix))]
        let _ = metadata;
        Ok(())
    }
}

#[cfg(unix)]
fn identity(metadata: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino())
}

/// A read and a committed write on `conn` (the writer, so the check covers the connection rounds
/// use). The write is one small row in `meta`, so probes cost one WAL append each.
pub(super) fn probe(conn: &Connection, now: Timestamp) -> Result<(), StorageError> {
    let unavailable = |what: &str, err: rusqlite::Error| StorageError::Unavailable(format!("{what}: {err}"));
    conn.query_row("SELECT COUNT(*) FROM teams", [], |row| row.get::<_, i64>(0))
        .map_err(|err| unavailable("the database cannot be read", err))?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('health_checked_at', ?1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![now.0.to_string()],
    )
    .map_err(|err| unavailable("the database cannot be written", err))?;
    Ok(())
}
