//! An in-memory server for [`handle_push`]: the tests' and the fault simulation's
//! stand-in for the server's database, with the same transaction rule (a round that
//! fails leaves nothing behind) and whole-state snapshots to play a restore from an
//! older backup.
//!
//! It keeps what the SQLite schema keeps, per team: documents with their change
//! sequence, each sequence number's stamp, case-number counters, and per device the
//! store that last synced and the heads it confirmed. Stamps come from a seeded
//! generator, so a simulation replays exactly.

use std::collections::BTreeMap;

use automerge::ChangeHash;

use crate::ids::SplitMix64;

use super::server::{AcceptedDoc, DeviceStore, RoundContext, RoundError, StoredDoc, SyncStorage, handle_push};
use super::wire::{Push, Reply};

/// One team's share of the server's state.
#[derive(Clone, Debug, Default)]
struct Team {
    /// id → (bytes, sequence number)
    docs: BTreeMap<String, (Vec<u8>, u64)>,
    seq: u64,
    stamps: BTreeMap<u64, u64>,
    counters: BTreeMap<i32, u64>,
    /// server number → case id
    numbers: BTreeMap<String, String>,
}

/// Per device: its store and the heads it confirmed.
#[derive(Clone, Debug, Default)]
struct Device {
    store: Option<DeviceStore>,
    heads: BTreeMap<String, Vec<ChangeHash>>,
}

/// The whole server state. `Clone` is a backup; [`MemoryServer::restore`] puts one back.
#[derive(Clone, Debug, Default)]
pub struct MemoryServer {
    teams: BTreeMap<String, Team>,
    devices: BTreeMap<String, Device>,
    rng: SplitMix64,
}

impl MemoryServer {
    /// An empty server whose stamps follow `seed`.
    pub fn new(seed: u64) -> Self {
        MemoryServer { rng: SplitMix64(seed), ..MemoryServer::default() }
    }

    /// Runs one round for `device` of `team`; on error nothing of it is kept.
    pub fn round(&mut self, team: &str, device: &str, push: &Push, ctx: &RoundContext) -> Result<Reply, RoundError> {
        let mut staged = self.clone();
        let reply = {
            let mut round = Round { server: &mut staged, team: team.to_string(), device: device.to_string() };
            handle_push(push, ctx, &mut round)?
        };
        *self = staged;
        Ok(reply)
    }

    /// Puts the state of `backup` (an older clone) back, as restoring a database from a
    /// backup does. The stamp generator is not part of what is restored: a real server
    /// draws stamps at random, so numbers issued again get other stamps.
    pub fn restore(&mut self, backup: &MemoryServer) {
        let rng = self.rng;
        *self = backup.clone();
        self.rng = rng;
    }

    /// Stores a document the server wrote itself (a published roster) as a round stores what it
    /// accepted: with the team's next sequence number, so devices receive it in their rounds.
    pub fn store_server_doc(&mut self, team: &str, doc: &AcceptedDoc) -> Result<(), String> {
        let mut round = Round { server: self, team: team.to_string(), device: String::new() };
        round.commit(std::slice::from_ref(doc)).map(|_| ())
    }

    /// The heads the server believes `device` holds of `doc`, for a simulation's diagnosis.
    pub fn believed(&self, device: &str, doc: &str) -> Option<Vec<ChangeHash>> {
        self.devices.get(device).and_then(|state| state.heads.get(doc).cloned())
    }

    /// The team's documents: id → bytes.
    pub fn docs(&self, team: &str) -> BTreeMap<String, Vec<u8>> {
        self.teams
            .get(team)
            .map(|team| team.docs.iter().map(|(id, (bytes, _))| (id.clone(), bytes.clone())).collect())
            .unwrap_or_default()
    }

    fn next_stamp(&mut self) -> u64 {
        // Never 0: that is sequence 0's stamp.
        self.rng.next_u64() | 1
    }
}

/// One device's round, scoped to its team.
struct Round<'a> {
    server: &'a mut MemoryServer,
    team: String,
    device: String,
}

impl Round<'_> {
    fn team(&mut self) -> &mut Team {
        self.server.teams.entry(self.team.clone()).or_default()
    }

    fn device(&mut self) -> &mut Device {
        self.server.devices.entry(self.device.clone()).or_default()
    }
}

impl SyncStorage for Round<'_> {
    type Error = String;

    fn load(&mut self, id: &str) -> Result<Option<StoredDoc>, String> {
        if let Some((bytes, seq)) = self.team().docs.get(id) {
            return Ok(Some(StoredDoc { bytes: bytes.clone(), same_team: true, seq: *seq }));
        }
        let elsewhere = self.server.teams.iter().any(|(name, team)| *name != self.team && team.docs.contains_key(id));
        Ok(elsewhere.then(|| StoredDoc { bytes: Vec::new(), same_team: false, seq: 0 }))
    }

    fn next_case_serial(&mut self, year: i32) -> Result<u64, String> {
        let next = self.team().counters.entry(year).or_insert(1);
        *next += 1;
        Ok(*next - 1)
    }

    fn reserve_case_serial(&mut self, year: i32, serial: u64) -> Result<(), String> {
        let next = self.team().counters.entry(year).or_insert(1);
        *next = (*next).max(serial + 1);
        Ok(())
    }

    fn case_with_number(&mut self, number: &str) -> Result<Option<String>, String> {
        Ok(self.team().numbers.get(number).cloned())
    }

    fn commit(&mut self, docs: &[AcceptedDoc]) -> Result<Vec<u64>, String> {
        let mut seqs = Vec::with_capacity(docs.len());
        for doc in docs {
            if let Some(number) = doc.case.as_ref().and_then(|case| case.number.assigned.clone()) {
                self.team().numbers.insert(number, doc.id.clone());
            }
            let stamp = self.server.next_stamp();
            let team = self.team();
            team.seq += 1;
            let seq = team.seq;
            team.stamps.insert(seq, stamp);
            team.docs.insert(doc.id.clone(), (doc.bytes.clone(), seq));
            seqs.push(seq);
        }
        Ok(seqs)
    }

    fn changed_since(&mut self, cursor: u64, limit: usize) -> Result<Vec<(String, u64)>, String> {
        let mut changed: Vec<(String, u64)> = self
            .team()
            .docs
            .iter()
            .filter(|(_, (_, seq))| *seq > cursor)
            .map(|(id, (_, seq))| (id.clone(), *seq))
            .collect();
        changed.sort_by_key(|(_, seq)| *seq);
        changed.truncate(limit);
        Ok(changed)
    }

    fn stamp(&mut self, seq: u64) -> Result<Option<u64>, String> {
        Ok(self.team().stamps.get(&seq).copied())
    }

    fn device_store(&mut self) -> Result<Option<DeviceStore>, String> {
        Ok(self.device().store)
    }

    fn set_device_store(&mut self, store: DeviceStore, forget_heads: bool) -> Result<(), String> {
        let device = self.device();
        device.store = Some(store);
        if forget_heads {
            device.heads.clear();
        }
        Ok(())
    }

    fn device_heads(&mut self, id: &str) -> Result<Option<Vec<ChangeHash>>, String> {
        Ok(self.device().heads.get(id).cloned())
    }

    fn set_device_heads(&mut self, heads: &[(String, Vec<ChangeHash>)]) -> Result<(), String> {
        let device = self.device();
        for (id, doc_heads) in heads {
            device.heads.insert(id.clone(), doc_heads.clone());
        }
        Ok(())
    }
}
