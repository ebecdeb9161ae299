//! Synthetic service centres of any size, written as team-file TOML: six posts (east and west
//! gates, front desk, phones, online chat, night maintenance), the seed-004 shifts and rules, and
//! a team whose roles, leave and wishes come from a seeded generator. Used by the benchmark and
//! the property tests; the same seed always gives the same file.
//!
//! Leaves out: realism beyond the rules: demand is sized so that the team can meet it.

use std::fmt::Write as _;

use chrono::{Days, NaiveDate};

/// What to generate.
#[derive(Clone, Debug)]
pub struct CentreSpec {
    /// Team size.
    pub n_staff: usize,
    /// Period length in days.
    pub n_days: usize,
    /// First day of the period.
    pub start: NaiveDate,
    /// Grid step: 15 or 30.
    pub slot_minutes: u32,
    /// Seed of the team's leave, days off and wishes.
    pub seed: u64,
    /// Added to every post minimum: 0 is a feasible centre, more makes it short-staffed.
    pub extra_demand: u32,
}

/// A small deterministic generator (xorshift), so the library needs no `rand` dependency.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Writes the team file of a synthetic centre.
pub fn centre_toml(spec: &CentreSpec) -> String {
    let mut rng = Xorshift(spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let n = spec.n_staff;
    let end = spec.start + Days::new(spec.n_days.saturating_sub(1) as u64);
    let gate = (n / 20).max(1) as u32 + spec.extra_demand;
    let desk = (n / 20) as u32 + spec.extra_demand;
    let phones = (n / 20).max(1) as u32 + spec.extra_demand;
    let chat = (n / 30) as u32 + spec.extra_demand;
    let weekend = |m: u32| m.div_ceil(2);
    let mut t = String::new();
    let _ = write!(
        t,
        r#"name = "synthetic centre of {n}"
roles = ["reception", "agent", "maintenance"]

[period]
start = "{}"
end = "{end}"
slot_minutes = {}

[rules]
min_on_duty = 1
duty_day_start = "08:00"
handover_minutes = 15
max_leave_per_month = 4
lunch = {{ window = ["11:30", "13:00"], length_minutes = 30 }}
rotation = [{{ posts = ["east_gate", "west_gate"] }}]

[default_contract]
min_hours_per_week = 30
max_hours_per_week = 44
max_consecutive_days = 6
min_rest_hours = 11

[[shifts]]
id = "M"
start = "07:30"
end = "16:00"
roles = ["reception", "agent"]
posts = ["east_gate", "west_gate", "front_desk", "phones", "chat"]
lunch = true

[[shifts]]
id = "L"
start = "11:30"
end = "20:00"
roles = ["reception", "agent"]
posts = ["east_gate", "west_gate", "front_desk", "phones", "chat"]
lunch = true

[[shifts]]
id = "EV"
start = "17:00"
end = "21:00"
roles = ["maintenance"]
posts = ["night"]

[[shifts]]
id = "N"
start = "20:30"
end = "08:30"
roles = ["maintenance"]
posts = ["night"]
night = true
paid_hours = 6
"#,
        spec.start, spec.slot_minutes
    );
    for (id, weekday_min, extra_days) in [
        ("east_gate", gate, true),
        ("west_gate", gate, true),
        ("front_desk", desk, true),
        ("phones", phones, false),
        ("chat", chat, false),
    ] {
        let _ = write!(t, "\n[[posts]]\nid = \"{id}\"\n");
        let _ = writeln!(t, "need = [");
        let _ = writeln!(
            t,
            "  {{ days = [\"weekday\"], from = \"08:00\", to = \"18:00\", min = {weekday_min}, desired = {} }},",
            weekday_min + 1
        );
        let weekend_min = if extra_days { weekend(weekday_min) } else { weekday_min.min(1) };
        let _ = writeln!(t, "  {{ days = [\"saturday\"], from = \"09:00\", to = \"17:00\", min = {weekend_min} }},");
        let _ = writeln!(t, "  {{ days = [\"sunday\"], from = \"10:00\", to = \"17:00\", min = {weekend_min} }},");
        let _ = writeln!(t, "]");
    }
    let _ = write!(
        t,
        "\n[[posts]]\nid = \"night\"\nname = \"night maintenance\"\nneed = [{{ days = [\"weekday\", \"saturday\", \"sunday\"], from = \"17:30\", to = \"08:00\", min = 1 }}]\n"
    );

    let n_maintenance = (n / 8).max(3).min(n);
    let n_agents = (n - n_maintenance) * 4 / 9;
    let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    for i in 0..n {
        let (roles, posts, min_hours) = if i < n_maintenance {
            (r#"["maintenance"]"#, r#"["night"]"#, 0)
        } else if i < n_maintenance + n_agents {
            (r#"["agent"]"#, r#"["phones", "chat"]"#, 30)
        } else {
            (r#"["reception"]"#, r#"["east_gate", "west_gate", "front_desk"]"#, 30)
        };
        let _ = write!(
            t,
            "\n[[staff]]\nid = \"s{i:03}\"\nroles = {roles}\nposts = {posts}\ncontract = {{ min_hours_per_week = {min_hours} }}\n"
        );
        if rng.below(4) == 0 {
            let _ = writeln!(t, "days_off = [\"{}\"]", weekdays[rng.below(7)]);
        }
        if rng.below(5) == 0 && spec.n_days > 1 {
            let day = spec.start + Days::new(rng.below(spec.n_days) as u64);
            let _ = writeln!(t, "leave = [{{ date = \"{day}\" }}]\nleave_taken = {}", rng.below(4));
        } else if rng.below(4) == 0 {
            let day = spec.start + Days::new(rng.below(spec.n_days) as u64);
            let _ = writeln!(t, "requests = [\"{day}\"]\nleave_taken = {}", rng.below(5));
        }
        if rng.below(3) == 0 {
            let _ =
                writeln!(t, "prefer = [{{ weekday = \"{}\", weight = {} }}]", weekdays[rng.below(7)], 1 + rng.below(3));
        }
    }
    t
}
