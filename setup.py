"""Build hook: the wheel carries examples/ as csat/examples.

The repository keeps one copy of the sample files, in examples/ at the top where
the README points; `csat demo` needs them wherever csat is installed (pipx, pip
without -e). So build_py copies them into the built package. An editable
install reads them from the checkout instead (see csat/demo.py).
Everything else about the build is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

EXAMPLES = Path(__file__).resolve().parent / "examples"


class BuildWithExamples(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "csat" / "examples"
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(EXAMPLES.iterdir()):
            if source.is_file():
                shutil.copy2(source, target / source.name)


setup(cmdclass={"build_py": BuildWithExamples})
