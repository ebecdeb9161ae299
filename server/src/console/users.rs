//! Console accounts: adding a supervisor or admin (`kefu admin user add`) with an argon2id
//! password hash, and checking a password at sign-in.
//!
//! argon2id with the crate's default cost (19 MiB, 2 passes): slow enough to make a stolen
//! database expensive to crack, fast enough (tens of ms) that signing in does not drag. The hash
//! is a PHC string, so its parameters travel with it and can be raised later.
//!
//! Leaves out: sessions and throttling (`session.rs`).

use anyhow::bail;
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use kefu_core::ids::Timestamp;

use crate::auth::Role;
use crate::storage::Storage;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Longest password accepted (hashing is deliberately slow; a megabyte would be slower).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Hashes `password` as an argon2id PHC string under a fresh salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    match Argon2::default().hash_password(password.as_bytes(), &salt) {
        Ok(hash) => Ok(hash.to_string()),
        Err(err) => bail!("cannot hash the password: {err}"),
    }
}

/// Whether `password` matches the stored PHC string (constant-time inside argon2). A stored hash
/// that does not parse matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Adds user `name` to `team` with `role` (supervisor or admin) and `password`.
pub fn add_user(
    storage: &dyn Storage,
    team: &str,
    name: &str,
    role: Role,
    password: &str,
    now: Timestamp,
) -> anyhow::Result<()> {
    if !role.reads_team_cases() {
        bail!("console users are supervisors or admins; staff use a device token on their phone");
    }
    let Some(team) = storage.team_by_name(team)? else {
        bail!("no team {team:?}; create it with: kefu admin team create {team}")
    };
    let name_ok = !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if !name_ok {
        bail!("user name {name:?} must be 1 to 64 letters, digits, '.', '-', '_' or '@'");
    }
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        bail!("the password has {chars} characters; it needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS}");
    }
    if password.starts_with("kefu_") {
        bail!("that looks like a device token; choose a password of your own");
    }
    storage.insert_user(name, team.id, role, &hash_password(password)?, now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::open_memory;

    #[test]
    fn a_user_is_stored_with_a_hash_that_verifies_only_its_password() {
        let storage = open_memory();
        storage.create_team("north", Timestamp(0)).unwrap();
        add_user(&storage, "north", "wang.li", Role::Supervisor, "correct horse battery", Timestamp(0)).unwrap();
        let user = storage.user_by_name("wang.li").unwrap().unwrap();
        assert!(user.password.starts_with("$argon2id$"), "{}", user.password);
        assert!(!user.password.contains("correct horse"));
        assert!(verify_password("correct horse battery", &user.password));
        assert!(!verify_password("correct horse battery!", &user.password));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn bad_accounts_are_refused_naming_what_is_wrong() {
        let storage = open_memory();
        storage.create_team("north", Timestamp(0)).unwrap();
        let refusal = |team: &str, name: &str, role: Role, password: &str| {
            add_user(&storage, team, name, role, password, Timestamp(0)).unwrap_err().to_string()
        };
        assert!(refusal("south", "a", Role::Admin, "long enough pw").contains("no team \"south\""));
        assert!(refusal("north", "a b", Role::Admin, "long enough pw").contains("user name"));
        assert!(refusal("north", "a", Role::Staff, "long enough pw").contains("staff use a device token"));
        assert!(refusal("north", "a", Role::Admin, "short").contains("5 characters"));
        assert!(refusal("north", "a", Role::Admin, "kefu_0123456789abcdef").contains("device token"));
        add_user(&storage, "north", "a", Role::Admin, "long enough pw", Timestamp(0)).unwrap();
        assert!(refusal("north", "a", Role::Admin, "long enough pw").contains("already exists"));
    }
}
