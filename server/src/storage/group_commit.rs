//! Group commit for the SQLite writer: rounds that store something share one transaction and
//! one fsync, and each is still answered only after that shared commit.
//!
//! Leader and followers, with no thread of its own: a round that must write queues its job,
//! then takes the writer. Whoever holds the writer takes every job queued at that moment
//! (its own, if no earlier leader took it) and runs them in one `BEGIN IMMEDIATE`
//! transaction, each inside a savepoint so a refused or failing round rolls back alone;
//! then it commits once and hands every round its result. While one batch's fsync runs, the
//! next rounds queue up, so the batch grows with the load and a lone round waits for
//! nobody: there is no timer, and no deliberate wait.
//!
//! Leaves out: the rules of a round (`kefu_core::sync::server::handle_push`) and the SQL of
//! its reads and writes (`RoundTx` in `sqlite.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Mutex, PoisonError};

use kefu_core::ids::DeviceId;
use kefu_core::sync::Push;
use kefu_core::sync::server::{RoundContext, RoundError};
use kefu_core::sync::session::SessionHeads;
use rusqlite::{Connection, TransactionBehavior};

use super::RoundOutcome;

/// What a round's caller gets back: the outcome, and the session's heads (moved into the job,
/// updated with the reply once committed).
pub(super) type JobResult = (Result<RoundOutcome, RoundError>, SessionHeads);

/// One write round waiting for a leader.
pub(super) struct Job {
    pub(super) team_id: i64,
    pub(super) device: DeviceId,
    pub(super) push: Push,
    pub(super) ctx: RoundContext,
    pub(super) session: SessionHeads,
    done: SyncSender<JobResult>,
}

impl Job {
    /// A job and the receiver its result arrives on.
    pub(super) fn new(
        team_id: i64,
        device: DeviceId,
        push: Push,
        ctx: RoundContext,
        session: SessionHeads,
    ) -> (Job, Receiver<JobResult>) {
        let (done, receiver) = sync_channel(1);
        (Job { team_id, device, push, ctx, session, done }, receiver)
    }
}

/// Rounds queued for the next leader.
#[derive(Debug, Default)]
pub(super) struct Queue {
    jobs: Mutex<Vec<Job>>,
    /// Batches taken so far (each one transaction and one commit).
    batches: AtomicU64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("team_id", &self.team_id).field("device", &self.device).finish_non_exhaustive()
    }
}

impl Queue {
    /// Queues a round.
    pub(super) fn push(&self, job: Job) {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner).push(job);
    }

    /// Every round queued now: the next batch.
    pub(super) fn take(&self) -> Vec<Job> {
        let jobs = std::mem::take(&mut *self.jobs.lock().unwrap_or_else(PoisonError::into_inner));
        if !jobs.is_empty() {
            self.batches.fetch_add(1, Ordering::Relaxed);
        }
        jobs
    }

    /// Rounds waiting now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Batches taken so far.
    #[cfg(test)]
    pub(super) fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

/// Runs `jobs` as one batch on the writer `conn`: one transaction, a savepoint per round, one
/// commit; then answers every round. A round that failed was rolled back to its savepoint and
/// gets its error; if the commit itself fails, no round is acknowledged.
///
/// `run` is one round: the caller's `handle_push` over its view of the database, on a
/// savepoint of the batch's transaction. A panic in it (a crafted document meeting a bug in a
/// library) fails that round alone.
pub(super) fn run_batch(
    conn: &mut Connection,
    jobs: Vec<Job>,
    run: impl Fn(&Connection, &mut Job) -> Result<RoundOutcome, RoundError>,
) {
    let storage_error = |err: rusqlite::Error| RoundError::Storage(super::StorageError::from(err).to_string());
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(err) => {
            let err = storage_error(err);
            for job in jobs {
                let _caller_gone = job.done.send((Err(clone_error(&err)), job.session));
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(jobs.len());
    for mut job in jobs {
        let result = match tx.savepoint() {
            Ok(mut savepoint) => {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&savepoint, &mut job)))
                    .unwrap_or_else(|_| Err(RoundError::Storage("the round panicked; it was rolled back".into())));
                if result.is_err() {
                    // The round's partial writes go; the batch's other rounds stay.
                    if let Err(err) = savepoint.rollback() {
                        tracing::error!(%err, "cannot roll a failed round back to its savepoint");
                    }
                }
                // Dropping a savepoint releases it (after a rollback, as an empty one).
                match savepoint.commit() {
                    Ok(()) => result,
                    Err(err) => Err(storage_error(err)),
                }
            }
            Err(err) => Err(storage_error(err)),
        };
        results.push((job, result));
    }
    // DESIGN.md decision 6: no reply leaves before this commit, which fsyncs the WAL.
    let committed = tx.commit().map_err(storage_error);
    for (mut job, result) in results {
        let result = match (&committed, result) {
            (Ok(()), Ok(outcome)) => {
                job.session.record(&outcome.reply);
                Ok(outcome)
            }
            (Err(err), Ok(_)) => Err(clone_error(err)),
            (_, Err(err)) => Err(err),
        };
        let _caller_gone = job.done.send((result, job.session));
    }
}

