"""The import arrows of docs/architecture.md hold: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINTS = {"batch/cli.py", "batch/__main__.py", "batch/demo_jobs.py"}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(_from_import(node.module, alias.name) for alias in node.names)
    return names


def _from_import(module: str, name: str) -> str:
    """`from a.b import c`: the module `a.b.c` when c is a submodule of ours, else `a.b`."""
    package = ROOT.joinpath(*module.split("."))
    is_submodule = (package / f"{name}.py").exists() or (package / name / "__init__.py").exists()
    return f"{module}.{name}" if is_submodule else module


def files(pattern: str) -> list[Path]:
    return sorted(ROOT.glob(pattern))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


ENGINE = [p for p in files("batch/*.py") if relative(p) not in ENTRY_POINTS]


@pytest.mark.parametrize("path", ENGINE, ids=relative)
def test_engine_never_imports_job_kinds(path: Path) -> None:
    """Engine modules know job kinds only through the protocol, never `jobs/` (entry points wire it)."""
    assert not {m for m in imports_of(path) if m == "jobs" or m.startswith("jobs.")}


@pytest.mark.parametrize("path", files("batch/uom/emulator/*.py"), ids=relative)
def test_emulator_never_imports_the_client(path: Path) -> None:
    """The emulator shares only wire facts (spec, signing) with the client's side."""
    ours = {m for m in imports_of(path) if m.startswith("batch")}
    allowed = {"batch.uom.spec", "batch.uom.signing"}
    assert {m for m in ours if not m.startswith("batch.uom.emulator")} <= allowed


@pytest.mark.parametrize("path", files("batch/uom/*.py"), ids=relative)
def test_wire_layer_imports_nothing_of_the_engine(path: Path) -> None:
    """batch/uom knows the wire only: no engine, no job kinds, no polars or anyio."""
    ours = imports_of(path)
    assert not {m for m in ours if m.split(".")[0] in {"jobs", "polars", "anyio", "structlog"}}
    engine = {m for m in ours if m.startswith("batch.") and not m.startswith("batch.uom")}
    assert engine <= {"batch.errors"}
