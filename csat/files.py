"""Writing files whole or not at all.

A report, form, config or outbox message is written to a temporary name
beside the target and then renamed over it, so a crash or a full disk never
leaves half a file where the user expects a finished one (the database's
atomic commit does not cover files).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from csat.errors import CsatError


def replace_into(path: Path, write: Callable[[Path], object]) -> Path:
    """Call write(temporary path), then atomically move the result to path.

    A folder that does not exist or cannot be written is a CsatError naming the file.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CsatError(f"cannot write {path}: folder {folder} does not exist")
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CsatError(f"cannot write {path}: {exc.strerror}") from None
    os.close(descriptor)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CsatError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return replace_into(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    return replace_into(path, lambda temporary: temporary.write_bytes(data))


def ensure_writable(folder: Path) -> Path:
    """Create folder if needed and prove a file can be written in it; CsatError otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".csat-write-test.", dir=folder)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        raise CsatError(f"cannot write to {folder}: {exc.strerror}") from None
    return folder