/// The same error for every round of a batch that failed as a whole.
fn clone_error(err: &RoundError) -> RoundError {
    match err {
        RoundError::Storage(message) => RoundError::Storage(message.clone()),
        RoundError::Refused(refusal) => RoundError::Refused(refusal.clone()),
    }
}

#[cfg(test)]
mod tests {
    use kefu_core::sync::Reply;

    use super::*;

    fn job(team_id: i64) -> (Job, Receiver<JobResult>) {
        let device = DeviceId::random();
        let ctx = RoundContext {
            server_device: DeviceId::random(),
            server_nonce: [0; 8],
            seal_key: [0; 32],
            device,
            staff: None,
            supervises: false,
            now: kefu_core::ids::Timestamp(0),
            utc_offset_minutes: 0,
            max_docs: 1,
            max_updates: 1,
            fan_out: false,
        };
        Job::new(team_id, device, Push::default(), ctx, SessionHeads::default())
    }

    #[test]
    fn a_failing_or_panicking_round_rolls_back_alone_and_the_batch_commits_once() {
        let mut conn = Connection::open_in_memory().expect("database");
        conn.execute_batch("CREATE TABLE written (team INTEGER)").expect("table");
        let (jobs, results): (Vec<_>, Vec<_>) = [1, 2, 3, 4].map(job).into_iter().unzip();
        run_batch(&mut conn, jobs, |conn, job| {
            conn.execute("INSERT INTO written VALUES (?1)", [job.team_id])
                .map_err(|err| RoundError::Storage(err.to_string()))?;
            match job.team_id {
                2 => Err(RoundError::Storage("refused after writing".into())),
                3 => panic!("a library bug on crafted input"),
                _ => Ok(RoundOutcome {
                    reply: Reply { round: job.team_id as u64, ..Reply::default() },
                    stored_any: true,
                }),
            }
        });
        let answers: Vec<Result<u64, String>> = results
            .iter()
            .map(|receiver| {
                let (result, _session) = receiver.recv().expect("every round is answered");
                result.map(|outcome| outcome.reply.round).map_err(|err| err.to_string())
            })
            .collect();
        assert_eq!(answers[0], Ok(1));
        assert_eq!(answers[1], Err("storage failed: refused after writing".into()));
        assert_eq!(answers[2], Err("storage failed: the round panicked; it was rolled back".into()));
        assert_eq!(answers[3], Ok(4));
        let kept: Vec<i64> = conn
            .prepare("SELECT team FROM written ORDER BY team")
            .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
            .expect("rows");
        assert_eq!(kept, vec![1, 4], "the failed rounds' writes are gone, the others' committed");
        assert!(conn.is_autocommit(), "the batch's transaction is committed, not left open");
    }

    #[test]
    fn when_the_transaction_cannot_start_every_round_gets_the_error() {
        let mut conn = Connection::open_in_memory().expect("database");
        conn.execute_batch("BEGIN").expect("a transaction already open");
        let (job, result) = job(1);
        run_batch(&mut conn, vec![job], |_, _| unreachable!("no round runs without its transaction"));
        let (result, _) = result.recv().expect("answered");
        assert!(result.unwrap_err().to_string().contains("within a transaction"));
    }
}
