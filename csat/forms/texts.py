"""The words on survey forms and invitation e-mails, in English and Chinese.

One table for the xlsx form, the printable HTML form and the e-mails, so the
three always say the same thing in the same language.
"""

from __future__ import annotations

from csat.periods import Half

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Customer Satisfaction Survey",
        "sheet": "Survey",
        "company": "Company",
        "customer": "Customer",
        "attention": "Attention",
        "period": "Survey period",
        "due": "Please return by",
        "instructions": ("Please score each item from {low} (very poor) to {high} (excellent), or pick an answer "
                         "from the list where one is offered. Leave a score blank if the item does not apply. "
                         "Save the file and send it back by e-mail by {due}."),
        "instructions_print": ("Please score each item from {low} (very poor) to {high} (excellent), or tick one answer "
                               "where answers are listed. Leave a score blank if the item does not apply. "
                               "Please return the form by {due}."),
        "number": "No.",
        "item": "Item",
        "description": "Description",
        "score": "Score",
        "comment": "Comment",
        "overall_comment": "Overall comments and suggestions",
        "respondent": "Respondent (name)",
        "respondent_title": "Position / title",
        "date": "Date",
        "contact_line": "Questions about this survey: {contact}",
        "thanks": "Thank you for your time and your trust.",
        "score_error_title": "Score out of range",
        "score_error": "Enter a number from {low} to {high}, or leave the cell blank.",
        "choice_error_title": "Pick from the list",
        "choice_error": "Choose one of the answers in the list, or leave the cell blank.",
        "subject": "{company}: customer satisfaction survey, {period}",
        "choices_hint": "Tick one",
        "scale_hint": "{low}-{high}",
        "signature": "Signature / company stamp",
    },
    "zh": {
        "title": "客户满意度调查表",
        "sheet": "调查表",
        "company": "公司",
        "customer": "客户",
        "attention": "联系人",
        "period": "调查期间",
        "due": "请于以下日期前回复",
        "instructions": ("请对每个项目按 {low}（很差）至 {high}（非常好）评分；如有下拉选项，请从列表中选择。"
                         "不适用的项目请留空。填写完成后请保存文件，并于 {due} 前通过电子邮件回复。"),
        "instructions_print": ("请对每个项目按 {low}（很差）至 {high}（非常好）评分；如列有选项，请勾选一项。"
                               "不适用的项目请留空。请于 {due} 前交回本表。"),
        "number": "序号",
        "item": "项目",
        "description": "说明",
        "score": "评分",
        "comment": "意见",
        "overall_comment": "总体意见及建议",
        "respondent": "填表人（姓名）",
        "respondent_title": "职务",
        "date": "日期",
        "contact_line": "如对本调查有任何疑问，请联系：{contact}",
        "thanks": "感谢您的支持与信任！",
        "score_error_title": "评分超出范围",
        "score_error": "请输入 {low} 至 {high} 之间的数字，或留空。",
        "choice_error_title": "请从列表中选择",
        "choice_error": "请从列表中选择一个答案，或留空。",
        "subject": "{company}客户满意度调查：{period}",
        "choices_hint": "请勾选一项",
        "scale_hint": "{low}-{high}",
        "signature": "签名 / 公司盖章",
    },
}


def texts(language: str) -> dict[str, str]:
    """The words for a language; anything other than zh gets English."""
    return TEXTS["zh" if language == "zh" else "en"]


def period_label(period: str, language: str) -> str:
    """A half year as customers say it: `January to June 2024`, `2024年上半年（1-6月）`."""
    half = Half.parse(period)
    if language == "zh":
        return f"{half.year}年上半年（1-6月）" if half.number == 1 else f"{half.year}年下半年（7-12月）"
    return f"January to June {half.year}" if half.number == 1 else f"July to December {half.year}"


def number_text(value: float) -> str:
    return f"{value:g}"
