"""Running a csat command that permission bits apply to, so permission defences are tested as root too.

root ignores permission bits, and CI runs as root: a test about a folder or store
csat may not write would pass there without exercising anything. Switching to
another user does not work here (the interpreter lives under root's private home),
so `as_user()` keeps root's uid and drops from the child the capabilities that
override file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, from
its bounding set, before exec): the owner's bits of a root-owned file then apply to
it as to anyone. Not root: the child runs as we are, where the bits already apply.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

IS_ROOT = os.geteuid() == 0
_PR_CAPBSET_DROP = 24
_PERMISSION_OVERRIDES = (1, 2, 3)   # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def _drop_permission_overrides() -> None:   # in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _PERMISSION_OVERRIDES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def who() -> str:
    """How the child runs, for assertion messages."""
    return "root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH/CAP_FOWNER" if IS_ROOT else f"uid {os.geteuid()}"


def as_user(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m csat ARGS` with permission bits applying to it (see the module docstring)."""
    return subprocess.run([sys.executable, "-m", "csat", *map(str, args)], check=False, cwd=cwd,
                          env=dict(os.environ if env is None else env), capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_drop_permission_overrides if IS_ROOT else None)
