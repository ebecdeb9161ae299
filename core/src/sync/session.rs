//! What a live session has delivered, for the rounds that follow on the same connection.
//!
//! The server records only heads a device confirmed (see [`super::server`]). Within one
//! WebSocket session, though, replies arrive in order and the device applies each before
//! the next, or the session ends: an update the device could not apply comes back as a
//! `have` report on its next push. So for the session's lifetime the server may assume the
//! device holds what it was sent, and a fan-out to a watching phone carries only what is
//! new since the last one, with no write to the database. The assumption dies with the
//! session; the next one starts from the confirmed heads.

use std::collections::BTreeMap;

use automerge::ChangeHash;

use super::server::{AcceptedDoc, DeviceStore, StoredDoc, SyncStorage};
use super::wire::Reply;

/// Heads sent over one live session, per document.
#[derive(Clone, Debug, Default)]
pub struct SessionHeads {
    sent: BTreeMap<String, Vec<ChangeHash>>,
}

impl SessionHeads {
    /// Notes what a reply delivered on this session.
    pub fn record(&mut self, reply: &Reply) {
        if reply.resync {
            self.sent.clear();
        }
        for update in &reply.updates {
            self.sent.insert(update.id.clone(), update.heads.clone());
        }
        for ack in &reply.acks {
            self.sent.insert(ack.id.clone(), ack.heads.clone());
        }
    }

    /// `storage` seen through what this session delivered.
    pub fn over<'a, S: SyncStorage>(&'a mut self, storage: &'a mut S) -> WithSession<'a, S> {
        WithSession { storage, session: self }
    }
}

/// A round's storage with the session's deliveries laid over the confirmed heads.
pub struct WithSession<'a, S> {
    storage: &'a mut S,
    session: &'a mut SessionHeads,
}

impl<S: SyncStorage> SyncStorage for WithSession<'_, S> {
    type Error = S::Error;

    fn load(&mut self, id: &str) -> Result<Option<StoredDoc>, S::Error> {
        self.storage.load(id)
    }

    fn next_case_serial(&mut self, year: i32) -> Result<u64, S::Error> {
        self.storage.next_case_serial(year)
    }

    fn reserve_case_serial(&mut self, year: i32, serial: u64) -> Result<(), S::Error> {
        self.storage.reserve_case_serial(year, serial)
    }

    fn case_with_number(&mut self, number: &str) -> Result<Option<String>, S::Error> {
        self.storage.case_with_number(number)
    }

    fn commit(&mut self, docs: &[AcceptedDoc]) -> Result<Vec<u64>, S::Error> {
        self.storage.commit(docs)
    }

    fn changed_since(&mut self, cursor: u64, limit: usize) -> Result<Vec<(String, u64)>, S::Error> {
        self.storage.changed_since(cursor, limit)
    }

    fn stamp(&mut self, seq: u64) -> Result<Option<u64>, S::Error> {
        self.storage.stamp(seq)
    }

    fn device_store(&mut self) -> Result<Option<DeviceStore>, S::Error> {
        self.storage.device_store()
    }

    // The session changes only after storage took the write: a round that could not write
    // (a read round that must run again as a write, a failing database) leaves it as it was.
    fn set_device_store(&mut self, store: DeviceStore, forget_heads: bool) -> Result<(), S::Error> {
        self.storage.set_device_store(store, forget_heads)?;
        if forget_heads {
            self.session.sent.clear();
        }
        Ok(())
    }

    fn device_heads(&mut self, id: &str) -> Result<Option<Vec<ChangeHash>>, S::Error> {
        match self.session.sent.get(id) {
            Some(heads) => Ok(Some(heads.clone())),
            None => self.storage.device_heads(id),
        }
    }

    fn set_device_heads(&mut self, heads: &[(String, Vec<ChangeHash>)]) -> Result<(), S::Error> {
        self.storage.set_device_heads(heads)?;
        // What the device says outranks what was sent: it may not have applied it.
        for (id, _) in heads {
            self.session.sent.remove(id);
        }
        Ok(())
    }
}
