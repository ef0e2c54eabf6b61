"""The header check: a job file's columns against what its kind knows, requires and refuses."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence

from batch.errors import JobFileError


def check_header(
    columns: Sequence[str],
    source: str,
    *,
    known: Collection[str],
    required: Sequence[str],
    refused: Mapping[str, str] | None = None,
) -> None:
    """JobFileError naming every unknown, refused or missing column of `source`."""
    problems = column_problems(columns, known=known, required=required, refused=refused)
    if problems:
        raise JobFileError(f"{source}: " + "; ".join(problems))


def column_problems(
    columns: Sequence[str],
    *,
    known: Collection[str],
    required: Sequence[str],
    refused: Mapping[str, str] | None = None,
) -> list[str]:
    """What is wrong with a job file's header: refused, unknown (with a suggestion), missing."""
    refused = refused or {}
    found = [f"column {c!r} {refused[c]}" for c in columns if c in refused]
    unknown = [c for c in columns if c not in known and c not in refused]
    found += [f"unknown column {c!r}{_suggestion(c, known)}" for c in unknown]
    found += [f"missing required column {c!r}" for c in required if c not in columns]
    return found


def _suggestion(name: str, known: Collection[str]) -> str:
    by_lower = {k.lower(): k for k in known}
    match = by_lower.get(name.strip().lower())
    if match is None:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        match = close[0] if close else None
    return f" (did you mean {match!r}?)" if match else ""
