//! Builders shared by the tests: a staff id, a sample new case, an edit context.

use kefu_core::case::{CaseDoc, CaseKind, CasePolicy, Channel, Customer, EditContext, NewCase, Priority, Service};
use kefu_core::ids::{CaseId, DeviceId, StaffId, Timestamp};

pub fn staff(name: &str) -> StaffId {
    StaffId::new(name).expect("test staff ids are valid")
}

pub fn new_case(kind: CaseKind, subject: &str) -> NewCase {
    NewCase {
        kind,
        channel: Channel::Phone,
        customer: Customer { name: "王女士".into(), phone: "138 0000 0000".into(), address: "3-2-1101".into() },
        subject: subject.into(),
        description: "water in the basement".into(),
        priority: Priority::Normal,
        service: (kind == CaseKind::Repair).then_some(Service::Repair),
    }
}

/// A repair case created by device 1 at time 0.
pub fn repair_doc() -> CaseDoc {
    let policy = CasePolicy::default();
    let by = staff("desk");
    let ctx = EditContext { at: Timestamp(0), by: &by, policy: &policy };
    CaseDoc::create(
        DeviceId::from_u128(1),
        CaseId::from_u128(99),
        &new_case(CaseKind::Repair, "leak"),
        "P0001-0001",
        &ctx,
    )
    .expect("a valid new case")
}
