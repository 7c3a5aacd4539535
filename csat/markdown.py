"""Text from records as Markdown that shows exactly that text, for reports read in wikis.

A comment can hold `<script>`, `[a link](http://...)`, a `|` that would open a new table cell or a
`#` that would make it a heading; each is backslash-escaped, and control characters are shown as
their escapes (csat.terminal_text), so a Markdown file read in a terminal is as safe as on a page.
"""

from __future__ import annotations

from typing import Any

from csat.terminal_text import printable

# Characters that could start markup, a link, raw HTML or a new table cell (underscores stay: CommonMark
# does not read them as emphasis inside words like at_risk).
_MARKDOWN_SPECIAL = "\\`*[]<>|"


def table_cell(value: Any) -> str:
    """One Markdown table cell: one line, markup characters backslash-escaped."""
    if value is None:
        return ""
    text = " ".join(printable(str(value)).split())
    return "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in text)


def inline(value: Any) -> str:
    """Text that may start a line: a table cell's escaping, and a leading # > - + escaped too
    (there they would open a heading, quote or nested list)."""
    text = table_cell(value)
    return "\\" + text if text.startswith(("#", ">", "- ", "+ ")) else text
