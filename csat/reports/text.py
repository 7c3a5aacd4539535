"""Headings and words of the survey report in English and Chinese, and display formatting.

Data (JSON) keeps raw numbers; these helpers only shape what people read.
"""

from __future__ import annotations

from typing import Any

HEADINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Customer satisfaction survey {period}",
        "trend_title": "Customer satisfaction trend",
        "company": "Company",
        "period": "Period",
        "generated": "Generated",
        "invited": "Invited",
        "responses": "Responses",
        "response_rate": "Response rate",
        "csi": "CSI",
        "csi_long": "Customer satisfaction index (CSI)",
        "previous_csi": "Previous CSI",
        "action_limit": "Action limit",
        "summary": "Summary",
        "items": "Items",
        "item": "Item",
        "code": "Code",
        "n": "n",
        "mean": "Mean",
        "sd": "SD",
        "median": "Median",
        "min": "Min",
        "max": "Max",
        "ci": "95% CI",
        "ci_low": "CI low",
        "ci_high": "CI high",
        "below_share": "Below limit",
        "top_box_share": "Top box",
        "previous_mean": "Previous",
        "change": "Change",
        "status": "Status",
        "reason": "Reason",
        "limit": "Limit",
        "weight": "Weight",
        "flagged": "Items needing action",
        "no_flags": "No item is below its action limit or at risk.",
        "no_flags_no_data": "No responses yet: no item can be scored against its action limit.",
        "trend": "Trend",
        "drivers": "Key drivers",
        "drivers_overall": "Correlation of each item with the respondent's overall satisfaction item.",
        "drivers_weighted": "Correlation of each item with the respondent's weighted score over all items.",
        "correlation": "Correlation",
        "focus": "Of the items needing action, {label} matters most (r = {r}).",
        "customers": "Customers",
        "lowest": "Lowest-scoring customers",
        "customer": "Customer",
        "name": "Name",
        "score": "Score",
        "n_answers": "Answers",
        "respondents": "Respondents",
        "comments": "Comments",
        "no_comments": "No comments.",
        "respondent": "Respondent",
        "answered_on": "Answered on",
        "comment": "Comment",
        "answers": "Answers",
        "round": "Round",
        "no_responses": "The {period} round has no responses yet ({invited} invited): nothing to score.",
        "not_applicable": "N/A",
        "chart_mean": "Mean",
        "chart_limit": "Action limit",
        "small_note": "* fewer than {min_n} answers: read the mean and its interval with care.",
    },
    "zh": {
        "title": "{period} 顾客满意度调查统计分析",
        "trend_title": "顾客满意度趋势",
        "company": "公司",
        "period": "期间",
        "generated": "生成时间",
        "invited": "发放份数",
        "responses": "回收份数",
        "response_rate": "回收率",
        "csi": "满意度指数",
        "csi_long": "顾客满意度指数 (CSI)",
        "previous_csi": "上期满意度指数",
        "action_limit": "行动限",
        "summary": "概况",
        "items": "调查项目",
        "item": "项目",
        "code": "代码",
        "n": "样本数",
        "mean": "平均分",
        "sd": "标准差",
        "median": "中位数",
        "min": "最低分",
        "max": "最高分",
        "ci": "95% 置信区间",
        "ci_low": "置信下限",
        "ci_high": "置信上限",
        "below_share": "低于行动限比例",
        "top_box_share": "高分比例",
        "previous_mean": "上期",
        "change": "变化",
        "status": "状态",
        "reason": "原因",
        "limit": "行动限",
        "weight": "权重",
        "flagged": "需采取措施的项目",
        "no_flags": "没有项目低于行动限或存在风险。",
        "no_flags_no_data": "尚无回收的答卷：无法对照行动限评价任何项目。",
        "trend": "趋势",
        "drivers": "关键驱动因素",
        "drivers_overall": "各项目与受访者“总体满意度”项目的相关系数。",
        "drivers_weighted": "各项目与受访者全部项目加权得分的相关系数。",
        "correlation": "相关系数",
        "focus": "在需采取措施的项目中，{label} 影响最大 (r = {r})。",
        "customers": "客户",
        "lowest": "得分最低的客户",
        "customer": "客户代码",
        "name": "客户名称",
        "score": "得分",
        "n_answers": "回答数",
        "respondents": "填写人数",
        "comments": "客户意见",
        "no_comments": "无意见。",
        "respondent": "填写人",
        "answered_on": "填写日期",
        "comment": "意见",
        "answers": "原始答卷",
        "round": "轮次",
        "no_responses": "{period} 轮次尚无回收的答卷（已发放 {invited} 份），无法统计。",
        "not_applicable": "不适用",
        "chart_mean": "平均分",
        "chart_limit": "行动限",
        "small_note": "* 回答少于 {min_n} 个：均值和置信区间仅供参考。",
    },
}

STATUS_WORDS = {
    "en": {"below": "below", "at_risk": "at_risk", "ok": "ok", "no_data": "no_data"},
    "zh": {"below": "低于行动限", "at_risk": "有风险", "ok": "正常", "no_data": "无数据"},
}

STATUS_COLOURS = {"below": "C00000", "at_risk": "E69500", "ok": "2E7D32", "no_data": "808080"}
STATUS_FILLS = {"below": "F8D7DA", "at_risk": "FFF3CD", "ok": "D4EDDA", "no_data": "EEEEEE"}


def headings(lang: str) -> dict[str, str]:
    return HEADINGS.get(lang, HEADINGS["en"])


def no_flags_text(data: dict[str, Any]) -> str:
    """What stands under "Items needing action" when none is flagged: a round without responses
    has nothing scored, which is not the same as nothing below the limit."""
    h = headings(data["lang"])
    return h["no_flags"] if data["responses"] else h["no_flags_no_data"]


def status_word(status: str, lang: str) -> str:
    return STATUS_WORDS.get(lang, STATUS_WORDS["en"]).get(status, status)


def number(value: Any, digits: int = 1) -> str:
    """A number for people: fixed decimals, '' for None."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}f}"


def percent(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    return f"{value * 100:.{digits}f}%"


def signed(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    return f"{value:+.{digits}f}"


def arrow(change: Any) -> str:
    """A trend arrow for a change between rounds (a tenth of a point or less is steady)."""
    if change is None:
        return ""
    if change > 0.05:
        return "↑"
    if change < -0.05:
        return "↓"
    return "→"


def n_text(item: dict[str, Any]) -> str:
    """An item's n, starred when it is a small sample (see the `small_note` under the table)."""
    return f"{item['n']}*" if item.get("small_sample") and item["n"] else str(item["n"])


def small_note(data: dict[str, Any]) -> str | None:
    """The footnote for starred n, when some item of the report is a small sample."""
    if not any(item.get("small_sample") and item["n"] for item in data["items"]):
        return None
    return headings(data["lang"])["small_note"].format(min_n=data.get("min_n", 5))


def limit_text(value: Any) -> str:
    return "" if value is None else f"{value:g}"
