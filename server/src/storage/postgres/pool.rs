//! A small pool of PostgreSQL connections, each with the statements prepared on it.
//!
//! Connections open on demand up to a cap and are reused; one that the server or the network
//! closed is dropped when it comes back, and the next caller opens a fresh one, so a restarted
//! PostgreSQL costs the rounds in flight, not the process. Callers that find every connection busy
//! wait, up to a bound, then get `Unavailable` naming the cap.
//!
//! Each `postgres::Client` owns a small tokio runtime of its own, which must not be dropped on a
//! thread of the server's runtime: connections are dropped on a plain thread (see `Drop`).
//!
//! Leaves out: what runs on a connection (`mod.rs`, `round.rs`).

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use postgres::{Client, NoTls, Statement};

use crate::storage::StorageError;

/// How long a statement waits for a lock another transaction holds.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a caller waits for a free connection before giving up.
const CHECKOUT_WAIT: Duration = Duration::from_secs(30);

/// A connection and the statements prepared on it (statements belong to their connection).
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) statements: HashMap<&'static str, Statement>,
}

/// The pool.
pub(super) struct Pool {
    config: postgres::Config,
    /// Where the database is, without the password: for messages.
    pub(super) describe: String,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Conn>,
    open: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("db", &self.describe).field("max", &self.max).finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool of at most `max` connections to `config`; opens none yet.
    pub(super) fn new(config: postgres::Config, describe: String, max: usize) -> Self {
        Pool { config, describe, max, state: Mutex::new(State { idle: Vec::new(), open: 0 }), freed: Condvar::new() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a connection outside the pool (the listener's, and the first one's).
    ///
    /// A statement waits at most [`LOCK_TIMEOUT`] for a lock, as SQLite's busy timeout bounds its
    /// writer: a stuck client holding a team's lock fails rounds with an error, instead of piling
    /// them up behind it.
    pub(super) fn connect(&self) -> Result<Client, StorageError> {
        let unavailable = |err: postgres::Error| {
            StorageError::Unavailable(format!("cannot connect to PostgreSQL at {}: {}", self.describe, reason(&err)))
        };
        let mut client = self.config.connect(NoTls).map_err(unavailable)?;
        client.batch_execute(&format!("SET lock_timeout = {}", LOCK_TIMEOUT.as_millis())).map_err(unavailable)?;
        Ok(client)
    }

    /// A connection: an idle one, a new one while under the cap, or the next one freed.
    pub(super) fn get(&self) -> Result<Pooled<'_>, StorageError> {
        let mut state = self.state();
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open -= 1;
                    drop_off_runtime(vec![conn]);
                    continue;
                }
                return Ok(Pooled { pool: self, conn: Some(conn) });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(client) => Ok(Pooled { pool: self, conn: Some(Conn { client, statements: HashMap::new() }) }),
                    Err(err) => {
                        self.state().open -= 1;
                        self.freed.notify_one();
                        Err(err)
                    }
                };
            }
            let (next, waited) = self.freed.wait_timeout(state, CHECKOUT_WAIT).unwrap_or_else(PoisonError::into_inner);
            state = next;
            if waited.timed_out() && state.idle.is_empty() && state.open >= self.max {
                return Err(StorageError::Unavailable(format!(
                    "all {} connections to PostgreSQL at {} stayed busy for {} s",
                    self.max,
                    self.describe,
                    CHECKOUT_WAIT.as_secs()
                )));
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        drop_off_runtime(std::mem::take(&mut self.state().idle));
    }
}

/// Drops connections on a thread of their own: each owns a tokio runtime, and dropping a runtime
/// on a thread of another (the server's, at shutdown) panics.
fn drop_off_runtime(conns: Vec<Conn>) {
    if conns.is_empty() {
        return;
    }
    let dropper = std::thread::spawn(move || drop(conns));
    let _ = dropper.join();
}

/// The database's own words for a failure when it gave some, else the client's.
pub(super) fn reason(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => err.to_string(),
    }
}

/// A checked-out connection; returned to the pool on drop, or forgotten if it was closed.
pub(super) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let mut state = self.pool.state();
        if conn.client.is_closed() {
            state.open -= 1;
            drop(state);
            drop_off_runtime(vec![conn]);
        } else {
            state.idle.push(conn);
            drop(state);
        }
        self.pool.freed.notify_one();
    }
}
