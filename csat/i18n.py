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
