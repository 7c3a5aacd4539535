"""Writing report files whole or not at all.

A report is written to a temporary name next to its target and moved into
place with os.replace, so a failure (full disk, a killed process) never
leaves a half-written report under the real name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from csat.errors import CsatError


def write_with(path: Path, writer: Callable[[Path], None]) -> Path:
    """Call writer(temporary path), then move the result to path."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CsatError(f"cannot write {path}: folder {folder} does not exist")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(descriptor)
    try:
        writer(Path(temporary))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return write_with(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
