//! The console's two languages: Chinese (zh-CN, the default) and English, picked by the
//! `kefu_lang` cookie that the language switch sets. Every visible string is a key of [`TEXTS`];
//! codes from the API (status, kind, ...) are keys too, so a page shows `处理中`, not
//! `in_progress`.
//!
//! Leaves out: dates, which are shown in the team's offset in both languages (ISO order).

use axum::http::HeaderMap;

use super::session::cookie;

/// The language cookie's name.
pub const LANG_COOKIE: &str = "kefu_lang";

/// A language of the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文 (default).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language a request asked for (its cookie), Chinese otherwise.
    pub fn of(headers: &HeaderMap) -> Lang {
        match cookie(headers, LANG_COOKIE) {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The code for a `lang` attribute and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The text of an API code in a family of keys (`request.status.` + `pending`).
    pub fn code_text(self, family: &str, code: &str) -> String {
        self.t(&format!("{family}{code}"))
    }

    /// The text for `key`; the key itself when it has none (an unknown code shows as sent).
    pub fn t(self, key: &str) -> String {
        TEXTS
            .iter()
            .find(|(candidate, _, _)| *candidate == key)
            .map_or_else(|| key.to_string(), |(_, zh, en)| if self == Lang::Zh { *zh } else { *en }.to_string())
    }
}

/// (key, 中文, English).
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("app", "客服主管台", "Supervisor console"),
    ("nav.cases", "工单", "Cases"),
    ("nav.duty", "值班记录", "Duty log"),
    ("nav.monthly", "月度统计", "Monthly figures"),
    ("nav.switch", "English", "中文"),
    ("sign_in", "登录", "Sign in"),
    ("sign_out", "退出", "Sign out"),
    ("user", "用户名", "User name"),
    ("password", "密码", "Password"),
    ("sign_in.failed", "用户名或密码不正确。", "Wrong user name or password."),
    (
        "sign_in.token",
        "设备令牌不能用于登录，请向管理员申请主管账号。",
        "Device tokens cannot sign in; ask an administrator for a console account.",
    ),
    ("sign_in.throttled", "登录失败次数过多，请稍后再试（秒）：", "Too many failed sign-ins; try again in (seconds): "),
    ("team", "班组", "Team"),
    ("filter", "筛选", "Filter"),
    ("search", "搜索（单号、客户、电话、主题）", "Search (number, customer, phone, subject)"),
    ("any", "全部", "Any"),
    ("status", "状态", "Status"),
    ("kind", "类型", "Kind"),
    ("overdue", "已超时", "Overdue"),
    ("assignee", "处理人", "Assignee"),
    ("department", "部门", "Department"),
    ("from", "开始日期", "From"),
    ("to", "结束日期", "To"),
    ("number", "单号", "Number"),
    ("subject", "主题", "Subject"),
    ("customer", "客户", "Customer"),
    ("phone", "电话", "Phone"),
    ("address", "地址", "Address"),
    ("priority", "优先级", "Priority"),
    ("opened", "受理时间", "Opened"),
    ("reply_due", "答复时限", "Reply due"),
    ("no_cases", "没有符合条件的工单。", "No cases match."),
    ("live", "实时更新", "Live"),
    ("updated", "已更新", "Updated"),
    ("timeline", "处理记录", "Timeline"),
    ("description", "描述", "Description"),
    ("due_times", "时限", "Due times"),
    ("reply", "答复", "Reply"),
    ("return_visit", "回访", "Return visit"),
    ("due", "期限", "due"),
    ("done_at", "完成于", "done at"),
    (
        "conflict",
        "状态冲突：两台设备同时把工单改成了不同状态，请核实：",
        "Status conflict: two devices changed the status at the same time, to: ",
    ),
    ("satisfaction", "满意度", "Satisfaction"),
    ("none", "无", "none"),
    ("month", "月份", "Month"),
    ("count.received", "受理", "Received"),
    ("count.dispatched", "派单", "Dispatched"),
    ("count.completed", "办结", "Completed"),
    ("count.return_visited", "已回访", "Return-visited"),
    ("handling_rate", "处理率", "Handling rate"),
    ("timeliness_rate", "及时率", "Timeliness rate"),
    ("satisfaction_rate", "满意率", "Satisfaction rate"),
    ("return_visit_rate", "回访率", "Return-visit rate"),
    ("no_data", "无数据", "no data"),
    ("num_den", "分子 / 分母", "counted / of"),
    ("last_12", "近 12 个月处理率与及时率", "Handling and timeliness, last 12 months"),
    ("export_csv", "导出 CSV", "Export CSV"),
    ("export_xlsx", "导出 Excel", "Export XLSX"),
    ("all_cases", "全部", "All"),
    ("repairs", "报修", "Repairs"),
    ("complaints", "投诉", "Complaints"),
    ("date", "日期", "Date"),
    ("shift", "班次", "Shift"),
    ("weather", "天气", "Weather"),
    ("on_duty", "值班人员", "On duty"),
    ("entries", "记录", "Entries"),
    ("handover", "交接事项", "Handed over"),
    ("handed_to_today", "上一班交接的事项", "Handed over by the outgoing shift"),
    ("no_log", "本班次没有记录。", "No log for this shift."),
    ("show", "查看", "Show"),
    // Codes of the API.
    ("new", "新建", "New"),
    ("dispatched", "已派单", "Dispatched"),
    ("in_progress", "处理中", "In progress"),
    ("completed", "已办结", "Completed"),
    ("closed", "已关闭", "Closed"),
    ("consultation", "咨询", "Consultation"),
    ("complaint", "投诉", "Complaint"),
    ("suggestion", "建议", "Suggestion"),
    ("repair", "报修", "Repair"),
    ("help", "求助", "Help"),
    ("low", "低", "Low"),
    ("normal", "普通", "Normal"),
    ("high", "高", "High"),
    ("urgent", "紧急", "Urgent"),
    ("met", "按时完成", "met"),
    ("met_late", "超时完成", "met late"),
    ("pending", "未到期", "pending"),
    ("very_satisfied", "非常满意", "Very satisfied"),
    ("satisfied", "满意", "Satisfied"),
    ("neutral", "一般", "Neutral"),
    ("dissatisfied", "不满意", "Dissatisfied"),
    ("very_dissatisfied", "非常不满意", "Very dissatisfied"),
    ("note", "备注", "Note"),
    ("transfer", "转派", "Transfer"),
    ("feedback", "反馈", "Feedback"),
    ("attachment", "附件", "Attachment"),
    ("day", "白班", "Day"),
    ("midday", "午间值班", "Midday"),
    ("evening", "晚班", "Evening"),
    ("night", "夜间值守", "Night"),
    ("call", "来电", "Call"),
    ("visit", "来访", "Visit"),
    ("dispatch", "派工", "Dispatch"),
    ("incident", "事件", "Incident"),
    // Requests from the phones and attendance.
    ("nav.requests", "请假调休换班", "Requests"),
    ("nav.attendance", "考勤", "Attendance"),
    ("requests.none", "暂无申请。", "No requests."),
    ("requests.staff", "人员", "Staff"),
    ("requests.what", "日期或班次", "Days or shift"),
    ("requests.note", "说明", "Note"),
    ("requests.made", "提交时间", "Made"),
    ("requests.reason", "理由", "Reason"),
    ("requests.approve", "批准", "Approve"),
    ("requests.refuse", "驳回", "Refuse"),
    ("requests.breaches", "批准将违反：", "Approving would break:"),
    ("requests.accept_breaches", "仍然批准", "Approve all the same"),
    ("request.leave", "请假", "Leave"),
    ("request.lieu", "调休", "Comp day"),
    ("request.swap", "换班", "Swap"),
    ("request.status.awaiting_colleague", "待同事确认", "Awaiting colleague"),
    ("request.status.declined", "同事已拒绝", "Declined by colleague"),
    ("request.status.pending", "待审批", "Pending"),
    ("request.status.approved", "已批准", "Approved"),
    ("request.status.refused", "已驳回", "Refused"),
    ("request.status.withdrawn", "已撤回", "Withdrawn"),
    ("attendance.month", "月份", "Month"),
    ("attendance.scale", "十分制：", "Ten-point scale:"),
    ("attendance.score", "得分", "Score"),
    ("attendance.deductions", "扣分", "Deductions"),
    ("attendance.warning", "警告", "Warning"),
    ("attendance.penalty", "处罚", "Penalty"),
    ("attendance.shift", "班次", "Shift"),
    ("attendance.checked_in", "签到", "Checked in"),
    ("attendance.checked_out", "签退", "Checked out"),
    ("attendance.correct", "更正", "Correct"),
    ("attendance.corrected", "已更正", "Corrected"),
    ("attendance.history", "更正记录", "Corrections"),
    ("attendance.record", "记录", "Record"),
    ("attendance.present", "正常", "Present"),
    ("attendance.late", "迟到", "Late"),
    ("attendance.absent", "缺勤（迟到超30分钟）", "Absent (over 30 min late)"),
    ("attendance.unexcused", "旷工", "Absent without leave"),
    ("attendance.excused", "请假", "On leave"),
    ("attendance.open", "未到判定时间", "Not yet judged"),
    ("attendance.leave_past_allowance", "超出每月4天的假", "Leave past the monthly four"),
    ("attendance.desk_login", "未登录网上客服", "Not logged in to the desk"),
    ("attendance.slow_answer", "答复慢被投诉", "Complaint: slow answer"),
    ("attendance.rude", "服务态度被投诉", "Complaint: rude service"),
    // The roster.
    ("nav.roster", "排班", "Roster"),
    ("nav.team", "排班资料", "Team"),
    (
        "team.title",
        "排班资料（岗位、班次、人员、合同、请假调休、意愿）",
        "Roster input (posts, shifts, staff, contracts, leave, wishes)",
    ),
    ("team.save", "保存", "Save"),
    ("team.saved", "已保存", "Saved"),
    ("team.version", "版本", "Version"),
    ("team.by", "保存人", "Saved by"),
    ("team.import", "导入团队文件（TOML）", "Import a team file (TOML)"),
    ("team.import_button", "导入", "Import"),
    ("team.export", "导出 TOML", "Export TOML"),
    ("team.none", "尚无排班资料，请先导入团队文件（TOML）。", "No roster input yet: import a team file (TOML) first."),
    ("team.warnings", "提示", "Warnings"),
    ("team.errors", "有错误，未保存：", "Not saved; errors: "),
    ("team.remove", "删除", "Remove"),
    ("team.add", "新增", "Add"),
    (
        "team.hint",
        "文字直接填写；列表与表格用 TOML 写法，如 [\"前台\"]。",
        "Type text as it is; lists and tables in TOML, e.g. [\"reception\"].",
    ),
    ("section.top", "基本信息", "General"),
    ("section.staff", "人员", "Staff"),
    ("section.posts", "岗位", "Posts"),
    ("section.shifts", "班次", "Shifts"),
    ("section.seasons", "季节", "Seasons"),
    ("section.period", "排班周期", "Period"),
    ("section.rules", "规则", "Rules"),
    ("section.default_contract", "默认合同", "Default contract"),
    ("roster.title", "排班表", "Roster"),
    ("roster.none", "还没有排班表：点“生成排班”。", "No roster yet: press Generate."),
    ("roster.generate", "生成排班", "Generate"),
    ("roster.time_limit", "时限（秒）", "Time limit (s)"),
    ("roster.cancel", "取消", "Cancel"),
    ("roster.best", "当前最优", "Best"),
    ("roster.bound", "下界", "Bound"),
    ("roster.gap", "差距 %", "Gap %"),
    ("roster.elapsed", "已用秒数", "Elapsed (s)"),
    ("roster.phase.running", "计算中", "Running"),
    ("roster.phase.done", "已完成", "Done"),
    ("roster.phase.failed", "失败", "Failed"),
    ("roster.phase.cancelled", "已取消", "Cancelled"),
    ("roster.by_person", "按人员", "By person"),
    ("roster.by_post", "按岗位", "By post"),
    ("roster.violations", "违反的硬性规则", "Broken hard rules"),
    ("roster.no_violations", "所有硬性规则均满足。", "Every hard rule is met."),
    ("roster.move", "手工调班", "Move a shift"),
    ("roster.move_from", "原值班人", "From"),
    ("roster.move_to", "改由", "To"),
    ("roster.nobody", "（不安排）", "(nobody)"),
    ("roster.move_button", "调整并检查", "Move and check"),
    ("roster.publish", "发布", "Publish"),
    ("roster.published", "已发布", "Published"),
    ("roster.draft", "草稿", "Draft"),
    ("roster.versions", "版本", "Versions"),
    ("roster.print", "打印", "Print"),
    ("roster.ical", "导出 iCal", "Export iCal"),
    ("roster.made", "生成或修改", "Made"),
    ("roster.team_version", "排班资料版本", "Input version"),
    ("optimal", "最优", "optimal"),
    ("feasible", "可行", "feasible"),
    ("infeasible", "无可行解", "infeasible"),
    ("time_limit", "超时未满足全部规则", "time limit, rules unmet"),
    // Keys of the team file, as the team form labels them.
    ("key.id", "编号", "id"),
    ("key.name", "名称", "name"),
    ("key.roles", "角色", "roles"),
    ("key.posts", "岗位", "posts"),
    ("key.contract", "合同", "contract"),
    ("key.days_off", "固定休息日", "fixed days off"),
    ("key.leave", "请假与调休", "leave and comp days"),
    ("key.requests", "申请休息日", "days off asked for"),
    ("key.prefer", "意愿", "wishes"),
    ("key.leave_taken", "本月已请假天数", "leave already taken"),
    ("key.rotation_start", "轮岗起点", "rotation start"),
    ("key.need", "人数需求", "staffing need"),
    ("key.lunch_relief", "午餐顶岗岗位", "lunch relief post"),
    ("key.start", "开始", "start"),
    ("key.end", "结束", "end"),
    ("key.days", "适用日", "days"),
    ("key.lunch", "午餐", "lunch"),
    ("key.night", "夜班", "night"),
    ("key.paid_hours", "计薪小时", "paid hours"),
    ("key.slot_minutes", "时间格（分钟）", "slot (minutes)"),
    ("key.holidays", "节假日", "holidays"),
    ("key.working_days", "调休上班日", "make-up working days"),
    ("key.min_on_duty", "最少在岗人数", "minimum on duty"),
    ("key.max_leave_per_month", "每月请假上限", "monthly leave cap"),
    ("key.handover_minutes", "交接分钟数", "handover minutes"),
    ("key.weights", "权重", "weights"),
    ("key.max_hours_per_week", "每周最多工时", "max hours a week"),
    ("key.min_hours_per_week", "每周最少工时", "min hours a week"),
    ("key.max_consecutive_days", "最多连续上班天数", "max consecutive days"),
    ("key.min_rest_hours", "班间最少休息小时", "min rest hours"),
    ("key.from", "从", "from"),
    ("key.to", "到", "to"),
    ("key.duty_day_start", "值班日起点", "duty day start"),
    ("key.rotation", "轮岗", "rotation"),
    ("key.handover_chains", "交接链", "handover chains"),
    ("key.daily", "每日角色要求", "daily roles"),
    ("key.leave_day_hours", "请假日计工时", "hours of a leave day"),
    ("key.season", "季节", "season"),
    ("rule.coverage", "岗位人数", "Coverage"),
    ("rule.min_on_duty", "最少在岗", "Minimum on duty"),
    ("rule.lunch", "午餐轮换", "Lunch"),
    ("rule.leave", "请假/休息日", "Leave"),
    ("rule.leave_cap", "每月请假上限", "Leave cap"),
    ("rule.one_shift_per_day", "每天一班", "One shift a day"),
    ("rule.rest", "班间休息", "Rest"),
    ("rule.max_consecutive_days", "连续上班天数", "Consecutive days"),
    ("rule.weekly_hours", "每周工时", "Weekly hours"),
    ("rule.rotation", "轮岗", "Rotation"),
    ("rule.eligibility", "岗位资格", "Eligibility"),
    ("rule.handover", "交接班", "Handover"),
    ("rule.shift_template", "班次模板", "Shift template"),
    ("rule.daily_role", "每日角色", "Daily role"),
    ("rule.night_duty", "夜班", "Night duty"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        for (at, (key, zh, en)) in TEXTS.iter().enumerate() {
            assert!(!zh.is_empty() && !en.is_empty(), "{key} lacks a text");
            assert!(TEXTS[..at].iter().all(|(other, _, _)| other != key), "{key} twice");
        }
        assert_eq!(Lang::Zh.t("in_progress"), "处理中");
        assert_eq!(Lang::En.t("in_progress"), "In progress");
        assert_eq!(Lang::En.t("unknown_code"), "unknown_code");
    }
}
