"""Text from records made harmless for a terminal: no control character from data reaches it.

A customer name, comment or feedback text can carry escape sequences (ESC [ ... colours and cursor
moves, OSC 8 links, OSC 0 window titles, their one-byte C1 forms), a bell, a carriage return that
rewrites the line, or Unicode direction overrides that reorder what staff read. Printed raw they
would change what the terminal shows, or the terminal itself. Each is shown instead as a visible
escape (`\\x1b`, `\\u202e`), so the text stays exactly readable and nothing is hidden. Line breaks
and tabs stay: comments have paragraphs; a Windows line break (CR LF) is shown as one.
"""

from __future__ import annotations

_KEPT = {0x09, 0x0A}
_CONTROLS = [code for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if code not in _KEPT]
_DIRECTION = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]

_VISIBLE = {code: f"\\x{code:02x}" for code in _CONTROLS}
_VISIBLE.update({code: f"\\u{code:04x}" for code in _DIRECTION})


def printable(text: str) -> str:
    """`text` with every control or direction-override character shown as its escape."""
    if text.isprintable():
        return text
    return text.replace("\r\n", "\n").translate(_VISIBLE)

