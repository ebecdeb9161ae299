//! Hearing other processes' commits: a thread with its own connection that `LISTEN`s on
//! `kefu_changes` and calls back with the team of each notification another process sent.
//!
//! A notification can be lost only while this connection is down. So after every (re)connect the
//! callback hears "any team may have changed" (`None`), and the live sessions pull once: a pull
//! that finds nothing costs a read round, a missed change would cost convergence.
//!
//! Leaves out: sending notifications (in the round's transaction, `mod.rs`) and what sessions do
//! when told (`sessions.rs`, `sync_driver.rs`).

use std::sync::{Arc, Weak};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::pool::Pool;
use super::{CHANNEL, StorageError};

/// Longest wait between reconnect attempts while the database is away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How often the thread checks that the storage still exists, so it ends with it.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Starts the listener thread. It holds the pool weakly and ends once the storage is dropped.
pub(super) fn spawn(
    pool: Arc<Pool>,
    process: u64,
    changed: Arc<dyn Fn(Option<i64>) + Send + Sync>,
) -> Result<(), StorageError> {
    let pool = Arc::downgrade(&pool);
    std::thread::Builder::new()
        .name("kefu-pg-listen".into())
        .spawn(move || run(&pool, process, changed.as_ref()))
        .map_err(|err| StorageError::Unavailable(format!("cannot start the PostgreSQL listener: {err}")))?;
    Ok(())
}

fn run(pool: &Weak<Pool>, process: u64, changed: &(dyn Fn(Option<i64>) + Send + Sync)) {
    let mut backoff = Duration::from_millis(100);
    while let Some(strong) = pool.upgrade() {
        let client = strong.connect().and_then(|mut client| {
            client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
            Ok(client)
        });
        drop(strong);
        match client {
            Ok(mut client) => {
                backoff = Duration::from_millis(100);
                changed(None);
                if let Err(err) = listen(&mut client, pool, process, changed) {
                    tracing::warn!(%err, "lost the PostgreSQL notification connection; reconnecting");
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for other processes' changes; retrying");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Relays notifications until the connection fails (`Err`) or the storage is gone (`Ok`).
fn listen(
    client: &mut postgres::Client,
    pool: &Weak<Pool>,
    process: u64,
    changed: &(dyn Fn(Option<i64>) + Send + Sync),
) -> Result<(), postgres::Error> {
    loop {
        if pool.strong_count() == 0 {
            return Ok(());
        }
        {
            let mut notifications = client.notifications();
            let mut batch = notifications.timeout_iter(CHECK_EVERY);
            while let Some(notification) = batch.next()? {
                match parse(notification.payload()) {
                    Some((_, from)) if from == process => {}
                    Some((team, _)) => changed(Some(team)),
                    None => {
                        tracing::warn!(payload = notification.payload(), "ignoring a malformed change notification")
                    }
                }
            }
        }
        // A closed connection shows no error from an empty wait: ask it.
        if client.is_closed() {
            client.simple_query("SELECT 1")?;
        }
    }
}

/// `<team id> <process>`.
fn parse(payload: &str) -> Option<(i64, u64)> {
    let (team, process) = payload.split_once(' ')?;
    Some((team.parse().ok()?, process.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_payload_names_a_team_and_a_process_or_is_ignored() {
        assert_eq!(super::parse("12 99"), Some((12, 99)));
        assert_eq!(super::parse("12"), None);
        assert_eq!(super::parse("x 99"), None);
    }
}
