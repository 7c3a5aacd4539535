"""The audit evidence pack of a half year: one workbook (or a zip with the source files) an auditor can read.

`build_pack` writes the sheets in this order: a cover (company, half, who built it
when, csat version, rows per sheet, the content hash), coverage (customers x half
years), every response of the half with its source (file, form token, content hash,
imported when and by whom), every answer with its response, flagged items with their CAPAs
and every effectiveness check, the complaint register, the quarterly summaries,
the gaps of `csat check`, and the audit entries of the half. Codes are shown as
words in the pack's language with the code in a column of its own where a reader
may filter on it. Nothing is a formula; the pack only reads the store.

A .zip holds the workbook and the files the half's responses were imported from,
under sources/, with manifest.json saying which were found and which were missing.
The file is written to a temporary name and moved into place: a failed build
leaves nothing behind. All sheets are read in one transaction that sees one state of
the store (REPEATABLE READ on PostgreSQL), so the counts and the hash agree with each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

from csat import vocabulary
from csat.i18n import _
from csat.periods import Half
from csat.reports.evidence import answers as answer_rows
from csat.reports.evidence import coverage, records
from csat.reports.evidence.words import word, yes_no
from csat.reports.evidence.workbook import ContentHash, PackSheet, new_workbook, pack_hash, title_style

SUFFIXES = (".xlsx", ".zip")

__all__ = ["SUFFIXES", "PackResult", "build_pack", "pack_hash"]


@dataclass
class PackResult:
    path: Path
    half: str
    content_hash: str
    counts: dict[str, int]                      # sheet key -> data rows
    sources: list[dict[str, Any]] = field(default_factory=list)   # zip only: the manifest's files
    empty: bool = False                         # the half has no round

    def record(self) -> dict[str, Any]:
        return {"path": str(self.path), "half": self.half, "content_hash": self.content_hash, "counts": self.counts,
                "sources": self.sources, "empty": self.empty}


def check_output(path: Path) -> None:
    if Path(path).suffix.lower() not in SUFFIXES:
        raise ValueError(_("{name}: an evidence pack is written as {suffixes}", name=Path(path).name,
                           suffixes=", ".join(SUFFIXES)))


def build_pack(session, settings, half: Half | str, output: Path, lang: str | None = None, *,
               outbox: Optional[Path] = None, now: datetime | None = None) -> PackResult:
    """Write the evidence pack of `half` to output (.xlsx, or .zip with the source files)."""
    from csat.files import replace_into

    half = Half.parse(str(half))
    output = Path(output)
    check_output(output)
    if session.get_bind().dialect.name == "postgresql":
        # Every sheet reads the same moment of the store, whatever others write meanwhile (SQLite's read
        # transaction is a snapshot already); only possible before the session's first statement.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    lang = vocabulary.lang_of(lang or vocabulary.staff_lang(settings))
    now = (now or datetime.now()).replace(microsecond=0)
    result: dict[str, Any] = {}

    def write_workbook(target: Path) -> None:
        result.update(_write_workbook(session, settings, half, target, lang, outbox, now))

    if output.suffix.lower() == ".xlsx":
        replace_into(output, write_workbook)
        return PackResult(output, str(half), result["hash"], result["counts"], empty=result["empty"])

    def write_zip(target: Path) -> None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="csat-pack-") as folder:
            workbook = Path(folder) / f"evidence-{half}.xlsx"
            write_workbook(workbook)
            result["sources"] = _write_zip(session, target, workbook, result["source_files"], half, result["hash"], now)

    replace_into(output, write_zip)
    return PackResult(output, str(half), result["hash"], result["counts"], result["sources"], result["empty"])


def _write_workbook(session, settings, half: Half, path: Path, lang: str, outbox: Optional[Path],
                    now: datetime) -> dict[str, Any]:
    from csat.store.audit import actor, host

    workbook = new_workbook()
    content = ContentHash()
    cover = workbook.create_sheet(word("sheet_cover", lang))
    round_ = records.round_of(session, half)
    sheets: dict[str, PackSheet] = {}
    sheets["coverage"] = _coverage(workbook, session, half, lang, outbox, content)
    sheets["responses"], source_files = _responses(workbook, session, half, round_, lang, content)
    sheets["answers"] = _answers(workbook, session, half, round_, lang, content)
    sheets["flagged"] = _flagged(workbook, session, settings, half, lang, content)
    sheets["complaints"] = _complaints(workbook, session, settings, half, lang, now.date(), content)
    sheets["summaries"] = _summaries(workbook, session, half, lang, content)
    sheets["gaps"] = write_gaps(workbook, records.gaps_for_pack(session, settings, half, lang), half, lang, content)
    sheets["audit"] = _audit(workbook, session, half, round_, lang, content)
    digest = content.hexdigest()
    counts = {key: sheet.rows for key, sheet in sheets.items()}

    from csat import __version__
    from csat.store.migrations import HEAD

    from openpyxl.cell import WriteOnlyCell

    title = WriteOnlyCell(cover, value=word("title", lang, half=str(half)))
    title.font = title_style()["font"]
    cover.append([title])
    cover.column_dimensions["A"].width = 44
    cover.column_dimensions["B"].width = 70
    _cover_rows(cover, [
        (word("company", lang), settings.company.name),
        (word("half", lang), str(half)),
        (word("from_to", lang), f"{half.start.isoformat()} – {half.end.isoformat()}"),
        (word("built_at", lang), now.isoformat(sep=" ")),
        (word("built_by", lang), actor()),
        (word("host", lang), host()),
        (word("version", lang), __version__),
        (word("schema", lang), HEAD),
        (word("language", lang), lang),
        (word("content_hash", lang), digest),
    ])
    if round_ is None:
        _cover_rows(cover, [(word("empty_half", lang, half=str(half)), "")])
    elif counts["answers"] == 0:
        _cover_rows(cover, [(word("no_answers_half", lang, half=str(half)), "")])
    _cover_rows(cover, [("", ""), (word("sheet", lang), word("rows", lang))])
    _cover_rows(cover, [(sheet.title, sheet.rows) for sheet in sheets.values()])
    _cover_rows(cover, [("", ""), (word("hash_note", lang), "")])
    workbook.save(path)
    return {"hash": digest, "counts": counts, "empty": round_ is None, "source_files": source_files}


def _cover_rows(cover, rows: list[tuple[Any, Any]]) -> None:
    from openpyxl.cell import WriteOnlyCell

    from csat.sheets.write import set_text_cell

    for label, value in rows:
        cells = []
        for item in (label, value):
            cell = WriteOnlyCell(cover)
            set_text_cell(cell, item)
            cells.append(cell)
        cover.append(cells)


def _coverage(workbook, session, half: Half, lang: str, outbox, content) -> PackSheet:
    keys = ["customer", "customer_name", "active", "has_email", "half", "round", "invited_on", "how", "code",
            "answered_on", "source", "why_not", "code"]
    sheet = PackSheet(workbook, word("sheet_coverage", lang), [word(key, lang) for key in keys], lang, content,
                      [12, 28, 8, 10, 10, 12, 20, 22, 10, 12, 16, 22, 12])
    for row in coverage.rows(session, half, outbox):
        sheet.add([row.customer, row.name, yes_no(row.active, lang), yes_no(row.has_email, lang), row.half,
                   vocabulary.word("round_status", row.round_status, lang) if row.round_status else "",
                   row.invited_on, vocabulary.word("invited_how", row.how, lang), row.how, row.answered_on,
                   ", ".join(vocabulary.word("source", source, lang) for source in row.sources),
                   vocabulary.word("why_not", row.why_not, lang), row.why_not])
    return sheet


RESPONSE_KEYS = ["response", "customer", "customer_name", "respondent", "answered_on", "response_comment", "source",
                 "code", *answer_rows.SOURCE_KEYS, "imported_at", "imported_by", "withdrawn", "reason"]
ANSWER_KEYS = ["response", "customer", "item", "score", "not_applicable", "raw", "comment", "file"]


def _responses(workbook, session, half: Half, round_, lang: str, content) -> tuple[PackSheet, dict[str, dict]]:
    """The responses sheet, streamed; returns it and the source files named (archived SHA-256, or the
    path of a file imported before files were archived -> its manifest entry)."""
    sheet = PackSheet(workbook, word("sheet_responses", lang), [word(key, lang) for key in RESPONSE_KEYS], lang,
                      content, [10, 12, 24, 16, 12, 30, 12, 8, 24, 12, 8, 18, 34, 20, 14, 20, 24])
    files: dict[str, dict] = {}
    if round_ is not None:
        provenance = answer_rows.Provenance(session, round_.id, str(half))
        for row in answer_rows.responses(session, round_.id):
            if row.source_sha256 or row.source_file:
                entry = files.setdefault(row.source_sha256 or row.source_file, {
                    "source_file": row.source_file or row.source_name, "sha256": row.source_sha256 or None,
                    "responses": 0})
                entry["responses"] += 1
            imported_at, imported_by = provenance.of(row.response_id)
            sheet.add([row.response_id, row.customer, row.name, row.respondent, row.answered_on, row.comment,
                       vocabulary.word("source", row.source, lang), row.source, *answer_rows.source_columns(row),
                       imported_at or row.created_at, imported_by, row.withdrawn_at, row.withdraw_reason])
    if sheet.rows == 0:
        sheet.note(word("no_answers", lang, half=str(half)))
    return sheet, files


def _answers(workbook, session, half: Half, round_, lang: str, content) -> PackSheet:
    """The answers sheet, streamed: a few cells an answer; the response's row holds the rest."""
    sheet = PackSheet(workbook, word("sheet_answers", lang), [word(key, lang) for key in ANSWER_KEYS], lang, content,
                      [10, 12, 18, 8, 10, 12, 30, 24])
    not_applicable = yes_no(True, lang)
    if round_ is not None:
        for row in answer_rows.stream(session, round_.id):
            sheet.add([row.response_id, row.customer, row.item, row.score, not_applicable if row.not_applicable else None,
                       row.raw or None, row.comment or None, answer_rows.file_name(row.source_file)])
    if sheet.rows == 0:
        sheet.note(word("no_answers", lang, half=str(half)))
    return sheet


