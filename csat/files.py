"""Writing files whole or not at all.

A report, form, config or outbox message is written to a temporary name
beside the target and then renamed over it, so a crash or a full disk never
leaves half a file where the user expects a finished one (the database's
atomic commit does not cover files).

Modes: a new file gets what the user's umask allows (0644 under umask 022, 0600 under
umask 077), as if created with open(); a file written over keeps its mode, so a
`chmod 600` survives a rewrite. `private=True` (a csat.toml holding a database
password) takes group and other access away in either case.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from csat.errors import CsatError
from csat.i18n import _


def current_umask() -> int:
    """The process umask, from /proc on Linux; elsewhere read by setting it and putting it back.

    The fallback sets the strictest mask for that instant, so a file another thread creates
    meanwhile can only come out stricter, never more open.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def mode_for(path: Path, private: bool = False) -> int:
    """The mode a file written at path should get: its current mode, else 0666 less the umask."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~current_umask()
    return mode & 0o700 if private else mode


def _write_failure(exc: BaseException) -> str | None:
    """Why writing failed, when the file system refused it: an OSError, or lxml's report of one.

    openpyxl writes through lxml when it is installed, and lxml reports a full disk or a file size
    limit as SerialisationError("IO_ENOSPC" / "IO_EFBIG") rather than as an OSError.
    """
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    text = str(exc)
    if type(exc).__name__ == "SerialisationError" and text.startswith("IO_"):
        import errno

        number = getattr(errno, text[3:], None)
        return os.strerror(number) if number is not None else text
    return None


def replace_into(path: Path, write: Callable[[Path], object], private: bool = False) -> Path:
    """Call write(temporary path), then atomically move the result to path.

    The result keeps the mode of the file it replaces, or follows the umask when new
    (mode_for); private=True also takes away group and other access.
    A folder that does not exist or cannot be written is a CsatError naming the file.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CsatError(_("cannot write {path}: folder {folder} does not exist", path=path, folder=folder))
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CsatError(_("cannot write {path}: {reason}", path=path, reason=exc.strerror)) from None
    os.close(descriptor)
    try:
        write(Path(temporary))
        # mkstemp makes 0600: give the file the mode a plain open() or the file it replaces would have.
        os.chmod(temporary, mode_for(path, private))
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        reason = _write_failure(exc)
        if reason is None:
            raise
        raise CsatError(_("cannot write {path}: {reason}", path=path, reason=reason)) from None
    return path


def write_text(path: Path, text: str, private: bool = False) -> Path:
    return replace_into(path, lambda temporary: temporary.write_text(text, encoding="utf-8"), private)


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
        raise CsatError(_("cannot write to {folder}: {reason}", folder=folder, reason=exc.strerror)) from None
    return folder
