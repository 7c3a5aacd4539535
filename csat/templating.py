"""The one Jinja2 environment for every template csat renders.

Templates live in csat/templates (PackageLoader). HTML (.html, .htm, .xml,
.j2) is autoescaped, so customer names and comments cannot inject markup;
plain-text e-mail (.txt) is not, so "O'Brien" stays O'Brien. Undefined
variables are errors, not silent blanks. Every value shown passes through
csat.terminal_text.printable, so a control character or escape sequence in a
customer's text is shown as its escape in a page, an e-mail or a Markdown file
read in a terminal, never passed on raw.
"""

from __future__ import annotations

from functools import lru_cache


def _shown(value):
    """A template value with its control characters made visible (markup stays markup)."""
    from markupsafe import Markup

    from csat.terminal_text import printable

    if isinstance(value, Markup):
        return Markup(printable(str(value)))
    if isinstance(value, str):
        return printable(value)
    return value


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        finalize=_shown,
        loader=PackageLoader("csat", "templates"),
        autoescape=select_autoescape(["html", "htm", "xml", "j2"], default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False,  # templates ship in the package: no stat() per render on the send path
    )


def template(name: str):
    """A template by its path under csat/templates (Jinja caches compiled templates)."""
    return environment().get_template(name)
