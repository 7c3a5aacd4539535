"""Every sentence csat shows a person comes from one gettext catalog per language.

Message ids are the English sentences; placeholders are named (`{customer}`) so a
translation can put them in its own order, and `_()` fills them. The catalogs are
csat/locale/<lang>/LC_MESSAGES/csat.po, extracted and checked with Babel
(scripts/catalogs.py) and compiled to .mo files that ship in the package; at run
time only the standard library's gettext reads them.

Which language: staff output follows the workspace's `company.lang`; `CSAT_LANG`
overrides it for one shell; commands that write documents take `--lang`; texts for a
customer are written in that customer's language (`in_language`). Code values
(kinds, channels, statuses) are not sentences and are not translated here.
"""

from __future__ import annotations

import gettext as _gettext
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
DOMAIN = "csat"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANG_ENV = "CSAT_LANG"

_catalogs: dict[str, _gettext.NullTranslations] = {}
_current = DEFAULT_LANGUAGE


def normalise(lang: str | None) -> str | None:
    """`zh`, `zh_CN.UTF-8`, `zh-Hans`, `EN` -> a language csat speaks; anything else -> None."""
    if not lang:
        return None
    base = str(lang).strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    return base if base in LANGUAGES else None


def catalog(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of a language (English text itself when none is found)."""
    code = normalise(lang) or DEFAULT_LANGUAGE
    if code not in _catalogs:
        _catalogs[code] = _gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[code], fallback=True)
    return _catalogs[code]


def env_language() -> str | None:
    """CSAT_LANG when it names a language csat speaks."""
    return normalise(os.environ.get(LANG_ENV))


def staff_language(workspace_lang: str | None = None) -> str:
    """The language of staff output: CSAT_LANG, else the workspace's company.lang, else English."""
    return env_language() or normalise(workspace_lang) or DEFAULT_LANGUAGE


def set_language(lang: str | None) -> str:
    """Make `lang` the language of every message from now on; returns the code in force."""
    global _current
    _current = normalise(lang) or DEFAULT_LANGUAGE
    return _current


def language() -> str:
    """The language messages are written in now."""
    return _current


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Write messages in `lang` inside the block (a document's --lang, a customer's e-mail)."""
    previous = _current
    try:
        yield set_language(lang)
    finally:
        set_language(previous)


def _fill(text: str, fields: dict) -> str:
    return text.format(**fields) if fields else text


def _(message: str, /, **fields) -> str:
    """The message in the current language, its `{named}` placeholders filled from fields."""
    return _fill(catalog(_current).gettext(message), fields)


def ngettext(singular: str, plural: str, n: int, /, **fields) -> str:
    """The singular or plural message for n (n fills `{n}`), in the current language."""
    return _fill(catalog(_current).ngettext(singular, plural, n), {"n": n, **fields})


def in_language(lang: str | None, message: str, /, **fields) -> str:
    """The message in a given language, whatever the current one (a customer's form, a --lang document)."""
    return _fill(catalog(lang or DEFAULT_LANGUAGE).gettext(message), fields)


def N_(message: str) -> str:
    """Mark a message for the catalog where it is defined; `_()` translates it where it is shown."""
    return message


def NC_(context: str, message: str) -> tuple[str, str]:
    """Mark a word of a document's table (context: "form", "report"...) for the catalog; `in_context(lang, *pair)` reads it."""
    return context, message


def in_context(lang: str | None, context: str, message: str, /, **fields) -> str:
    """A document's word in a given language; the context keeps `Summary` of a report apart from another's."""
    return _fill(catalog(lang or DEFAULT_LANGUAGE).pgettext(context, message), fields)


# ---- sentences kept in records ------------------------------------------------------------------

STORED_MARK = '{"csat_message":'   # how a stored Text begins; no server reply or typed text does


class Text(str):
    """A catalog message with its fields: a str in the current language that can be stored and shown later.

    A record that must keep a sentence csat wrote (why an invitation could not be sent) keeps
    `stored(text)`, the message id and its fields; `shown()` renders it in the reader's language,
    whichever language wrote it. Fields may be Texts themselves, or lists of them (joined with "; ").
    """

    message: str | None
    fields: dict

    def __new__(cls, message: str | None, /, **fields) -> "Text":
        text = super().__new__(cls, _render(message, fields, _current))
        text.message, text.fields = message, fields
        return text

    def __reduce__(self):   # a worker process builds messages: keep the id and fields across pickling
        return (_rebuild, (self.message, self.fields))

    def render(self, lang: str | None) -> str:
        return _render(self.message, self.fields, lang)

    def data(self) -> dict:
        return {"csat_message": self.message, "fields": {name: _data(value) for name, value in self.fields.items()}}


def _rebuild(message, fields) -> Text:
    return Text(message, **fields)


def joined(parts: list, separator: str = "; ") -> Text:
    """Several Texts as one (each shown in the reader's language)."""
    return Text(None, parts=list(parts), separator=separator)


def _render(message: str | None, fields: dict, lang: str | None) -> str:
    def shown_value(value):
        if isinstance(value, Text):
            return value.render(lang)
        if isinstance(value, list):
            return fields.get("separator", "; ").join(str(shown_value(part)) for part in value)
        return value

    if message is None:
        return str(shown_value(fields.get("parts", [])))
    return in_language(lang, message, **{name: shown_value(value) for name, value in fields.items()})


def _data(value):
    if isinstance(value, Text):
        return value.data()
    if isinstance(value, list):
        return [_data(part) for part in value]
    return value if isinstance(value, (int, float)) or value is None else str(value)


def _from_data(value):
    if isinstance(value, dict) and "csat_message" in value:
        return Text(value["csat_message"], **{name: _from_data(part) for name, part in value.get("fields", {}).items()})
    if isinstance(value, list):
        return [_from_data(part) for part in value]
    return value


def stored(text) -> str:
    """What a record keeps of a message: a Text as its id and fields (JSON), anything else as it is."""
    import json

    if isinstance(text, Text):
        return json.dumps(text.data(), ensure_ascii=False)
    return "" if text is None else str(text)


def shown(kept: str | None, lang: str | None = None) -> str:
    """A sentence a record keeps, in the reader's language (default: the current one); other text as it is."""
    import json

    if not kept or not kept.startswith(STORED_MARK):
        return kept or ""
    try:
        text = _from_data(json.loads(kept))
    except (ValueError, TypeError, KeyError, IndexError):
        return kept
    return text.render(lang or _current) if isinstance(text, Text) else kept
