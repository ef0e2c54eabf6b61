"""The layers of docs/architecture.md hold: which package may import which (one table)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CORE = "batch (core)"  # errors, exit_codes, outcome, clock, kind: the vocabulary every layer shares
# package -> the packages of ours it may import (besides itself). Mirrors docs/architecture.md.
LAYERS: dict[str, set[str]] = {
    "batch.uom.emulator": {"batch.uom.spec", "batch.uom.signing"},
    "batch.uom": set(),
    CORE: set(),
    "batch.jobfile": {CORE},
    "batch.validation": {CORE},
    "batch.engine": {CORE, "batch.uom.errors"},
    "batch.journal": {CORE},
    "batch.output": {CORE, "batch.jobfile", "batch.validation"},
    "batch.runs": {CORE, "batch.engine", "batch.journal", "batch.output"},
    "jobs": {CORE, "batch.jobfile", "batch.validation", "batch.uom"},
    "batch.commands": {"*"},
    "batch.cli": {CORE, "batch.uom.errors", "batch.commands"},
}
CORE_MODULES = {"batch", "batch.errors", "batch.exit_codes", "batch.outcome", "batch.clock", "batch.kind"}


def module_name(path: Path) -> str:
    """`batch/engine/pool.py` -> `batch.engine.pool`."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    """The LAYERS entry a module of ours belongs to (its longest matching name), or None if not ours."""
    if module in CORE_MODULES or module == "batch.__main__":
        return CORE if module != "batch.__main__" else "batch.cli"
    matches = [name for name in LAYERS if module == name or module.startswith(name + ".")]
    return max(matches, key=len) if matches else None


def imports_of(path: Path) -> set[str]:
    """Every module of ours a file imports, at any depth (function-level and TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(_from_import(node.module, alias.name) for alias in node.names)
    return {n for n in names if n.split(".")[0] in {"batch", "jobs"}}


def _from_import(module: str, name: str) -> str:
    """`from a.b import c`: the module `a.b.c` when c is a submodule of ours, else `a.b`."""
    package = ROOT.joinpath(*module.split("."))
    is_submodule = (package / f"{name}.py").exists() or (package / name / "__init__.py").exists()
    return f"{module}.{name}" if is_submodule else module


def allowed(importer: str, imported: str) -> bool:
    """Whether a module in layer `importer` may import the module `imported`."""
    target = layer_of(imported)
    if target is None or target == importer:
        return True
    rules = LAYERS[importer]
    # An entry names a layer, or a single module of one (the emulator may use the wire's spec).
    named = any(imported == r or imported.startswith(r + ".") for r in rules)
    return "*" in rules or target in rules or named


SOURCES = sorted([*ROOT.glob("batch/**/*.py"), *ROOT.glob("jobs/**/*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_imports_follow_the_layer_table(path: Path) -> None:
    """Each module imports only what its layer may: engine, journal and output never each other."""
    importer = layer_of(module_name(path))
    assert importer is not None, f"{path} belongs to no layer of the table"
    wrong = sorted(m for m in imports_of(path) if not allowed(importer, m))
    assert not wrong, f"{importer} may not import {wrong}"


def test_every_package_has_a_layer() -> None:
    """A new package must be placed in the table (and in docs/architecture.md) before it is used."""
    packages = {module_name(p.parent / "__init__.py") for p in ROOT.glob("batch/**/__init__.py")}
    assert {p for p in packages if layer_of(p) is None} == set()


def test_top_level_stays_small() -> None:
    """batch/ keeps at most 8 modules at its top; everything else lives in a package of the flow."""
    assert len(list(ROOT.glob("batch/*.py"))) <= 8


def test_the_table_catches_a_wrong_arrow() -> None:
    """The check itself works: the engine importing the journal, or runs importing jobs, is refused."""
    assert not allowed("batch.engine", "batch.journal.run_state")
    assert not allowed("batch.runs", "jobs.kinds")
    assert not allowed("batch.runs", "batch.uom.client")
    assert not allowed("jobs", "batch.runs.run_job")
    assert not allowed("batch.uom", "batch.errors")
    assert not allowed("batch.uom.emulator", "batch.uom.client")
    assert allowed("batch.commands", "jobs.kinds")
