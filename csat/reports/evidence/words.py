"""The pack's sheet names, headings and sentences, in the pack's language (catalog context "evidence pack")."""

from __future__ import annotations

from csat.i18n import NC_, in_context

_WORDS: dict[str, tuple[str, str]] = {
    # sheet names (Excel allows 31 characters)
    "sheet_cover": NC_("evidence sheet", "Cover"),
    "sheet_coverage": NC_("evidence sheet", "Coverage"),
    "sheet_responses": NC_("evidence sheet", "Responses"),
    "sheet_answers": NC_("evidence sheet", "Answers"),
    "sheet_flagged": NC_("evidence sheet", "Flagged items"),
    "sheet_complaints": NC_("evidence sheet", "Complaint register"),
    "sheet_summaries": NC_("evidence sheet", "Quarterly summaries"),
    "sheet_gaps": NC_("evidence sheet", "Gaps"),
    "sheet_audit": NC_("evidence sheet", "Audit entries"),
    # cover
    "title": NC_("evidence pack", "Audit evidence pack {half}"),
    "company": NC_("evidence pack", "Company"),
    "half": NC_("evidence pack", "Half year"),
    "from_to": NC_("evidence pack", "Period covered"),
    "built_at": NC_("evidence pack", "Built on"),
    "built_by": NC_("evidence pack", "Built by"),
    "host": NC_("evidence pack", "Machine"),
    "version": NC_("evidence pack", "csat version"),
    "schema": NC_("evidence pack", "Store schema"),
    "language": NC_("evidence pack", "Language"),
    "content_hash": NC_("evidence pack", "Content hash (SHA-256 of the sheets' values)"),
    "rows": NC_("evidence pack", "Rows"),
    "sheet": NC_("evidence pack", "Sheet"),
    "empty_half": NC_("evidence pack", "{half} has no survey round: no customer was surveyed in this half year."),
    "no_answers_half": NC_("evidence pack", "{half} has a survey round but no answers."),
    "hash_note": NC_("evidence pack", "The hash covers every sheet after this one; recompute it from the file to show the pack is unchanged."),
    # shared headings
    "customer": NC_("evidence pack", "Customer"),
    "customer_name": NC_("evidence pack", "Customer name"),
    "active": NC_("evidence pack", "Active"),
    "has_email": NC_("evidence pack", "E-mail on file"),
    "round": NC_("evidence pack", "Survey round"),
    "code": NC_("evidence pack", "Code"),
    "yes": NC_("evidence pack", "yes"),
    "no": NC_("evidence pack", "no"),
    # coverage
    "invited_on": NC_("evidence pack", "Invited on"),
    "how": NC_("evidence pack", "How invited"),
    "answered_on": NC_("evidence pack", "Answered on"),
    "source": NC_("evidence pack", "Source"),
    "why_not": NC_("evidence pack", "Why no answer"),
    # answers
    "response": NC_("evidence pack", "Response"),
    "respondent": NC_("evidence pack", "Respondent"),
    "item": NC_("evidence pack", "Item"),
    "item_label": NC_("evidence pack", "Item label"),
    "score": NC_("evidence pack", "Score"),
    "not_applicable": NC_("evidence pack", "Not applicable"),
    "raw": NC_("evidence pack", "As written"),
    "comment": NC_("evidence pack", "Comment"),
    "response_comment": NC_("evidence pack", "Overall comment"),
    "file": NC_("evidence pack", "File"),
    "file_sha256": NC_("evidence pack", "SHA-256 of the file"),
    "file_sheet": NC_("evidence pack", "Sheet in file"),
    "file_row": NC_("evidence pack", "Row in file"),
    "token": NC_("evidence pack", "Form token"),
    "hash": NC_("evidence pack", "Content hash"),
    "imported_at": NC_("evidence pack", "Imported on"),
    "imported_by": NC_("evidence pack", "Imported by"),
    "withdrawn": NC_("evidence pack", "Withdrawn"),
    "no_answers": NC_("evidence pack", "No answers in {half}."),
    # flagged items
    "status": NC_("evidence pack", "Status"),
    "mean": NC_("evidence pack", "Mean"),
    "action_limit": NC_("evidence pack", "Action limit"),
    "reason": NC_("evidence pack", "Reason"),
    "capa": NC_("evidence pack", "CAPA"),
    "capa_status": NC_("evidence pack", "CAPA status"),
    "opened": NC_("evidence pack", "Opened"),
    "due": NC_("evidence pack", "Due"),
    "closed": NC_("evidence pack", "Closed"),
    "check": NC_("evidence pack", "Check"),
    "verified_on": NC_("evidence pack", "Verified on"),
    "verified_by": NC_("evidence pack", "Verified by"),
    "result": NC_("evidence pack", "Result"),
    "note": NC_("evidence pack", "Note"),
    "entered_at": NC_("evidence pack", "Entered on"),
    "no_capa": NC_("evidence pack", "no CAPA"),
    "no_flagged": NC_("evidence pack", "No item of {half} is below its action limit or at risk."),
    # complaints
    "number": NC_("evidence pack", "No."),
    "received": NC_("evidence pack", "Received"),
    "kind": NC_("evidence pack", "Kind"),
    "channel": NC_("evidence pack", "Channel"),
    "product": NC_("evidence pack", "Product"),
    "reply_due": NC_("evidence pack", "Reply due"),
    "replied_at": NC_("evidence pack", "Replied"),
    "reply_days": NC_("evidence pack", "Reply time (working days)"),
    "deadline": NC_("evidence pack", "Deadline"),
    "void": NC_("evidence pack", "Void"),
    "no_complaints": NC_("evidence pack", "No complaint was received in {half}."),
    # summaries
    "quarter": NC_("evidence pack", "Quarter"),
    "summary_version": NC_("evidence pack", "Version"),
    "summarised_at": NC_("evidence pack", "Summarised on"),
    "made_by": NC_("evidence pack", "Made by"),
    "figures": NC_("evidence pack", "Figures as recorded (JSON)"),
    "entries": NC_("evidence pack", "Entries"),
    "complaints": NC_("evidence pack", "Complaints"),
    "not_summarised": NC_("evidence pack", "not summarised"),
    # gaps
    "rule": NC_("evidence pack", "Rule"),
    "severity": NC_("evidence pack", "Severity"),
    "record": NC_("evidence pack", "Record"),
    "what": NC_("evidence pack", "What"),
    "fix": NC_("evidence pack", "What to do"),
    "no_gaps": NC_("evidence pack", "No gap found in {half}."),
    # audit entries
    "entry": NC_("evidence pack", "Entry"),
    "at": NC_("evidence pack", "When"),
    "actor": NC_("evidence pack", "Who"),
    "table": NC_("evidence pack", "Record kind"),
    "record_id": NC_("evidence pack", "Record id"),
    "key": NC_("evidence pack", "Key"),
    "action": NC_("evidence pack", "Action"),
    "changes": NC_("evidence pack", "Changes"),
}


def word(key: str, lang: str, **fields) -> str:
    return in_context(lang, *_WORDS[key], **fields)


def yes_no(value: bool, lang: str) -> str:
    return word("yes" if value else "no", lang)
