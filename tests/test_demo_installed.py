"""`csat demo` from a wheel installed the way users install tools, outside the source tree.

pipx and `pip install .` (without -e) install the built wheel: nothing of the checkout is
there, so the demo's sample files must travel inside the package. The test builds the wheel
from a copy of the source, installs it into a fresh venv (the dependencies are borrowed from
the running interpreter's site-packages, so no network is needed), and runs `csat demo DIR`
from an unrelated folder.
"""

import importlib.util
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent


def _copy_source(target: Path) -> Path:
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        if (SOURCE / name).exists():
            shutil.copy2(SOURCE / name, target / name)
    for name in ("csat", "examples"):
        shutil.copytree(SOURCE / name, target / name, ignore=ignore)
    return target


def _can_build_offline() -> bool:
    """setuptools is at hand and can make wheels (from 70.1 on its own, before that with `wheel`);
    otherwise pip fetches the build requirements from the package index."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    from importlib.metadata import version

    major_minor = tuple(int(part) for part in version("setuptools").split(".")[:2])
    return major_minor >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _build_wheel(source: Path, wheels: Path) -> Path:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(source)]
    if _can_build_offline():
        command.insert(4, "--no-build-isolation")      # build with the setuptools at hand, offline
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return next(wheels.glob("csat-*.whl"))


def _fresh_venv(folder: Path, wheel: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    # The dependencies: this interpreter's site-packages as plain paths. A path line in a .pth file
    # is not processed as a site folder, so the editable csat of the checkout stays invisible.
    installed = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                    check=True, capture_output=True, text=True).stdout.strip())
    borrowed = [path for path in site.getsitepackages() if Path(path).is_dir()]
    (installed / "borrowed-dependencies.pth").write_text("\n".join(borrowed) + "\n", encoding="utf-8")
    return folder


@pytest.mark.slow
def test_demo_runs_from_an_installed_wheel(tmp_path):
    source = _copy_source(tmp_path / "src")
    wheel = _build_wheel(source, tmp_path / "wheels")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    assert {"csat/examples/customers.csv", "csat/examples/responses-2024H1.csv",
            "csat/examples/feedback-log.csv", "csat/examples/items.toml",
            "csat/locale/zh/LC_MESSAGES/csat.mo", "csat/locale/en/LC_MESSAGES/csat.mo"} <= shipped
    shutil.rmtree(source)                           # nothing of a checkout is left to lean on

    venv = _fresh_venv(tmp_path / "venv", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTHONPATH", "CSAT_HOME", "CSAT_DATABASE_URL")}   # the demo's store is its own
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import csat; print(csat.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)), where

    result = subprocess.run([str(venv / "bin" / "csat"), "demo", "demo-workspace"], cwd=elsewhere, env=env, check=False,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "examples not found" not in result.stderr
    assert "Imported 10 customers" in result.stderr and "Imported 8 returned surveys" in result.stderr
    assert result.stdout.startswith("Customer satisfaction survey 2024H1 · Southbridge Precision Manufacturing")
    assert "Acme Motors GmbH" in result.stdout                       # the statistics table, per customer
    assert len(list((elsewhere / "demo-workspace" / "outbox").glob("*.eml"))) == 9