FLAGGED_KEYS = ["item", "item_label", "status", "code", "mean", "action_limit", "reason", "capa", "capa_status",
                "opened", "due", "closed", "check", "verified_on", "verified_by", "result", "note", "entered_at"]


def _flagged(workbook, session, settings, half: Half, lang: str, content) -> PackSheet:
    sheet = PackSheet(workbook, word("sheet_flagged", lang), [word(key, lang) for key in FLAGGED_KEYS], lang, content,
                      [16, 24, 12, 10, 8, 10, 30, 16, 14, 12, 12, 12, 6, 18, 16, 12, 30, 18])
    from csat.reports import text as report_words

    items = records.flagged_items(session, settings, half, lang)
    for item in items:
        head = [item["code"], item["label"], report_words.status_word(item["status"], lang), item["status"],
                item["mean"], item["action_limit"], item["reason"] or ""]
        if not item["capas"]:
            sheet.add(head + [word("no_capa", lang)])
            continue
        for found in item["capas"]:
            capa = found["capa"]
            about = [capa.number, vocabulary.word("capa_status", capa.status, lang), capa.created_at.date(),
                     capa.due_date, capa.closed_at]
            checks = found["verifications"] or [None]
            for number, check in enumerate(checks, start=1):
                tail = ([number, check.verified_at, check.verified_by, vocabulary.word("result", check.result, lang),
                         check.note, check.entered_at] if check is not None else [])
                sheet.add(head + about + tail)
    if not items:
        sheet.note(word("no_flagged", lang, half=str(half)))
    return sheet


