"""Write a ReviewDocument to a file, the format chosen by the file's suffix.

.html, .md and .json are written here; .xlsx and .docx by csat.reports.review.xlsx and
csat.reports.review.docx. Every file is written whole or not at all (csat.files.replace_into).
"""

from __future__ import annotations

import json
from pathlib import Path

from csat.errors import CsatError
from csat.i18n import _
from csat.reports.review.model import ReviewDocument, as_data

# suffix -> format; the CLI refuses any other suffix before anything is gathered.
SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json",
            ".xlsx": "xlsx", ".docx": "docx"}
# Formats another module writes: format -> module with write(document, path).
_WRITERS = {"xlsx": "csat.reports.review.xlsx", "docx": "csat.reports.review.docx"}


def format_of(path: Path) -> str | None:
    """The format a file name asks for, or None for a suffix the pack is not written as."""
    return SUFFIXES.get(Path(path).suffix.lower())


def render_json(document: ReviewDocument) -> str:
    return json.dumps(as_data(document), ensure_ascii=False, indent=2) + "\n"


def write_review(document: ReviewDocument, path: Path) -> Path:
    """Write the pack to `path` in the format of its suffix; returns the path written."""
    from importlib import import_module

    from csat.files import replace_into

    path = Path(path)
    fmt = format_of(path)
    if fmt is None:
        raise CsatError(_("{name}: the review pack is written as {known}", name=path.name,
                          known=", ".join(SUFFIXES)))
    if fmt in _WRITERS:
        try:
            module = import_module(_WRITERS[fmt])
        except ModuleNotFoundError as exc:
            if exc.name != _WRITERS[fmt]:
                raise
            raise CsatError(_("this csat cannot write the review pack as {suffix} yet; use .html, .md or .json",
                              suffix=path.suffix.lower())) from None
        module.write(document, path)
        return path
    if fmt == "html":
        from csat.reports.review.html import render_html

        text = render_html(document)
    elif fmt == "md":
        from csat.reports.review.markdown import render_md

        text = render_md(document)
    else:
        text = render_json(document)

    def save(temporary: Path) -> None:
        temporary.write_text(text, encoding="utf-8")

    return replace_into(path, save)
