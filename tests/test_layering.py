"""Imports run downward only: cli -> capabilities -> services -> store -> small helpers.

The rules are read from the source with `ast` (lazy imports inside functions
count too), so a module that reaches up a layer fails here before it lands.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import csat

PACKAGE = Path(csat.__file__).parent

CAPABILITIES = {"survey", "importer", "reports", "feedback", "capa", "procedure", "exchange"}
SERVICES = {"registry", "mail", "forms", "sheets"}
SMALL_HELPERS = {"config", "settings", "errors", "files", "templating", "periods", "scoring", "schedule", "dates", "fonts",
                 "vocabulary", "workdays", "i18n", "terminal_text", "markdown", "numbers"}
# Top-level modules that sit with the services (they may use the store and services, no capability).
SERVICE_MODULES = {"workspace", "doctor"}
# Entry points beside cli: they drive whole capabilities.
ENTRY_MODULES = {"demo"}
TERMINAL_LIBRARIES = {"typer", "rich", "click"}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """Every module a file imports, as dotted names (relative imports resolved)."""
    names: set[str] = set()
    package = _module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def layer_of(module: str) -> tuple[str, str]:
    """(layer, unit) of a csat module: unit is its package, or the top-level module's own name."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root", "csat"
    unit = parts[1]
    if unit in ("cli", "__main__"):   # python -m csat is the command line
        return "cli", unit
    if unit in CAPABILITIES:
        return "capability", unit
    if unit in SERVICES or unit in SERVICE_MODULES:
        return "service", unit
    if unit == "store":
        return "store", unit
    if unit in SMALL_HELPERS:
        return "helper", unit
    if unit in ENTRY_MODULES:
        return "entry", unit
    return "unknown", unit


# What each layer must never import (by unit of csat, or a terminal library).
FORBIDDEN = {
    "entry": {"cli"},
    "capability": {"cli", *ENTRY_MODULES},
    "service": {"cli", *ENTRY_MODULES, *CAPABILITIES},
    "store": {"cli", *ENTRY_MODULES, *CAPABILITIES, *SERVICES, *SERVICE_MODULES},
    "helper": {"cli", *ENTRY_MODULES, *CAPABILITIES, *SERVICES, *SERVICE_MODULES, "store"},
    "root": {"cli", *ENTRY_MODULES, *CAPABILITIES, *SERVICES, *SERVICE_MODULES, "store"},
}


def layer_violations(root: Path) -> list[str]:
    """One line per import that runs up a layer, or per module no layer knows."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        layer, unit = layer_of(module)
        if layer == "unknown":
            found.append(f"{module}: in no layer; add it to tests/test_layering.py")
            continue
        for imported in sorted(imports_of(path, root)):
            top = imported.split(".")[0]
            if top in TERMINAL_LIBRARIES and layer != "cli":
                found.append(f"{module} imports {imported}: only csat.cli may use {top}")
            if top != "csat" or imported == "csat":
                continue
            target = imported.split(".")[1]
            if target != unit and target in FORBIDDEN.get(layer, set()):
                found.append(f"{module} ({layer}) imports {imported}")
    return found


def import_cycles(root: Path) -> list[list[str]]:
    """Groups of csat modules that import each other, directly or round a loop."""
    modules = {_module_name(path, root): path for path in root.rglob("*.py")}
    graph = {name: {target for target in imports_of(path, root) if target in modules and target != name}
                    for name, path in modules.items()}
    order, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in order:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], order[target])
        if low[node] == order[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for name in sorted(graph):
        if name not in order:
            visit(name)
    return cycles


def test_imports_run_downward():
    assert layer_violations(PACKAGE) == []


def test_no_import_cycles():
    assert import_cycles(PACKAGE) == []


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "csat"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "templates", "data"))
    return copy


def test_an_upward_import_fails_the_check(tmp_path):
    copy = _copy(tmp_path)
    engine = copy / "store" / "engine.py"
    engine.write_text(engine.read_text() + "\n\ndef _late():\n    from csat.survey import rounds\n")
    (copy / "mail" / "transport.py").write_text((copy / "mail" / "transport.py").read_text() + "\nimport rich\n")
    (copy / "periods.py").write_text((copy / "periods.py").read_text() + "\nfrom csat.store import models\n")
    assert layer_violations(copy) == [
        "csat.mail.transport imports rich: only csat.cli may use rich",
        "csat.periods (helper) imports csat.store",
        "csat.periods (helper) imports csat.store.models",
        "csat.store.engine (store) imports csat.survey",
        "csat.store.engine (store) imports csat.survey.rounds",
    ]


def test_a_new_top_level_module_must_name_its_layer(tmp_path):
    copy = _copy(tmp_path)
    (copy / "misc.py").write_text('"""Somewhere."""\n')
    assert layer_violations(copy) == ["csat.misc: in no layer; add it to tests/test_layering.py"]


def test_a_cycle_is_found(tmp_path):
    copy = _copy(tmp_path)
    (copy / "importer" / "sheet_rows.py").write_text(
        (copy / "importer" / "sheet_rows.py").read_text() + "\nfrom csat.importer.sheets import read_sheet\n")
    assert import_cycles(copy) == [["csat.importer.sheet_rows", "csat.importer.sheets"]]
