"""The intent log: an append-only file beside the journal, written before every send.

One record per row per send, each written with a single `write` to a file opened with O_APPEND:
like the journal's WAL commits it reaches the operating system before the send goes out, so it
survives `kill -9` of the process, and it costs one system call instead of an SQLite commit.
A torn last line (a crash mid-write) is skipped when reading. The journal says which rows have a
final outcome; the log only ever grows, so it is compacted to the rows still open when it gets
large, and emptied when a run completes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

COMPACT_BYTES: Final = 32 * 1024 * 1024

Entry = tuple[int, str, int, Mapping[str, Any]]  # row, ticket_id, attempt, intent


class IntentLog:
    """Intents of the journal's runs, as JSON lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = _open_append(path)

    def close(self) -> None:
        """Close the file (what was written is already with the operating system)."""
        os.close(self._fd)

    def append(self, run_id: int, entries: Sequence[Entry], noted_at: str) -> None:
        """Write the entries in one system call, before the send they describe."""
        data = b"".join([_record(run_id, entry, noted_at) for entry in entries])
        written = os.write(self._fd, data)
        if written < len(data):  # rare (a signal, a full disk): write the rest
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(self._fd, view) :]

    def entries(self, run_id: int) -> dict[int, dict[str, Any]]:
        """The last intent noted for each row of `run_id`: {row: {ticket_id, attempt, noted_at, intent}}."""
        found: dict[int, dict[str, Any]] = {}
        with self.path.open("rb") as fh:
            for line in fh:
                record = _parse(line)
                if record is not None and record.pop("run") == run_id:
                    found[record.pop("row")] = record
        return found

    def too_large(self) -> bool:
        """Whether it is time to compact."""
        return os.fstat(self._fd).st_size > COMPACT_BYTES

    def rewrite(self, run_id: int, keep: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Replace the file by `keep` (row, entry) atomically: used to drop rows already done."""
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("wb") as fh:
            for row, entry in keep:
                fh.write(_record(run_id, (row, entry["ticket_id"], entry["attempt"], entry["intent"]),
                                 entry["noted_at"]))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, self.path)
        os.close(self._fd)
        self._fd = _open_append(self.path)

    def clear(self) -> None:
        """Forget every intent (the run completed: nothing is in flight any more)."""
        os.ftruncate(self._fd, 0)


def _open_append(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def _record(run_id: int, entry: Entry, noted_at: str) -> bytes:
    row, ticket_id, attempt, intent = entry
    fields = {"run": run_id, "row": row, "ticket_id": ticket_id, "attempt": attempt,
              "noted_at": noted_at, "intent": intent}
    return orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # a line torn by a crash mid-write: its send never went out
    return record if isinstance(record, dict) and {"run", "row", "intent"} <= record.keys() else None
