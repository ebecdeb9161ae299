//! The registry of live WebSocket sync sessions: per device, a cancellation token for each open
//! session (so revoking a token cuts its sockets at once, and the connections-per-token limit can
//! be counted), and per team, a broadcast of "documents changed" so other sessions of the team
//! pull and forward the changes (fan-out).
//!
//! In-process only, and only a cache of who is connected here: a second server process would
//! learn of changes through PostgreSQL LISTEN/NOTIFY instead (DESIGN.md decision 8).
//!
//! Leaves out: what a session does when told (`sync_driver.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kefu_core::ids::DeviceId;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// A change notice: which session's round stored documents (so it does not notify itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TeamChanged {
    /// The session whose round stored them; `None` for the HTTP transport.
    pub origin: Option<u64>,
}

/// Live sessions, shared by every connection of the server.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_conn_id: u64,
    by_device: HashMap<DeviceId, Vec<(u64, CancellationToken)>>,
    teams: HashMap<i64, broadcast::Sender<TeamChanged>>,
}

/// Refused registration: the device already has this many sessions.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("this device already has {0} open sync connections, the most allowed")]
pub struct TooManyConnections(pub usize);

/// One registered session; dropping it unregisters.
#[derive(Debug)]
pub struct SessionHandle {
    sessions: Arc<Sessions>,
    device: DeviceId,
    /// Connection id, unique in this process (log field `conn_id`).
    pub conn_id: u64,
    /// Cancelled when the device is revoked.
    pub revoked: CancellationToken,
    /// Notices of documents other sessions of the team stored.
    pub team_changes: broadcast::Receiver<TeamChanged>,
}

impl Sessions {
    /// Registers a session of `device` in `team_id`, unless it already has `max_per_device`.
    pub fn register(
        self: &Arc<Self>,
        device: DeviceId,
        team_id: i64,
        max_per_device: usize,
    ) -> Result<SessionHandle, TooManyConnections> {
        let mut inner = self.inner.lock().expect("sessions lock");
        let live = inner.by_device.get(&device).map_or(0, Vec::len);
        if live >= max_per_device {
            return Err(TooManyConnections(live));
        }
        inner.next_conn_id += 1;
        let conn_id = inner.next_conn_id;
        let revoked = CancellationToken::new();
        inner.by_device.entry(device).or_default().push((conn_id, revoked.clone()));
        let team_changes = inner.teams.entry(team_id).or_insert_with(|| broadcast::channel(64).0).subscribe();
        Ok(SessionHandle { sessions: Arc::clone(self), device, conn_id, revoked, team_changes })
    }

    /// Cuts every live session of `device`; returns how many there were.
    pub fn revoke(&self, device: DeviceId) -> usize {
        let inner = self.inner.lock().expect("sessions lock");
        let tokens = inner.by_device.get(&device).map_or(&[][..], Vec::as_slice);
        for (_, token) in tokens {
            token.cancel();
        }
        tokens.len()
    }

    /// A receiver of the team's change notices, for a listener that is not a sync session (the
    /// console's live feed).
    pub fn subscribe_team(&self, team_id: i64) -> broadcast::Receiver<TeamChanged> {
        let mut inner = self.inner.lock().expect("sessions lock");
        inner.teams.entry(team_id).or_insert_with(|| broadcast::channel(64).0).subscribe()
    }

    /// Tells the team's sessions that documents changed.
    pub fn notify_team(&self, team_id: i64, origin: Option<u64>) {
        let inner = self.inner.lock().expect("sessions lock");
        if let Some(sender) = inner.teams.get(&team_id) {
            // No receivers is fine: nobody of the team is connected.
            let _ = sender.send(TeamChanged { origin });
        }
    }

    /// Tells every team's sessions that documents may have changed (after news was missed).
    pub fn notify_all(&self) {
        let inner = self.inner.lock().expect("sessions lock");
        for sender in inner.teams.values() {
            let _ = sender.send(TeamChanged { origin: None });
        }
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        let mut inner = self.sessions.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(list) = inner.by_device.get_mut(&self.device) {
            list.retain(|(conn_id, _)| *conn_id != self.conn_id);
            if list.is_empty() {
                inner.by_device.remove(&self.device);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_live_sessions_and_revocation_cancels_them_all() {
        let sessions = Arc::new(Sessions::default());
        let device = DeviceId::from_u128(1);
        let first = sessions.register(device, 1, 2).unwrap();
        let second = sessions.register(device, 1, 2).unwrap();
        assert_eq!(sessions.register(device, 1, 2).unwrap_err(), TooManyConnections(2));
        assert!(sessions.register(DeviceId::from_u128(2), 1, 2).is_ok(), "the limit is per device");
        assert_eq!(sessions.revoke(device), 2);
        assert!(first.revoked.is_cancelled() && second.revoked.is_cancelled());
        drop(first);
        assert_eq!(sessions.revoke(device), 1, "a dropped handle unregisters");
        drop(second);
        assert_eq!(sessions.revoke(device), 0);
        assert!(sessions.register(device, 1, 2).is_ok(), "slots free up again");
    }

    #[test]
    fn team_notices_reach_only_that_team() {
        let sessions = Arc::new(Sessions::default());
        let mut north = sessions.register(DeviceId::from_u128(1), 1, 4).unwrap();
        let mut south = sessions.register(DeviceId::from_u128(2), 2, 4).unwrap();
        sessions.notify_team(1, Some(99));
        assert_eq!(north.team_changes.try_recv().unwrap(), TeamChanged { origin: Some(99) });
        assert!(south.team_changes.try_recv().is_err());
    }
}