COMPLAINT_KEYS = ["number", "received", "customer", "customer_name", "kind", "code", "channel", "product", "status",
                  "reply_due", "replied_at", "reply_days", "deadline", "capa", "capa_status", "closed", "void", "reason"]


def _complaints(workbook, session, settings, half: Half, lang: str, today: date, content) -> PackSheet:
    sheet = PackSheet(workbook, word("sheet_complaints", lang), [word(key, lang) for key in COMPLAINT_KEYS], lang,
                      content, [6, 18, 12, 24, 14, 10, 10, 14, 10, 12, 18, 10, 16, 18, 16, 18, 18, 24])
    found = records.complaints(session, settings, half, today)
    for entry in found:
        capas = entry["capas"]
        sheet.add([entry["id"], entry["received"], entry["customer"], entry["name"],
                   vocabulary.word("kind", entry["kind"], lang), entry["kind"],
                   vocabulary.word("channel", entry["channel"], lang), entry["product"],
                   vocabulary.word("feedback_status", entry["status"], lang), entry["reply_due"], entry["replied_at"],
                   entry["reply_working_days"], vocabulary.word("deadline", entry["deadline"], lang),
                   ", ".join(capa.number for capa in capas),
                   ", ".join(vocabulary.word("capa_status", capa.status, lang) for capa in capas),
                   entry["closed_at"], entry["voided_at"], entry["void_reason"]])
    if not found:
        sheet.note(word("no_complaints", lang, half=str(half)))
    return sheet


