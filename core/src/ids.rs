//! Identifiers and the timestamp type shared by every part of the core.
//!
//! Ids are newtypes so a case id cannot be passed where a device id is meant. They
//! render as the strings stored in documents and the device index; parsing them back
//! is the only way to build one from outside input, so a malformed id is an error at
//! the edge, never deep inside a merge.

use std::fmt;
use std::str::FromStr;

use automerge::ActorId;
use uuid::Uuid;

/// A case's permanent identity: a UUID minted on the device that opened the case, so two
/// phones offline never collide. Humans use [`crate::case::CaseNumber`].
///
/// Version 7 (a millisecond timestamp, then random bits): ids sort in the order cases were
/// opened, so a device pushing its cases in id order has them numbered by the server in
/// intake order, not in the random order version 4 ids gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseId(Uuid);

impl CaseId {
    /// A fresh id, later than every id this process minted before.
    pub fn random() -> Self {
        CaseId(Uuid::now_v7())
    }

    /// An id from a 128-bit value; deterministic tests and simulations use this.
    pub const fn from_u128(value: u128) -> Self {
        CaseId(Uuid::from_u128(value))
    }
}

/// A phone or the server: every device writes with its own automerge actor, so its
/// changes are told apart from everyone else's in every document it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(Uuid);

impl DeviceId {
    /// A fresh random device id, made once when a store is first created.
    pub fn random() -> Self {
        DeviceId(Uuid::new_v4())
    }

    /// A device id from a 128-bit value; deterministic tests use this.
    pub const fn from_u128(value: u128) -> Self {
        DeviceId(Uuid::from_u128(value))
    }

    /// The automerge actor this device writes as.
    pub fn actor(&self) -> ActorId {
        ActorId::from(self.0.as_bytes().as_slice())
    }

    /// The actor a store installed under this device writes as: the device's first eight
    /// bytes, then eight of the install's own. The server checks the prefix
    /// ([`Self::owns`]), so a change is bound to the token that pushed it; the suffix keeps
    /// a reinstalled app from reusing the old install's actor (automerge requires each
    /// actor's sequence numbers to be unique).
    pub fn install(&self, nonce: [u8; 8]) -> DeviceId {
        let mut bytes = *self.0.as_bytes();
        bytes[8..].copy_from_slice(&nonce);
        DeviceId(Uuid::from_bytes(bytes))
    }

    /// Whether `actor` is one of this device's installs (see [`Self::install`]).
    pub fn owns(&self, actor: &ActorId) -> bool {
        let actor = actor.to_bytes();
        actor.len() == 16 && actor[..8] == self.0.as_bytes()[..8]
    }

    /// The device a token names. Tokens are `kefu_<device id, 32 hex>_<secret, 64 hex>`:
    /// the server checks the secret; a device store reads the id to bind its actor to it.
    pub fn of_token(token: &str) -> Option<DeviceId> {
        let (device_hex, secret_hex) = token.strip_prefix("kefu_")?.split_once('_')?;
        if device_hex.len() != 32 || secret_hex.len() != 64 {
            return None;
        }
        Uuid::try_parse(device_hex).ok().map(DeviceId)
    }

    /// Four upper-case hex digits naming the device inside provisional case numbers.
    pub fn short_tag(&self) -> String {
        let hex = self.0.simple().to_string().to_uppercase();
        hex[..4].to_string()
    }
}

macro_rules! uuid_display_parse {
    ($ty:ident, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $ty {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Uuid::try_parse(s).map($ty).map_err(|_| IdError { what: $what, value: s.chars().take(64).collect() })
            }
        }
    };
}
uuid_display_parse!(CaseId, "case id");
uuid_display_parse!(DeviceId, "device id");

/// A string that should have been an id but is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {value:?}")]
pub struct IdError {
    what: &'static str,
    value: String,
}

/// splitmix64: a tiny seeded generator, the same on every machine. Stores (with
/// `StoreConfig::seed`), the in-memory server's stamps and the fault simulation draw from
/// it, so that a simulated run replays exactly.
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A staff member as the team knows them (login name or staff number). Chosen by
/// the team, so only its shape is checked: non-empty, at most 64 characters, no
/// control characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StaffId(String);

impl StaffId {
    /// Checks the shape and wraps the name.
    pub fn new(name: impl Into<String>) -> Result<Self, IdError> {
        let name = name.into();
        if crate::case::limits::check_short_text(&name, 64, false).is_ok() {
            Ok(StaffId(name))
        } else {
            Err(IdError { what: "staff id", value: name.chars().take(64).collect() })
        }
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StaffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Milliseconds since the Unix epoch, UTC. Time always arrives as an argument (the
/// caller's clock), so documents and reports are deterministic under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// One hour in milliseconds.
    pub const HOUR: i64 = 3_600_000;
    /// One day in milliseconds.
    pub const DAY: i64 = 24 * Self::HOUR;

    /// The system clock now; only stores and binaries call this, never the case model.
    pub fn now() -> Self {
        Timestamp(chrono::Utc::now().timestamp_millis())
    }

    /// This instant plus `hours`.
    pub fn plus_hours(self, hours: i64) -> Self {
        Timestamp(self.0 + hours * Self::HOUR)
    }

    /// This instant plus `days` of 24 hours.
    pub fn plus_days(self, days: i64) -> Self {
        Timestamp(self.0 + days * Self::DAY)
    }

    /// As a chrono UTC date-time, for calendar arithmetic (months, local dates).
    pub fn to_utc(self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// The calendar year at this instant for a team `offset_minutes` east of UTC: a case
    /// opened at 00:30 on 1 January in Beijing belongs to the new year.
    pub fn year_at_offset(self, offset_minutes: i32) -> i32 {
        use chrono::Datelike;
        Timestamp(self.0.saturating_add(i64::from(offset_minutes) * 60_000)).to_utc().year()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_utc().format("%Y-%m-%dT%H:%MZ"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = CaseId::from_u128(42);
        assert_eq!(id.to_string().parse::<CaseId>(), Ok(id));
        let err = "not-a-uuid".parse::<CaseId>().unwrap_err();
        assert_eq!(err.to_string(), "invalid case id: \"not-a-uuid\"");
        assert!(StaffId::new("").is_err());
        assert!(StaffId::new("li\nwei").is_err());
        assert_eq!(StaffId::new("li.wei").unwrap().as_str(), "li.wei");
    }

    #[test]
    fn device_tag_is_four_hex_digits() {
        let device = DeviceId::from_u128(0xabcd_0000_0000_0000_0000_0000_0000_0000);
        assert_eq!(device.short_tag(), "ABCD");
    }
}
