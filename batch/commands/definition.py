"""Job definitions: a TOML file that says what a scheduled run does (`uom-batch run NIGHTLY.toml`).

```toml
[job]
file = "close_recovered_incidents.csv"   # relative to the definition
kind = "update-ticket"                   # optional: as --action
encoding = "cp932"                       # optional: as --encoding
mode = "run"                             # run | plan | reconcile
reconcile = "check"                      # with mode = "reconcile": report | check | apply

[settings]                               # all optional: the run's flags
rate = 10.0
concurrency = 8
max_conflicts = 5
max_retries = 4
group_size = 50
max_changes = 100                        # reconcile apply: a number, or "all"
wait_lock_s = 0                          # wait this long for another run of the job to finish

[output]
ledger = "ledgers/close-{date}-{time}.csv"   # {date} = YYYY-MM-DD, {time} = HHMMSS, both UTC
metrics = "metrics/close.prom"               # a Prometheus textfile-collector file

[credentials]
config = "/etc/uom-batch/uom.toml"       # a [uom] table, as --config; omitted: UOM_* variables
```

A definition is translated into the command line of its mode, so it follows exactly the rules of
the flags it stands for. Unknown keys and wrong types are a ConfigError (exit 2) naming the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from batch.errors import ConfigError

MODES = ("run", "plan", "reconcile")
RECONCILE_MODES = ("report", "check", "apply")
# table -> key -> (accepted types, the flag it becomes; None: handled by hand)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], str | None]]] = {
    "job": {
        "file": ((str,), None),
        "kind": ((str,), "--action"),
        "encoding": ((str,), "--encoding"),
        "mode": ((str,), None),
        "reconcile": ((str,), None),
    },
    "settings": {
        "rate": ((int, float), "--rate"),
        "concurrency": ((int,), "--concurrency"),
        "max_conflicts": ((int,), "--max-conflicts"),
        "max_retries": ((int,), "--max-retries"),
        "group_size": ((int,), "--group-size"),
        "max_changes": ((int, str), "--max-changes"),
        "wait_lock_s": ((int, float), "--wait-lock"),
    },
    "output": {"ledger": ((str,), None), "metrics": ((str,), "--metrics-file")},
    "credentials": {"config": ((str,), "--config")},
}


@dataclass(frozen=True)
class Definition:
    """A checked job definition."""

    path: Path
    job_file: Path
    mode: str
    reconcile: str
    values: Mapping[str, Mapping[str, Any]]

    def argv(self, now: datetime) -> list[str]:
        """The command line this definition stands for (`now` fills {date} and {time})."""
        command = [self.mode, str(self.job_file)]
        if self.mode == "reconcile" and self.reconcile != "report":
            command.append(f"--{self.reconcile}")
        for table, keys in SCHEMA.items():
            for key, (_, flag) in keys.items():
                value = self.values.get(table, {}).get(key)
                if flag is not None and value is not None:
                    command += [flag, self._text(table, key, value)]
        ledger = self.values.get("output", {}).get("ledger")
        if ledger is not None:
            command += ["--ledger", str(self._relative(expand(ledger, now)))]
        return command

    def _text(self, table: str, key: str, value: Any) -> str:
        paths = {("output", "metrics"), ("credentials", "config")}
        return str(self._relative(value)) if (table, key) in paths else str(value)

    def _relative(self, value: str) -> Path:
        """A path in the definition is relative to the definition's own folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.path.parent / path


def expand(pattern: str, now: datetime) -> str:
    """`{date}` → YYYY-MM-DD and `{time}` → HHMMSS of `now`; any other brace is an error."""
    try:
        return pattern.format(date=now.strftime("%Y-%m-%d"), time=now.strftime("%H%M%S"))
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"output.ledger {pattern!r}: only {{date}} and {{time}} may be filled in ({exc})"
        ) from None


def is_definition(path: Path | None) -> bool:
    """Whether a JOBFILE argument names a definition (a .toml file)."""
    return path is not None and path.suffix.lower() == ".toml"


def load_definition(path: Path) -> Definition:
    """Read and check a definition; ConfigError naming the file and the key on any problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such job definition") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable TOML job definition: {exc}") from None
    _check_keys(path, data)
    job = data.get("job", {})
    if "file" not in job:
        raise ConfigError(f"{path}: job.file is required (the job file, relative to the definition)")
    mode = job.get("mode", "run")
    _one_of(path, "job.mode", mode, MODES)
    reconcile = job.get("reconcile", "report")
    _one_of(path, "job.reconcile", reconcile, RECONCILE_MODES)
    if "reconcile" in job and mode != "reconcile":
        raise ConfigError(f'{path}: job.reconcile is only for job.mode = "reconcile"')
    return Definition(path, _relative_to(path, job["file"]), mode, reconcile, data)


def _check_keys(path: Path, data: Mapping[str, Any]) -> None:
    for table, values in data.items():
        if table not in SCHEMA:
            raise ConfigError(f"{path}: unknown table [{table}] (known: {', '.join(SCHEMA)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {table} must be a table")
        for key, value in values.items():
            if key not in SCHEMA[table]:
                raise ConfigError(f"{path}: unknown key {table}.{key} (known: {', '.join(SCHEMA[table])})")
            types, _ = SCHEMA[table][key]
            if isinstance(value, bool) or not isinstance(value, types):
                wanted = " or ".join(t.__name__ for t in types)
                raise ConfigError(f"{path}: {table}.{key} must be {wanted}, not {type(value).__name__}")


def _one_of(path: Path, key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{path}: {key} = {value!r}: expected one of {', '.join(choices)}")


def _relative_to(definition: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else definition.parent / path
