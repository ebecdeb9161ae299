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
