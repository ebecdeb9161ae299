//! Device tokens and roles: minting a token (shown once), storing only a salted hash, and turning
//! an `Authorization: Bearer <token>` header into a [`Principal`] (device, team, role).
//!
//! A token is `kefu_<device id, 32 hex>_<secret, 64 hex>`. The device id part lets the server find
//! the one row to check without scanning; the 32-byte secret is hashed with SHA-256 under a random
//! per-token salt and compared in constant time, so neither the database nor a timing side channel
//! gives a token away. Revocation is a timestamp on the device row, checked on every request and
//! round (see `sessions.rs` for cutting off open WebSockets).
//!
//! Leaves out: where tokens are stored (`storage`) and what each role may do (the HTTP handlers
//! and the sync round say that at their entry).

use kefu_core::ids::DeviceId;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::storage::{DeviceRecord, Storage, StorageError};

/// What a device may do. Every role syncs its team's documents; supervisors and admins also read
/// the team's cases and figures over HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Floor and field staff (前台, 维修员): sync only.
    Staff,
    /// 客服主管: sync plus the supervisor reads.
    Supervisor,
    /// Team administrator: everything a supervisor may.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Staff, Role::Supervisor, Role::Admin];

    /// The stored and displayed code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role for a code.
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.code() == code)
    }

    /// Whether the role may use the supervisor reads (case list, history, monthly figures).
    pub fn reads_team_cases(self) -> bool {
        self >= Role::Supervisor
    }
}

/// An authenticated device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The device.
    pub device: DeviceId,
    /// Its team's row id.
    pub team_id: i64,
    /// Its role.
    pub role: Role,
}

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("no device token: send Authorization: Bearer <token>")]
    Missing,
    /// A header that is not a kefu token, or a token that matches no device.
    #[error("the device token is not valid")]
    Invalid,
    /// The device's token was revoked.
    #[error("this device's token was revoked; ask an administrator for a new one")]
    Revoked,
    /// The database could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A freshly minted token: `token` is shown to the administrator once; only `salt` and `hash` are
/// stored.
#[derive(Clone, Debug)]
pub struct MintedToken {
    /// The token to hand to the device.
    pub token: String,
    /// Random per-token salt.
    pub salt: [u8; 16],
    /// SHA-256 of salt and secret.
    pub hash: [u8; 32],
}

const PREFIX: &str = "kefu_";

/// Mints a token for `device`.
pub fn mint_token(device: DeviceId) -> MintedToken {
    let mut rng = rand::rng();
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let token = format!("{PREFIX}{}_{}", device.to_string().replace('-', ""), hex::encode(secret));
    MintedToken { token, salt, hash: hash_secret(&salt, &secret) }
}

fn hash_secret(salt: &[u8], secret: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(secret);
    hasher.finalize().into()
}

/// Splits a token into the device it names and its secret; `None` if it is not shaped like one.
fn parse_token(token: &str) -> Option<(DeviceId, Vec<u8>)> {
    let device = DeviceId::of_token(token)?;
    let (_, secret_hex) = token.strip_prefix(PREFIX)?.split_once('_')?;
    Some((device, hex::decode(secret_hex).ok()?))
}

/// Whether `token` is the one `record` was issued with (constant-time on the hash).
pub fn token_matches(record: &DeviceRecord, secret: &[u8]) -> bool {
    let computed = hash_secret(&record.token_salt, secret);
    computed.as_slice().ct_eq(record.token_hash.as_slice()).into()
}

/// Authenticates the value of an `Authorization` header against storage.
pub fn authenticate(storage: &dyn Storage, header: Option<&str>) -> Result<Principal, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    let token = header.strip_prefix("Bearer ").ok_or(AuthError::Invalid)?.trim();
    let (device, secret) = parse_token(token).ok_or(AuthError::Invalid)?;
    let record = storage.device(device)?.ok_or(AuthError::Invalid)?;
    if !token_matches(&record, &secret) {
        return Err(AuthError::Invalid);
    }
    if record.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    Ok(Principal { device, team_id: record.team_id, role: record.role })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::open_memory;
    use kefu_core::ids::Timestamp;

    #[test]
    fn a_minted_token_authenticates_and_nothing_else_does() {
        let storage = open_memory();
        let team = storage.create_team("north", Timestamp(0)).unwrap();
        let device = DeviceId::from_u128(7);
        let minted = mint_token(device);
        storage
            .insert_device(&crate::storage::NewDevice::new(device, team.id, Role::Staff, "desk", &minted, Timestamp(0)))
            .unwrap();
        let header = format!("Bearer {}", minted.token);
        assert_eq!(
            authenticate(&storage, Some(&header)).unwrap(),
            Principal { device, team_id: team.id, role: Role::Staff }
        );
        let mut forged = minted.token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == '0' { '1' } else { '0' });
        let outcomes: Vec<String> = [
            None,
            Some("Basic abc".to_string()),
            Some(format!("Bearer {forged}")),
            Some(format!("Bearer {}", mint_token(DeviceId::from_u128(8)).token)),
        ]
        .iter()
        .map(|header| authenticate(&storage, header.as_deref()).unwrap_err().to_string())
        .collect();
        assert_eq!(
            outcomes,
            [
                "no device token: send Authorization: Bearer <token>",
                "the device token is not valid",
                "the device token is not valid",
                "the device token is not valid",
            ]
        );
        storage.revoke_device(device, Timestamp(5)).unwrap();
        assert!(matches!(authenticate(&storage, Some(&header)), Err(AuthError::Revoked)));
    }

    #[test]
    fn only_salt_and_hash_are_kept_and_salts_differ() {
        let device = DeviceId::from_u128(9);
        let (first, second) = (mint_token(device), mint_token(device));
        assert_ne!(first.salt, second.salt);
        assert!(!first.token.contains(&hex::encode(first.hash)));
        assert_eq!(Role::from_code("supervisor"), Some(Role::Supervisor));
        assert!(!Role::Staff.reads_team_cases() && Role::Admin.reads_team_cases());
    }
}
