"""Extract, update, check and compile csat's message catalogs, with Babel.

    python scripts/catalogs.py           # extract every message from csat/, merge it into the
                                         # zh and en catalogs, copy new ids into en, compile .mo
    python scripts/catalogs.py --check   # list what is untranslated, fuzzy or not compiled; exit 1 if any

Messages are the first argument of `_()`, `N_()` and `ngettext()` (and the second of
`in_language()`) anywhere in csat/, plus, in csat/cli/, every `help=` text and the
docstring of every command (the docstring is its --help). After running it, translate
the new entries of csat/locale/zh/LC_MESSAGES/csat.po (empty msgstr) and run it again
to compile; tests/test_i18n_catalog.py fails while any message is untranslated.
"""

from __future__ import annotations

import ast
from datetime import datetime, timezone
import io
import string
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "csat"
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "csat"
LANGUAGES = ("zh", "en")
KEYWORDS = {"_": None, "N_": None, "Text": None, "ngettext": (1, 2), "in_language": (2,), "NC_": ((1, "c"), 2),
            "in_context": ((2, "c"), 3)}
HELP_KEYWORDS = {"help", "short_help", "epilog"}
STABLE_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)   # dates in the header would change every run


def _command_texts(source: str) -> list[tuple[int, str]]:
    """--help texts in a cli module: `help=` literals and the docstrings of commands."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in HELP_KEYWORDS and isinstance(keyword.value, ast.Constant) \
                        and isinstance(keyword.value.value, str):
                    found.append((keyword.value.lineno, keyword.value.value))
        elif isinstance(node, ast.FunctionDef):
            doc = ast.get_docstring(node, clean=True)
            if doc and (node.decorator_list or "Example:" in doc):
                found.append((node.body[0].lineno, doc))
    return found


def extract_messages(package: Path = PACKAGE) -> Catalog:
    """Every message id in the source, as a template catalog."""
    template = Catalog(project="csat", domain=DOMAIN, charset="utf-8", creation_date=STABLE_DATE)
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent).as_posix()
        source = path.read_text(encoding="utf-8")
        for lineno, message, _comments, context in extract("python", io.BytesIO(source.encode("utf-8")),
                                                           keywords=KEYWORDS, comment_tags=("Translators:",)):
            template.add(message, locations=[(relative, lineno)], context=context,
                         flags=("python-brace-format",) if "{" in str(message) else ())
        if path.parent.name == "cli":
            for lineno, text in _command_texts(source):
                template.add(text, locations=[(relative, lineno)])
    return template


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        catalog = Catalog(locale=lang, project="csat", domain=DOMAIN, charset="utf-8", fuzzy=False,
                          header_comment=f"# csat messages ({lang}). Edit msgstr only; run python scripts/catalogs.py.",
                          creation_date=STABLE_DATE, revision_date=STABLE_DATE)
        catalog.language_team = catalog.last_translator = catalog.msgid_bugs_address = "csat maintainers"
        return catalog
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


def _fields(text: str) -> set[str]:
    try:
        return {name.split(".")[0].split("[")[0] for _literal, name, _spec, _conv in string.Formatter().parse(text)
                if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def _compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def problems(template: Catalog | None = None) -> list[str]:
    """One line per message that is missing, untranslated, fuzzy or mis-placeheld, and per stale .mo."""
    template = template or extract_messages()
    found = []
    for lang in LANGUAGES:
        catalog = load(lang)
        for message in template:
            if not message.id:
                continue
            where = message.locations[0][0] if message.locations else "?"
            entry = catalog.get(message.id, message.context)
            ident = message.id[0] if isinstance(message.id, tuple) else message.id
            if entry is None:
                found.append(f"{lang}: not in the catalog ({where}): {ident!r}")
                continue
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if not all(strings) or entry.fuzzy:
                found.append(f"{lang}: {'fuzzy' if entry.fuzzy else 'untranslated'} ({where}): {ident!r}")
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            allowed = set().union(*(_fields(text) for text in ids)) | ({"n"} if len(ids) > 1 else set())
            for text in strings:
                extra = _fields(text) - allowed
                missing = set() if len(ids) > 1 else _fields(ids[0]) - _fields(text)
                if extra or missing:
                    found.append(f"{lang}: placeholders differ ({where}): {ident!r} -> {text!r}")
        if not mo_path(lang).exists() or mo_path(lang).read_bytes() != _compiled(catalog):
            found.append(f"{lang}: {mo_path(lang).relative_to(ROOT)} is not compiled from its .po;"
                         " run python scripts/catalogs.py")
    return found


def update() -> None:
    """Merge the source's messages into both catalogs (en copies the ids), then compile them."""
    template = extract_messages()
    for lang in LANGUAGES:
        catalog = load(lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.creation_date = catalog.revision_date = STABLE_DATE
        catalog.obsolete.clear()
        if lang == "en":
            for message in catalog:
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if message.id and (not all(strings) or message.fuzzy):
                    message.string = message.id
                    message.flags.discard("fuzzy")
        po_path(lang).parent.mkdir(parents=True, exist_ok=True)
        with po_path(lang).open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=False, omit_header=False, include_previous=False)
        mo_path(lang).write_bytes(_compiled(catalog))


def main(argv: list[str]) -> int:
    if "--check" in argv:
        lines = problems()
        print("\n".join(lines) or "catalogs complete", file=sys.stderr)
        return 1 if lines else 0
    update()
    left = [line for line in problems() if line.startswith("zh:")]
    print(f"catalogs updated and compiled; {len(left)} zh message(s) to translate", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
