"""Find sentences in the wrong language in what csat printed.

What a person reads must be in the workspace's language; what is not prose may be in
either: code values, customer and item codes, paths, file names, e-mail addresses, URLs,
option names, commands in backticks, JSON and CSV, and the data the user typed or
imported (customer names, comments), passed in as `data` texts.
"""

from __future__ import annotations

import json
import re

CODES = """
quality delivery service price market other complaint praise suggestion inquiry enquiry
phone email e-mail meeting visit fax letter wechat dingtalk web survey form sheet manual
open closed cancelled verified effective not-effective verified-not-effective in-progress
sent due overdue answered invited late bounced failed pending skipped withdrawn void replied
qa production sales engineering purchasing logistics management finance hr rd tech support
yes no en zh csi capa iso csv json xlsx xls ods html md txt pdf smtp starttls ssl none ok
utc sqlite postgresql pg_dump wal cron systemd csat toml db id n sd ci na n/a of min max
insert update delete edit close reply reopen verify cancel withdraw
requirement contract conduct responsiveness communication
weight position choices label scale description text product owner active at
""".split()   # then audit actions, feedback kinds and record field keys: stored codes like the others
CODES += "openpyxl defusedxml chinesecalendar xml tls mb docx".split()   # names of software and units, written so in Chinese text too
CODES += "select public debian deb".split()
CODES += "table crontab true false zip".split()   # a --format value; the cron table; TOML's booleans   # the server's own words in doctor: its version string, SELECT 1, schema public
ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z']+")
CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
NOT_PROSE = [
    re.compile(r"`[^`]*`"),                               # commands and keys in backticks
    re.compile(r"'[^']*'|\"[^\"]*\""),                    # quoted values
    re.compile(r"\b[a-z][a-z0-9+.-]*://\S+"),             # URLs, database URLs
    re.compile(r"\b[0-9a-f]{8,}\b"),                     # versions, hashes
    re.compile(r"\b[a-z][a-z_]*(?=:)"),                   # field keys in `key: old -> new`
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),            # e-mail addresses
    re.compile(r"(?:[A-Za-z]:)?[\w.~-]*[/\\][^\s，。：；、（）()]*"),  # paths
    re.compile(r"[^\s:：!]+(?:![^\s:：!]+)+"),             # places in a workbook: file!sheet!cell
    re.compile(r"[\w<>-]+\.(xlsx|xls|ods|csv|json|html|md|txt|toml|db|mo|po)\b[\w.<>-]*", re.I),
    re.compile(r"(?<![\w-])--?[a-z][\w-]*"),              # options
    re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b"),     # environment variables: CSAT_HOME
    re.compile(r"\b[A-Z]{2,}[0-9]*\b"),                   # acronyms and placeholders: OEM, DATE, YYYYH1, HH:MM
    re.compile(r"\b[a-z]+(?:-[a-z]+)+\b"),                # kebab-case codes: not-effective
    re.compile(r"\bcsat(?: [a-z][\w-]*){0,3}"),           # command names after `csat`
    re.compile(r"\b[A-Z]{1,6}-[\w-]+\b"),                 # C-003, CAPA-2024-001
    re.compile(r"\b\d{4}[HQ]\d\b"),                       # periods
    re.compile(r"\b[a-z_]+(\.[a-z_]+)+\b"),               # dotted setting keys
    re.compile(r"\b[a-z]+_[a-z_]+\b"),                    # snake_case keys and codes
]


def _json_document(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _strip(line: str) -> str:
    for pattern in NOT_PROSE:
        line = pattern.sub(" ", line)
    return line


TOML_SECTION = re.compile(r"\[[a-z][a-z_.]*\]")   # [calendar]: a name in csat.toml, before SEGMENTS cuts at brackets
# Cut out before SEGMENTS cuts at brackets, `=` and Chinese characters:
BEFORE_SEGMENTS = [
    re.compile(r"`[^`]*`"),                               # commands in backticks (a pg_dump line has `=` and `,`)
    re.compile(r"[\w-]*<[^<>\s]+>[\w-]*\.\w+"),           # file names with a placeholder: report-<期间>.xlsx
    re.compile(r"\{[a-z][\w-]*\}|<[^<>\s]+>"),            # argument names and value types in --help: {number}, <list[str]>
    re.compile(r"\b[a-z]\w*=[^\s、，；]+"),                 # values as typed: overall=Satisfied
    TOML_SECTION,
]
SEGMENTS = re.compile(r"[│┃|\[\]=,“”\u3400-\u9fff]+|\s{2,}|: |; | -> |；|：|，|。|、|（|）")


def _before_segments(line: str) -> str:
    for pattern in BEFORE_SEGMENTS:
        line = pattern.sub(" ", line)
    return line


def _is_data(segment: str, joined: str, codes: set[str]) -> bool:
    for piece in (segment, _strip(segment)):
        piece = " ".join(piece.split()).strip(" '\".…")
        if len(piece) > 1 and (piece in joined or piece in codes):
            return True
    return False


def data_codes(data: list[str]) -> set[str]:
    """Codes the user's files define (`code = "packaging"`, customer codes): shown as they are."""
    return {code for text in data for code in re.findall(r'code\s*=\s*"([^"]+)"', text)}


def english_lines(output: str, data: list[str]) -> list[str]:
    """Lines of output that carry English words which are neither codes nor the user's data.

    A line is cut at table borders, wide gaps and punctuation; a piece that is a piece of the
    user's data (a customer's name, a comment, a value they set) is allowed whole.
    """
    if not output.strip() or _json_document(output) or output.startswith("\ufeff"):
        return []
    joined = "\n".join(data)
    codes = data_codes(data)
    found = []
    for line in output.splitlines():
        words = []
        for segment in SEGMENTS.split(_before_segments(line)):
            if not _is_data(segment, joined, codes):
                words += [word for word in ENGLISH_WORD.findall(_strip(segment))
                          if word.lower() not in CODES and word not in codes]
        if words:
            found.append(f"{line.strip()}   <- {' '.join(words)}")
    return found


def chinese_lines(output: str, data: list[str]) -> list[str]:
    """Lines of output with Chinese that is not the user's data (company name, customer names...)."""
    if not output.strip() or _json_document(output) or output.startswith("\ufeff"):
        return []
    joined = "\n".join(data)
    found = []
    for line in output.splitlines():
        runs = [run for run in CJK_RUN.findall(line) if run.strip("\u3000（）()，,。、：；") and run not in joined]
        if runs:
            found.append(f"{line.strip()}   <- {' '.join(runs)}")
    return found
