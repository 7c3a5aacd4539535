"""JSON text of one scalar, as json.dumps(value, ensure_ascii=False, allow_nan=False) writes it.

The long lists of a report (100,000 customers, 100,000 comments) are written as text row by row;
calling json.dumps per value, or building a dict per row for it, would cost more than reading them.
NaN and infinities become null, as the report's plain() makes them.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as quote   # a str's JSON text (ensure_ascii=False), in C
from math import isfinite


def json_value(value) -> str:
    """The JSON text of a str, None, bool, int or float; anything else through json.dumps."""
    if isinstance(value, str):
        return quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return float.__repr__(value) if isfinite(value) else "null"
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)

