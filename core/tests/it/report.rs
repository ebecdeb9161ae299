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
