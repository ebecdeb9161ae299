//! The monthly figures, with the counts behind each rate.

use chrono::{FixedOffset, NaiveDate};
use expect_test::expect;
use kefu_core::case::{CaseDoc, CaseEdit, CaseKind, CasePolicy, EditContext, FeedbackDirection, Satisfaction, Status};
use kefu_core::ids::{CaseId, DeviceId, Timestamp};
use kefu_core::report::monthly_report;

use crate::support::{new_case, staff};

#[test]
fn figures_come_from_the_case_log() {
    let policy = CasePolicy::default();
    let desk = staff("desk");
    // 2026-11-01T00:00 in UTC+8.
    let nov1_utc = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let nov1 = Timestamp(nov1_utc.timestamp_millis() - 8 * Timestamp::HOUR);
    let h = |hours: i64| nov1.plus_hours(hours);
    let make = |n: u128, kind: CaseKind, at: Timestamp, edits: &[(i64, CaseEdit)]| {
        let ctx = EditContext { at, by: &desk, policy: &policy };
        let mut doc =
            CaseDoc::create(DeviceId::from_u128(1), CaseId::from_u128(n), &new_case(kind, "x"), "P-1", &ctx).unwrap();
        for (hours, edit) in edits {
            doc.apply(&EditContext { at: at.plus_hours(*hours), by: &desk, policy: &policy }, edit).unwrap();
        }
        doc.read()
    };
    let to = |status| CaseEdit::Transition { to: status, reason: String::new() };
    let reply = CaseEdit::Feedback { direction: FeedbackDirection::ToCustomer, text: "on our way".into() };
    let visit = |satisfaction| CaseEdit::ReturnVisit { satisfaction, comment: String::new() };
    let cases = vec![
        // Repair answered in 2 h, completed, visited on day 4: satisfied.
        make(
            1,
            CaseKind::Repair,
            h(1),
            &[(2, reply.clone()), (3, to(Status::Completed)), (96, visit(Satisfaction::Satisfied))],
        ),
        // Complaint answered after 30 h, completed, visited: dissatisfied.
        make(
            2,
            CaseKind::Complaint,
            h(2),
            &[(30, reply.clone()), (31, to(Status::Completed)), (40, visit(Satisfaction::Dissatisfied))],
        ),
        // Repair dispatched, never answered: overdue.
        make(3, CaseKind::Repair, h(3), &[(1, to(Status::Dispatched))]),
        // Consultation closed on the spot: no reply promised.
        make(4, CaseKind::Consultation, h(4), &[(0, to(Status::Closed))]),
        // Opened in October: not in November's figures.
        make(5, CaseKind::Repair, h(-48), &[]),
    ];
    let report = monthly_report(
        &cases,
        NaiveDate::from_ymd_opt(2026, 11, 15).unwrap(),
        FixedOffset::east_opt(8 * 3600).unwrap(),
        h(24 * 10),
    );
    expect![[r#"
        month 2026-11
          all        received    4  dispatched    4  completed    3  return-visited    2
          repairs    received    2  dispatched    2  completed    1  return-visited    1
          complaints received    1  dispatched    1  completed    1  return-visited    1
          处理率 handling      75.0% (3/4)
          及时率 timeliness    33.3% (1/3)
          满意率 satisfaction  50.0% (1/2)
          回访率 return visits 66.7% (2/3)"#]]
    .assert_eq(&report.to_string());
}

/// A case reopened after its return visit is no longer completed: it leaves both counts of 回访率,
/// which stays within 100 % (it read 2/1 = 200 % when the numerator counted every visited case).
#[test]
fn a_case_reopened_after_its_return_visit_keeps_the_return_visit_rate_within_100_percent() {
    let policy = CasePolicy::default();
    let desk = staff("desk");
    let at = Timestamp(
        NaiveDate::from_ymd_opt(2026, 11, 3).unwrap().and_hms_opt(2, 0, 0).unwrap().and_utc().timestamp_millis(),
    );
    let make = |n: u128, reopen: bool| {
        let ctx = EditContext { at, by: &desk, policy: &policy };
        let mut doc = CaseDoc::create(
            DeviceId::from_u128(1),
            CaseId::from_u128(n),
            &new_case(CaseKind::Repair, "x"),
            "P-1",
            &ctx,
        )
        .unwrap();
        let mut edits = vec![
            (1, CaseEdit::Transition { to: Status::Completed, reason: String::new() }),
            (2, CaseEdit::ReturnVisit { satisfaction: Satisfaction::Dissatisfied, comment: "still leaks".into() }),
        ];
        if reopen {
            edits.push((3, CaseEdit::Transition { to: Status::InProgress, reason: "leaks again".into() }));
        }
        for (hours, edit) in &edits {
            doc.apply(&EditContext { at: at.plus_hours(*hours), by: &desk, policy: &policy }, edit).unwrap();
        }
        doc.read()
    };
    let cases = vec![make(1, true), make(2, true), make(3, false)];
    let offset = FixedOffset::east_opt(8 * 3600).unwrap();
    let report = monthly_report(&cases, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), offset, at.plus_days(5));
    assert_eq!(report.all.return_visited, 3, "every case was visited");
    assert_eq!((report.return_visit_rate.numerator, report.return_visit_rate.denominator), (1, 1));
    assert_eq!(report.return_visit_rate.percent(), Some(100.0));
    let third = kefu_core::report::Rate { numerator: 1, denominator: 3 };
    assert_eq!(third.percent_rounded(), Some(33.3));
    assert_eq!(kefu_core::report::Rate { numerator: 2, denominator: 3 }.percent_rounded(), Some(66.7));
    assert_eq!(kefu_core::report::Rate { numerator: 0, denominator: 0 }.percent_rounded(), None);
}
