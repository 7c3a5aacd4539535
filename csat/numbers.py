"""Numbers as people read them: one rounding rule for every format a record is shown in."""

from __future__ import annotations

from math import isfinite


def fixed(value: float, digits: int = 1, sign: bool = False) -> str:
    """value with `digits` decimals, rounded half away from zero on its shortest decimal form, as Excel
    shows it: 88.25 reads 88.3 in every format of a report (Python's own formatting rounds the binary
    value half to even, 88.2, so the HTML and the Word copy of one review would disagree)."""
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

    value = float(value)
    if not isfinite(value):
        return f"{value:{'+' if sign else ''}.{digits}f}"
    try:
        text = str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-max(digits, 0)), rounding=ROUND_HALF_UP))
    except InvalidOperation:   # too many digits for the decimal context (about 1e28 and up): no half to settle
        text = f"{value:.{digits}f}"
    return ("+" + text) if sign and not text.startswith("-") else text
