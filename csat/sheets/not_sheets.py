"""Files people hand to an import instead of the sheet: the e-mail the form came in, a PDF, a zip of forms.

Sales staff drag the customer's reply into the command: a message saved from
Foxmail, Thunderbird or webmail (.eml, plain text), one saved from Outlook
(.msg, an OLE2 file like an .xls), the scan the customer sent, or the zip
holding a branch's forms. Read as a CSV, an .xls or an xlsx, such a file
gets an error about columns, cells or zip parts that says nothing of what
to do. These are recognised by content and named, with the
attachments an e-mail carries, so the answer is "save the attachment".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from csat.i18n import _

PDF_MAGIC = b"%PDF-"
# Streams of an Outlook message (MS-OXMSG): properties are stored as "__substg1.0_<tag>" streams.
OUTLOOK_STREAM = "__substg1.0_".encode("utf-16-le")
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
_HEAD_BYTES = 16 * 1024
_FIELD = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)
# A mail's header block names MIME-Version, or two of these; a CSV's first lines never look like that.
_MAIL_FIELDS = {b"from", b"to", b"subject", b"date", b"message-id", b"received", b"return-path", b"sender"}


def looks_like_mail(head: bytes) -> bool:
    """The first bytes of a file hold an RFC 5322 header block (an .eml file)."""
    block = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    if not _FIELD.match(block):
        return False
    names = {name.lower() for name in _FIELD.findall(block)}
    return b"mime-version" in names or len(names & _MAIL_FIELDS) >= 2


def mail_attachments(path: Path) -> Optional[list[str]]:
    """The attached files' names of an e-mail message saved as a file; None when the file is no e-mail."""
    import email
    from email import policy

    with open(path, "rb") as handle:
        if not looks_like_mail(handle.read(_HEAD_BYTES)):
            return None
        handle.seek(0)
        message = email.message_from_binary_file(handle, policy=policy.default)
    names = []
    for part in message.walk():
        name = part.get_filename()
        if name and not part.is_multipart():
            names.append(str(name))
    return names


def is_outlook_message(path: Path) -> bool:
    """An OLE2 file holding an Outlook message's property streams (a .msg), not an .xls workbook."""
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            if OUTLOOK_STREAM in tail + chunk:
                return True
            tail = chunk[-len(OUTLOOK_STREAM):]
    return False


def is_pdf(head: bytes) -> bool:
    return head.startswith(PDF_MAGIC)


def entry_name(info) -> str:
    """A zip entry's name as its writer meant it: Windows' own zip (and WinRAR) in China write names
    in GBK without the UTF-8 flag, which zipfile reads as code page 437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def sheets_in_archive(names: list[str], shown: int = 5) -> list[str]:
    """The spreadsheet files a zip archive holds (a workbook's own parts are never such names), the first
    `shown` by name and "... N more"; [] for a zip that is a workbook or holds none."""
    workbook = "xl/workbook.xml" in names or "content.xml" in names or "[Content_Types].xml" in names
    files = [] if workbook else sorted({name.rsplit("/", 1)[-1] for name in sheets_among(names)
                                        if not name.rsplit("/", 1)[-1].startswith(("~$", "._"))})
    if len(files) > shown:
        return [*files[:shown], _("and {n} more", n=len(files) - shown)]
    return files


def sheets_among(names: list[str]) -> list[str]:
    """The names that are spreadsheet files (what to save from a message and import)."""
    return [name for name in names if name.lower().endswith(SHEET_SUFFIXES)]
