"""Writing output files whole or not at all.

A report or form is written to a temporary name beside the target and then
renamed over it, so a crash or a full disk never leaves half a file where the
user expects a finished one (the database's atomic commit does not cover files).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def replace_into(path: Path, write: Callable[[Path], object]) -> Path:
    """Call write(temporary_path), then atomically move the result to path."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def write_text(path: Path, text: str) -> Path:
    return replace_into(path, lambda target: Path(target).write_text(text, encoding="utf-8"))
