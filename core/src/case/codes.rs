//! The closed vocabularies of a case (kind, channel, status, ...) and the stable
//! string codes they are stored under in documents and the device index.
//!
//! Codes are part of the document format: phones update late, so a code once
//! shipped is never renamed. Adding a value is a schema change (see
//! ARCHITECTURE.md, "Stability boundaries").

/// Declares an enum whose variants map one-to-one onto stored string codes.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored in documents.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The value for a stored code, if it is one.
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

coded_enum!(
    /// What the customer came with (DOMAIN.md "Cases": 咨询, 投诉, 建议, 报修, 求助).
    CaseKind {
        /// 咨询: a question.
        Consultation = "consultation",
        /// 投诉: a complaint; needs a reply within 24 h and a return visit before closing.
        Complaint = "complaint",
        /// 建议: a suggestion.
        Suggestion = "suggestion",
        /// 报修: a repair request (after-sales); reply within 24 h, return visit after the work.
        Repair = "repair",
        /// 求助: a request for help.
        Help = "help",
    }
);

coded_enum!(
    /// How the case reached the centre.
    Channel {
        /// 电话
        Phone = "phone",
        /// 在线 (旺旺/千牛, web chat)
        Online = "online",
        /// 邮件: answered within 24 h (seed 004).
        Email = "email",
        /// 社交媒体
        Social = "social",
        /// 来函
        Letter = "letter",
        /// 来访: walk-in at the desk.
        WalkIn = "walk_in",
        /// 现场: raised by staff in the field.
        Field = "field",
    }
);

coded_enum!(
    /// How urgent the matter is; set at triage.
    Priority {
        /// Can wait for the next working day.
        Low = "low",
        /// The default.
        Normal = "normal",
        /// Today.
        High = "high",
        /// Now: safety, flooding, no power.
        Urgent = "urgent",
    }
);

coded_enum!(
    /// The workflow position of a case, derived from its status events (never stored
    /// as a plain field; see [`crate::case::status`]). Declared in workflow order,
    /// which is also the precedence among concurrent transitions.
    Status {
        /// 未处理: opened, nobody on it yet.
        New = "new",
        /// 已派工: handed to a department or person.
        Dispatched = "dispatched",
        /// 处理中: being worked on.
        InProgress = "in_progress",
        /// 已完成: the work is done; the return visit may follow.
        Completed = "completed",
        /// 已结案: closed.
        Closed = "closed",
    }
);

coded_enum!(
    /// The five-level return-visit rating (非常满意 … 非常不满意).
    Satisfaction {
        /// 非常满意
        VerySatisfied = "very_satisfied",
        /// 满意
        Satisfied = "satisfied",
        /// 一般
        Neutral = "neutral",
        /// 不满意
        Dissatisfied = "dissatisfied",
        /// 非常不满意
        VeryDissatisfied = "very_dissatisfied",
    }
);

impl Satisfaction {
    /// Counted as satisfied in 满意率 (very satisfied or satisfied).
    pub fn is_satisfied(self) -> bool {
        matches!(self, Satisfaction::VerySatisfied | Satisfaction::Satisfied)
    }
}

coded_enum!(
    /// The work that was done, which sets the return-visit window (DOMAIN.md deadlines).
    Service {
        /// A repair: return visit 3–5 days after it (seed 002 篇10, "3DC").
        Repair = "repair",
        /// An installation: return visit 2–3 days after it (seed 000 篇六).
        Installation = "installation",
        /// A delivery to a new customer: return visit 7–10 days after it ("7DC").
        Delivery = "delivery",
    }
);

impl Service {
    /// The return-visit window after completion, in whole days (from, to).
    pub fn return_visit_window_days(self) -> (i64, i64) {
        match self {
            Service::Repair => (3, 5),
            Service::Installation => (2, 3),
            Service::Delivery => (7, 10),
        }
    }
}

coded_enum!(
    /// Which way a feedback entry went (跟进反馈).
    FeedbackDirection {
        /// The desk reported progress to the customer; the first one is the "reply".
        ToCustomer = "to_customer",
        /// The customer said something back.
        FromCustomer = "from_customer",
    }
);

coded_enum!(
    /// The support tier handling the case (一线, 二线, 三线).
    Tier {
        /// 一线: the desk.
        First = "first",
        /// 二线: specialists.
        Second = "second",
        /// 三线: engineering or management.
        Third = "third",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for kind in CaseKind::ALL {
            assert_eq!(CaseKind::from_code(kind.code()), Some(*kind));
        }
        for status in Status::ALL {
            assert_eq!(Status::from_code(status.code()), Some(*status));
        }
        assert_eq!(Channel::from_code("fax"), None);
    }
}
