"""The words on survey forms and invitation e-mails; their Chinese lives in the message catalog.

One table for the xlsx form, the printable HTML form and the e-mails, so the
three always say the same thing in the same language.
"""

from __future__ import annotations

from functools import lru_cache

from csat.i18n import NC_, in_context
from csat.periods import Half

TEXTS: dict[str, tuple[str, str]] = {
    "title": NC_("form", "Customer Satisfaction Survey"),
    "sheet": NC_("form", "Survey"),
    "company": NC_("form", "Company"),
    "customer": NC_("form", "Customer"),
    "attention": NC_("form", "Attention"),
    "period": NC_("form", "Survey period"),
    "due": NC_("form", "Please return by"),
    "instructions": NC_("form", "Please score each item from {low} (very poor) to {high} (excellent), or pick an answer from the list where one is offered. Leave a score blank if the item does not apply. Save the file and send it back by e-mail by {due}."),
    "instructions_print": NC_("form", "Please score each item from {low} (very poor) to {high} (excellent), or tick one answer where answers are listed. Leave a score blank if the item does not apply. Please return the form by {due}."),
    "number": NC_("form", "No."),
    "item": NC_("form", "Item"),
    "description": NC_("form", "Description"),
    "score": NC_("form", "Score"),
    "comment": NC_("form", "Comment"),
    "overall_comment": NC_("form", "Overall comments and suggestions"),
    "respondent": NC_("form", "Respondent (name)"),
    "respondent_title": NC_("form", "Position / title"),
    "date": NC_("form", "Date"),
    "contact_line": NC_("form", "Questions about this survey: {contact}"),
    "thanks": NC_("form", "Thank you for your time and your trust."),
    "score_error_title": NC_("form", "Score out of range"),
    "score_error": NC_("form", "Enter a number from {low} to {high}, or leave the cell blank."),
    "choice_error_title": NC_("form", "Pick from the list"),
    "choice_error": NC_("form", "Choose one of the answers in the list, or leave the cell blank."),
    "subject": NC_("form", "{company}: customer satisfaction survey, {period}"),
    "choices_hint": NC_("form", "Tick one"),
    "scale_hint": NC_("form", "{low}-{high}"),
    "signature": NC_("form", "Signature / company stamp"),
}


@lru_cache(maxsize=None)   # the catalogs do not change while csat runs; imports ask per sheet
def texts(language: str) -> dict[str, str]:
    """The words for a language, from the message catalog (context "form"); anything other than zh gets English."""
    return {key: in_context("zh" if language == "zh" else "en", *word) for key, word in TEXTS.items()}


_HALVES = (NC_("form", "January to June {year}"), NC_("form", "July to December {year}"))


def period_label(period: str, language: str) -> str:
    """A half year as customers say it: `January to June 2024`, `2024年上半年（1-6月）`."""
    half = Half.parse(period)
    return in_context(language, *_HALVES[half.number - 1], year=half.year)


def number_text(value: float) -> str:
    return f"{value:g}"
