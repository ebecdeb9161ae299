//! `kefu admin`: teams and device tokens, straight on the database (the server need not run).
//!
//! `team create <name>`, `device issue --team <name> --role staff|supervisor|admin [--label ..]`
//! (prints the token once, alone on stdout), `device revoke <device-id>` (a running server closes
//! the device's sessions within its revocation poll and refuses its next round at once),
//! `device list --team <name>`, `user add <name> --team <name> --role supervisor|admin` (the
//! console password on standard input).
//!
//! Leaves out: token format and hashing (`auth.rs`) and storage (`storage/`).

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use kefu_core::ids::{DeviceId, StaffId, Timestamp};

use super::serve::open_storage;
use crate::auth::{Role, mint_token};
use crate::config::{DbArgs, DbLocation};
use crate::console::users::add_user;
use crate::storage::{NewDevice, Storage};

/// `kefu admin` and its database flag.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// What to administer.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// Administration commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Device tokens.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Console accounts (supervisors and admins who sign in with a password).
    #[command(subcommand)]
    User(UserCommand),
}

/// Console account commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a console account; the password is read from the first line of standard input.
    Add {
        /// Sign-in name, e.g. "wang.li".
        name: String,
        /// The team they supervise (an admin may view every team).
        #[arg(long)]
        team: String,
        /// supervisor or admin.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

/// Team commands.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team.
    Create {
        /// Unique team name, e.g. "north-desk".
        name: String,
    },
}

/// A role as a command-line value.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    /// Floor and field staff: sync only.
    Staff,
    /// Supervisors: sync plus reading the team's cases and figures.
    Supervisor,
    /// Team administrators.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Staff => Role::Staff,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Device commands.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Issue a device token; the token is printed once and only its hash is stored.
    Issue {
        /// Team name.
        #[arg(long)]
        team: String,
        /// What the device may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A label to recognise the device by, e.g. "li.wei phone".
        #[arg(long, default_value = "")]
        label: String,
        /// The staff member the device is issued to, e.g. "li.wei": every timeline or duty entry
        /// it pushes must name them. Leave out for a shared desk terminal.
        #[arg(long)]
        staff: Option<String>,
    },
    /// Revoke a device's token; its sessions are cut and its next request refused.
    Revoke {
        /// Device id (as `device list` shows it).
        device: String,
    },
    /// List a team's devices.
    List {
        /// Team name.
        #[arg(long)]
        team: String,
    },
}

/// Runs an admin command.
pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let db = DbLocation::parse(&args.db.db)?;
    let storage = open_storage(&db)?;
    let now = Timestamp::now();
    match args.command {
        AdminCommand::Team(TeamCommand::Create { name }) => {
            check_team_name(&name)?;
            let team = storage.create_team(&name, now)?;
            println!("created team {:?} (id {})", team.name, team.id);
        }
        AdminCommand::Device(DeviceCommand::Issue { team, role, label, staff }) => {
            let token = issue(storage.as_ref(), &team, role.into(), &label, staff.as_deref(), now)?;
            eprintln!(
                "issued a {} token for team {team:?}; it is shown once, store it on the device now:",
                Role::from(role).code()
            );
            println!("{token}");
        }
        AdminCommand::Device(DeviceCommand::Revoke { device }) => {
            let id: DeviceId = device.parse().map_err(|_| anyhow::anyhow!("{device:?} is not a device id"))?;
            let Some(record) = storage.revoke_device(id, now)? else { bail!("no device {id}") };
            let at = record.revoked_at.map_or_else(String::new, |at| at.to_string());
            println!("revoked device {id} ({} of team {:?}) at {at}", record.role.code(), record.team_name);
        }
        AdminCommand::User(UserCommand::Add { name, team, role }) => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            add_user(storage.as_ref(), &team, &name, role.into(), password, now)?;
            println!("added {} {name:?} to team {team:?}; they sign in at /console", Role::from(role).code());
        }
        AdminCommand::Device(DeviceCommand::List { team }) => {
            let Some(team) = storage.team_by_name(&team)? else { bail!("no team {team:?}") };
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(["device", "role", "label", "issued", "revoked"]);
            for device in storage.devices_of_team(team.id)? {
                table.add_row([
                    device.id.to_string(),
                    device.role.code().to_string(),
                    device.label,
                    device.created_at.to_string(),
                    device.revoked_at.map_or_else(|| "-".to_string(), |at| at.to_string()),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Issues a token for a new device of `team`, issued to `staff` if given; returns the token (the
/// only time it exists).
///
/// The device id's first two bytes are the tag in the provisional numbers its phone mints
/// (`P<tag>-<n>`), and customers are told those numbers: the id is drawn until its tag is one
/// no other device of the team has.
pub fn issue(
    storage: &dyn Storage,
    team: &str,
    role: Role,
    label: &str,
    staff: Option<&str>,
    now: Timestamp,
) -> anyhow::Result<String> {
    let Some(team) = storage.team_by_name(team)? else {
        bail!("no team {team:?}; create it with: kefu admin team create {team}")
    };
    if label.chars().count() > 64 || label.chars().any(char::is_control) {
        bail!("label {label:?} must be at most 64 characters without control characters");
    }
    if let Some(staff) = staff
        && StaffId::new(staff).is_err()
    {
        bail!("staff id {staff:?} must be 1 to 64 characters without control characters");
    }
    let taken: Vec<String> = storage.devices_of_team(team.id)?.iter().map(|device| device.id.short_tag()).collect();
    if taken.len() >= 1 << 16 {
        bail!("team {:?} has used every one of the 65,536 device tags", team.name);
    }
    let device = std::iter::repeat_with(DeviceId::random)
        .find(|device| !taken.contains(&device.short_tag()))
        .expect("a free tag exists, so a random draw finds it");
    let minted = mint_token(device);
    let mut record = NewDevice::new(device, team.id, role, label, &minted, now);
    record.staff = staff.map(str::to_string);
    storage.insert_device(&record)?;
    Ok(minted.token)
}

fn check_team_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.trim().is_empty()
        && name.chars().count() <= 64
        && name.trim() == name
        && !name.chars().any(char::is_control);
    if !ok {
        bail!("team name {name:?} must be 1 to 64 characters, without control characters or outer spaces");
    }
    Ok(())
}
