//! Cases shaped like the field's, for benchmarks and load runs: a Chinese description of about
//! 300 characters and twenty timeline entries of about 80 characters each, as a property
//! centre's repair and complaint cases are (issue 16 measures on exactly this shape, because
//! toy strings flatter every byte count and every millisecond).
//!
//! Deterministic: the same seed gives the same case on every machine, so two runs (or two
//! systems compared side by side) load the same data. The text is assembled from phrases a
//! service desk writes; it reads plausibly, and nothing depends on its meaning.
//!
//! Leaves out: status transitions and return visits (their order is the workflow's business,
//! not a load generator's); a benchmark that needs them writes them itself.

use crate::case::{CaseEdit, CaseKind, Channel, Customer, NewCase, Priority};
use crate::ids::SplitMix64;

/// Characters a description reaches at least.
pub const DESCRIPTION_CHARS: usize = 300;
/// Timeline entries written after intake.
pub const ENTRIES: usize = 20;
/// Characters each timeline entry reaches at least.
pub const ENTRY_CHARS: usize = 80;

/// One case as a device would create it, and the edits that follow over its life.
#[derive(Clone, Debug)]
pub struct CaseScript {
    /// What the desk records at intake.
    pub new: NewCase,
    /// The timeline entries that follow, in order.
    pub edits: Vec<CaseEdit>,
}

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡"];
const GIVEN: &[&str] =
    &["芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明"];
const SUBJECTS: &[(&str, CaseKind)] = &[
    ("地下室进水", CaseKind::Repair),
    ("电梯停运，困人后已解救", CaseKind::Repair),
    ("楼道灯不亮", CaseKind::Repair),
    ("厨房水管爆裂", CaseKind::Repair),
    ("门禁卡失效无法进入单元门", CaseKind::Repair),
    ("空调外机漏水滴到楼下阳台", CaseKind::Repair),
    ("夜间装修噪音扰民", CaseKind::Complaint),
    ("垃圾清运不及时，楼下有异味", CaseKind::Complaint),
    ("地下车位被长期占用", CaseKind::Complaint),
    ("保安态度不好", CaseKind::Complaint),
    ("物业费收费标准咨询", CaseKind::Consultation),
    ("装修审批需要哪些材料", CaseKind::Consultation),
];
const SENTENCES: &[&str] = &[
    "业主来电反映，昨晚十点左右发现问题，今天早上情况更加严重，希望物业尽快安排人员上门处理。",
    "业主表示家中有老人和小孩，对生活影响较大，之前已经打过一次电话，但一直没有人联系。",
    "据业主描述，楼上邻居家近期在装修，怀疑是施工过程中损坏了管道或者防水层。",
    "现场初步了解，问题集中在卫生间和厨房附近，墙面已经出现大面积水渍，地板开始起翘。",
    "业主要求维修完成后由物业出具书面说明，以便后续与相关责任方协商赔偿事宜。",
    "业主方便的上门时间为工作日下午两点以后或者周末全天，上门前请提前半小时电话联系。",
    "客服已向业主解释处理流程和大致时限，业主表示理解，但希望今天之内给出明确答复。",
    "同单元另有两户业主反映了类似情况，可能是公共管道的问题，建议一并排查。",
    "业主情绪比较激动，提到如果本周内得不到解决，将向街道办和住建部门投诉。",
    "已提醒业主先关闭总阀并把贵重物品移开，避免损失继续扩大，业主已照做。",
];
const NOTES: &[&str] = &[
    "已电话联系业主，约定明天上午九点半上门查看，业主同意，并提醒带好备用配件。",
    "维修师傅到场检查，确认为公共立管接口老化渗漏，需要关闭整栋楼的供水两小时。",
    "已在单元门口和业主群发布停水通知，说明停水时间和原因，请业主提前储水。",
    "更换接口和一段管道后试水半小时，未再发现渗漏，现场已清理干净，业主在场确认。",
    "业主反映楼下天花板仍有水渍，解释为残留水分，约三天后干透，届时再回访确认。",
    "领用材料：三通接头一个、PPR管两米、生料带一卷，费用按公共维修基金流程申报。",
    "业主对处理速度表示满意，但希望以后停水通知能提前一天发出，已记录并反馈主管。",
    "与楼上装修户沟通，对方承认施工时碰到管道，同意承担楼下业主的墙面修复费用。",
    "主管审核后同意由工程部安排墙面修补，预计下周二施工，已告知业主并取得同意。",
    "业主来电催促进度，已解释材料正在采购中，预计两个工作日内到货后立即安排。",
];

impl CaseScript {
    /// The case of `seed`.
    pub fn generate(seed: u64) -> CaseScript {
        let mut rng = SplitMix64(seed);
        let rng = &mut rng;
        let (subject, kind) = SUBJECTS[pick(rng, SUBJECTS.len())];
        let name = format!(
            "{}{}{}",
            SURNAMES[pick(rng, SURNAMES.len())],
            GIVEN[pick(rng, GIVEN.len())],
            GIVEN[pick(rng, GIVEN.len())]
        );
        let phone = format!("1{}{:09}", 3 + pick(rng, 7), rng.next_u64() % 1_000_000_000);
        let address =
            format!("{}栋{}单元{}室", 1 + pick(rng, 30), 1 + pick(rng, 4), 101 + pick(rng, 30) * 100 + pick(rng, 4));
        let description = text(rng, SENTENCES, DESCRIPTION_CHARS);
        let edits = (0..ENTRIES).map(|_| CaseEdit::AddNote(text(rng, NOTES, ENTRY_CHARS))).collect();
        let channel = if pick(rng, 3) == 0 { Channel::Online } else { Channel::Phone };
        let priority = if pick(rng, 5) == 0 { Priority::Urgent } else { Priority::Normal };
        let new = NewCase {
            kind,
            channel,
            customer: Customer { name, phone, address },
            subject: subject.to_string(),
            description,
            priority,
            service: None,
        };
        CaseScript { new, edits }
    }
}

/// An index into a pool of `len`.
fn pick(rng: &mut SplitMix64, len: usize) -> usize {
    (rng.next_u64() % len as u64) as usize
}

/// Sentences from `pool` until the text reaches `chars` characters.
fn text(rng: &mut SplitMix64, pool: &[&str], chars: usize) -> String {
    let mut out = String::new();
    while out.chars().count() < chars {
        out.push_str(pool[pick(rng, pool.len())]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_has_the_fields_shape_and_repeats_with_its_seed() {
        let case = CaseScript::generate(7);
        let chars = case.new.description.chars().count();
        assert!((DESCRIPTION_CHARS..DESCRIPTION_CHARS + 60).contains(&chars), "{chars} characters");
        assert_eq!(case.edits.len(), ENTRIES);
        for edit in &case.edits {
            let CaseEdit::AddNote(note) = edit else { panic!("a note: {edit:?}") };
            assert!((ENTRY_CHARS..ENTRY_CHARS * 2).contains(&note.chars().count()), "{note}");
        }
        assert_eq!(case.new.customer.phone.len(), 11);
        assert_eq!(CaseScript::generate(7).new, case.new, "the same seed gives the same case");
        assert_ne!(CaseScript::generate(8).new, case.new);
    }
}
