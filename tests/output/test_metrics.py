"""The metrics file: a Prometheus textfile that prometheus_client parses, written atomically."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from batch.output.metrics import LAST_SUCCESS, MODES, RETRY_CLASSES, RunMetrics, label_text, write_metrics

FINISHED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FACTS = RunMetrics(
    job="close_recovered.csv",
    mode="run",
    exit_code=0,
    finished_at=FINISHED,
    duration_s=12.5,
    requests=120,
    rows_by_outcome={"updated": 50, "unchanged": 7, "failed": 0},
    retries_by_class={"conflict": 3, "transient": 2},
    drift_rows=0,
)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(path: Path) -> Samples:
    """Every sample of the file, parsed by prometheus_client: (name, labels) → value."""
    found: Samples = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def value(found: Samples, name: str, job: str = FACTS.job, mode: str = "run", **labels: str) -> float:
    """One sample's value, by metric name and labels."""
    return found[(f"uom_batch_{name}", frozenset({"job": job, "mode": mode, **labels}.items()))]


def test_the_file_parses_and_holds_every_fact(tmp_path: Path) -> None:
    """Rows by outcome, retries by class, requests, duration, exit code and success time are in the file."""
    path = tmp_path / "job.prom"
    write_metrics(path, FACTS)
    found = samples(path)
    assert value(found, "rows", outcome="updated") == 50
    assert value(found, "rows", outcome="unchanged") == 7
    assert value(found, "rows", outcome="skipped") == 0  # every outcome has a series, 0 when absent
    assert value(found, "retries", **{"class": "conflict"}) == 3
    assert value(found, "retries", **{"class": "transient"}) == 2
    assert value(found, "retries", **{"class": "rate"}) == 0
    assert value(found, "requests") == 120
    assert value(found, "duration_seconds") == 12.5
    assert value(found, "exit_code") == 0
    assert value(found, "drift_rows") == 0
    assert value(found, "last_success_timestamp_seconds") == FINISHED.timestamp()
    assert value(found, "last_run_timestamp_seconds") == FINISHED.timestamp()
    assert all(name.startswith("uom_batch_") for name, _ in found)


def test_a_failed_run_keeps_the_last_success(tmp_path: Path) -> None:
    """After a failed run the success timestamp is the one the previous file had; the rest is new."""
    path = tmp_path / "job.prom"
    write_metrics(path, FACTS)
    later = FINISHED + timedelta(hours=1)
    write_metrics(path, replace(FACTS, exit_code=1, finished_at=later, requests=9))
    found = samples(path)
    assert value(found, "last_success_timestamp_seconds") == FINISHED.timestamp()
    assert value(found, "last_run_timestamp_seconds") == later.timestamp()
    assert value(found, "exit_code") == 1 and value(found, "requests") == 9


def test_a_failure_with_no_earlier_success_has_no_success_series(tmp_path: Path) -> None:
    """A job that never succeeded has no success timestamp at all (not a made-up 0)."""
    path = tmp_path / "job.prom"
    write_metrics(path, replace(FACTS, exit_code=2))
    assert LAST_SUCCESS not in {name for name, _ in samples(path)}


def test_another_jobs_success_is_not_borrowed(tmp_path: Path) -> None:
    """The kept success is the same job's and mode's: a plan's success is not a run's."""
    path = tmp_path / "job.prom"
    write_metrics(path, replace(FACTS, mode="plan"))
    write_metrics(path, replace(FACTS, exit_code=1))
    assert LAST_SUCCESS not in {name for name, _ in samples(path)}


def test_an_unreadable_old_file_is_replaced(tmp_path: Path) -> None:
    """An old file that is not a metrics file does not stop the write; it is simply replaced."""
    path = tmp_path / "job.prom"
    path.write_bytes(b"\xff\xfe not prometheus {{{\n")
    write_metrics(path, replace(FACTS, exit_code=1))
    assert value(samples(path), "exit_code") == 1


def test_the_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    """The file is replaced by rename (a new inode), and nothing else is left in its directory."""
    path = tmp_path / "job.prom"
    path.write_text("# old\n", encoding="utf-8")
    before = path.stat().st_ino
    write_metrics(path, FACTS)
    assert path.stat().st_ino != before
    assert [p.name for p in tmp_path.iterdir()] == ["job.prom"]


def test_a_failed_write_leaves_no_temporary(tmp_path: Path) -> None:
    """If the file cannot be written (its place is a directory), no temporary file is left behind."""
    path = tmp_path / "job.prom"
    path.mkdir()
    with pytest.raises(OSError):
        write_metrics(path, FACTS)
    assert [p.name for p in tmp_path.iterdir()] == ["job.prom"] and path.is_dir()


def test_bad_facts_are_refused() -> None:
    """An unknown mode, a naive time or an unknown retry class is a ValueError at once."""
    with pytest.raises(ValueError, match="mode"):
        replace(FACTS, mode="nightly")
    with pytest.raises(ValueError, match="timezone"):
        replace(FACTS, finished_at=datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ValueError, match="retry classes"):
        replace(FACTS, retries_by_class={"timeout": 1})


@given(
    job=st.text(min_size=1, max_size=40),
    mode=st.sampled_from(sorted(MODES)),
    counts=st.dictionaries(st.sampled_from(["updated", "failed", "stale"]), st.integers(0, 10**9)),
    retries=st.dictionaries(st.sampled_from(RETRY_CLASSES), st.integers(0, 10**6)),
)
def test_any_job_name_round_trips(
    tmp_path_factory: pytest.TempPathFactory, job: str, mode: str, counts: dict[str, int],
    retries: dict[str, int],
) -> None:
    """Whatever the job's name (quotes, newlines, any script), the parser reads back its labels and values."""
    path = tmp_path_factory.mktemp("metrics") / "job.prom"
    write_metrics(path, replace(FACTS, job=job, mode=mode, rows_by_outcome=counts, retries_by_class=retries))
    found, label = samples(path), label_text(job)
    for outcome, count in counts.items():
        assert value(found, "rows", job=label, mode=mode, outcome=outcome) == count
    for name in RETRY_CLASSES:
        assert value(found, "retries", job=label, mode=mode, **{"class": name}) == retries.get(name, 0)
    assert len(label) == len(job)  # one `?` per unsafe character


def test_a_control_character_in_the_job_name_keeps_the_file_readable(tmp_path: Path) -> None:
    """A CR or U+2028 in a job name becomes `?` in its label, and the kept success still reads back."""
    path = tmp_path / "job.prom"
    write_metrics(path, replace(FACTS, job="a\rb\u2028c"))
    write_metrics(path, replace(FACTS, job="a\rb\u2028c", exit_code=1))
    assert value(samples(path), "last_success_timestamp_seconds", job="a?b?c") == FINISHED.timestamp()
