//! Property tests: random small centres (team size, period, demand pressure, leave and wishes all
//! drawn) → every roster reported optimal or feasible passes the validator, and `violations` is
//! non-empty exactly when the validator finds a broken hard rule (checked in `solve_checked`).

use chrono::NaiveDate;
use kefu_solver::Status;
use kefu_solver::generate::{CentreSpec, centre_toml};
use proptest::prelude::*;

use crate::support::solve_checked;

const KNOWN_RULES: [&str; 13] = [
    "coverage",
    "min_on_duty",
    "lunch",
    "leave",
    "leave_cap",
    "one_shift_per_day",
    "rest",
    "max_consecutive_days",
    "weekly_hours",
    "rotation",
    "eligibility",
    "handover",
    "shift_template",
];

proptest! {
    // Each case is a MILP solve (well under a second at these sizes); 40 keep the suite short.
    // A failure is reported, never written into the source tree.
    #![proptest_config(ProptestConfig {
        cases: 40,
        max_shrink_iters: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_reported_roster_keeps_the_promises(
        n_staff in 3usize..10,
        n_days in 1usize..7,
        start_offset in 0u64..40,
        seed in any::<u64>(),
        extra_demand in 0u32..3,
        slot_minutes in prop_oneof![Just(15u32), Just(30u32)],
    ) {
        // Start dates near a month end, so the leave cap often straddles two months.
        let start = NaiveDate::from_ymd_opt(2026, 1, 10).expect("date") + chrono::Days::new(start_offset);
        let spec = CentreSpec { n_staff, n_days, start, slot_minutes, seed, extra_demand };
        let solved = solve_checked(&centre_toml(&spec), 30.0);
        for v in &solved.json.violations {
            prop_assert!(KNOWN_RULES.contains(&v.rule.as_str()), "unknown rule {}", v.rule);
            prop_assert!(!v.detail.is_empty());
            prop_assert!(!v.detail_zh.is_empty() && v.detail_zh != v.detail, "worded in Chinese too: {}", v.detail);
        }
        if matches!(solved.outcome.status, Status::Optimal | Status::Feasible) {
            prop_assert!(kefu_solver::check(&solved.problem, &solved.outcome.roster).is_empty());
        }
    }
}