def _summaries(workbook, session, half: Half, lang: str, content) -> PackSheet:
    """Every version of the half's two quarterly summaries, as made: date, who, counts, and the figures."""
    keys = ("quarter", "summary_version", "summarised_at", "made_by", "entries", "complaints", "figures")
    sheet = PackSheet(workbook, word("sheet_summaries", lang), [word(key, lang) for key in keys], lang, content,
                      [10, 10, 20, 16, 10, 12, 60])
    for quarter, made in records.summaries(session, half):
        if not made:
            sheet.add([quarter, None, word("not_summarised", lang)])
            continue
        for summary in made:
            sheet.add([summary["quarter"], summary["version"], summary["summarised_at"], summary["made_by"],
                       summary["total"], summary["complaints"], summary["figures"] or None])
    return sheet


def write_gaps(workbook, gaps: list[dict[str, Any]], half: Half, lang: str,
               content: Optional[ContentHash] = None) -> PackSheet:
    """The gaps sheet from `csat check`'s gaps (dicts with rule, severity, record, what, fix)."""
    sheet = PackSheet(workbook, word("sheet_gaps", lang), [word(key, lang) for key in records.GAP_KEYS], lang, content,
                      [24, 10, 20, 50, 50])
    for gap in gaps:
        sheet.add([gap.get(key, "") for key in records.GAP_KEYS])
    if not gaps:
        sheet.note(word("no_gaps", lang, half=str(half)))
    return sheet


AUDIT_KEYS = ["entry", "at", "actor", "host", "table", "record_id", "key", "action", "changes"]


def _audit(workbook, session, half: Half, round_, lang: str, content) -> PackSheet:
    sheet = PackSheet(workbook, word("sheet_audit", lang), [word(key, lang) for key in AUDIT_KEYS], lang, content,
                      [8, 20, 14, 14, 16, 10, 22, 10, 80])
    for entry in records.audit_entries(session, half, round_.id if round_ is not None else None):
        sheet.add(list(entry))
    return sheet


def _write_zip(session, target: Path, workbook: Path, source_files: dict[str, dict], half: Half, digest: str,
               now: datetime) -> list[dict[str, Any]]:
    """The zip: the workbook, the source files, and manifest.json; returns the manifest's files.

    A file archived in the store (csat.store.sources) goes in as imported, its bytes checked against
    their SHA-256; one imported before files were archived is read from its path, if still there.
    """
    import hashlib
    import zipfile

    from csat.store.sources import content_of

    files = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(workbook, workbook.name)
        for number, (_key, found) in enumerate(sorted(source_files.items()), start=1):
            path = Path(found["source_file"])
            entry = {"source_file": found["source_file"], "responses": found["responses"], "in_zip": None,
                     "sha256": found["sha256"], "from": None, "status": "missing"}
            name = f"sources/{number:04d}-{path.name}"
            if found["sha256"]:
                _record, content = content_of(session, found["sha256"])
                bundle.writestr(name, content)
                entry.update(in_zip=name, status="included", **{"from": "archive"})
            elif path.is_file():
                try:
                    with path.open("rb") as stream:
                        entry["sha256"] = hashlib.file_digest(stream, "sha256").hexdigest()
                    bundle.write(path, name)
                    entry.update(in_zip=name, status="included", **{"from": "path"})
                except OSError:
                    entry["sha256"] = None
            files.append(entry)
        manifest = {"half": str(half), "workbook": workbook.name, "content_hash": digest,
                    "built_at": now.isoformat(sep=" "), "files": files,
                    "missing": sum(1 for entry in files if entry["status"] == "missing")}
        bundle.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return files

