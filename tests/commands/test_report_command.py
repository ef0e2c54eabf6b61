"""`uom-batch report LEDGER [--html OUT]`: every ledger format, clear errors, the page in real Chromium."""

from __future__ import annotations

import csv
import shutil
import struct
import subprocess
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from batch.cli import main
from batch.engine.backoff import RetryPolicy
from batch.outcome import Outcome, RowOutcome
from batch.output.ledger import write_ledger
from batch.output.report_page import CHARTS
from batch.uom.emulator import Emulator, Faults
from tests.commands.test_startup import HEAVY, loaded_by
from tests.runs.support import REPO, run_file, settings, write_job
from tests.system_tools import needs

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOSTILE = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"
CHROMIUM = shutil.which("chromium")
BENCH_OUT = REPO / "bench" / "out"


def rows() -> list[RowOutcome]:
    """Two sent rows (one with a Japanese error message) and an invalid one."""
    start = T0 + timedelta(seconds=1)
    return [
        RowOutcome(row=2, action="update-ticket", ticket_id="UTM1000001", outcome=Outcome.UPDATED, attempts=1,
                   changed_fields=("StateCode",), started_at=T0, finished_at=start),
        RowOutcome(row=3, action="update-ticket", ticket_id="UTM1000002", outcome=Outcome.FAILED, attempts=2,
                   conflicts=1, error_type="PARAMETER_ERROR", error_message="承認者が違います",
                   started_at=T0, finished_at=start + timedelta(seconds=2)),
        RowOutcome(row=4, action="update-ticket", ticket_id="INC1", outcome=Outcome.INVALID,
                   error_type="PARAMETER_ERROR", error_message="TicketId: not UTM + digits"),
    ]


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`uom-batch report ARGV` in this process: exit code, stdout, stderr."""
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name, encoding", [("l.csv", "utf-8-sig"), ("l.csv", "cp932"), ("l.parquet", "")])
def test_every_ledger_format_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, encoding: str
) -> None:
    """CSV (UTF-8 with BOM, CP932) and Parquet ledgers give the same counts, messages and tables."""
    audit = {"kind": "update-ticket"}
    ledger = write_ledger(tmp_path / name, rows(), audit, csv_encoding=encoding or "utf-8")
    code, out, _ = report(capsys, str(ledger))
    assert code == 0
    assert f"ledger: {name}: 3 rows" in out and "kind: update-ticket" in out
    for cell in ("updated", "failed", "invalid", "PARAMETER_ERROR", "承認者が違います", "StateCode"):
        assert cell in out
    assert "latency per row (2 rows)" in out and "max 3.000 s" in out
    assert "conflicts: 1 retried, on 1 rows" in out
    assert "\x1b[" not in out  # not a terminal: plain text


def test_a_cp932_ledger_without_its_sidecar_is_still_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without `<ledger>.meta.json` a ledger that is not UTF-8 is read as CP932."""
    ledger = write_ledger(tmp_path / "l.csv", rows(), {}, csv_encoding="cp932")
    ledger.with_name("l.csv.meta.json").unlink()
    code, out, _ = report(capsys, str(ledger))
    assert code == 0 and "承認者が違います" in out


def test_html_is_written_atomically_beside_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--html writes one page with every chart, and leaves no temporary file."""
    ledger = write_ledger(tmp_path / "l.parquet", rows(), {})
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, _ = report(capsys, str(ledger), "--html", str(out_dir / "r.html"))
    assert code == 0 and "HTML report:" in out
    assert [p.name for p in out_dir.iterdir()] == ["r.html"]
    page = (out_dir / "r.html").read_text(encoding="utf-8")
    assert all(f'data-chart="{c}"' in page for c in CHARTS)


@pytest.mark.parametrize(
    "content, says",
    [(None, "no such ledger"), (b"TicketId,Priority\nUTM1,x\n", "no column"), (b"\x00\x01junk", "")],
)
def test_what_is_not_a_ledger_is_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, says: str
) -> None:
    """A missing file, a job file or junk is a one-line error and exit 2, never a traceback."""
    path = tmp_path / "job.csv"
    if content is not None:
        path.write_bytes(content)
    code, _, err = report(capsys, str(path))
    assert code == 2
    assert err.startswith(f"uom-batch: error: {path}") and says in err and "Traceback" not in err


def test_a_ledger_with_another_extension_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only .csv and .parquet are ledgers."""
    path = tmp_path / "l.json"
    path.write_text("{}", encoding="utf-8")
    code, _, err = report(capsys, str(path))
    assert code == 2 and "a ledger ends in .csv or .parquet" in err


def test_help_imports_no_heavy_library() -> None:
    """`uom-batch report --help` loads none of polars, rich, prometheus_client and the like."""
    code, loaded = loaded_by("report", "--help")
    assert code == 0
    assert loaded.isdisjoint({*HEAVY, "prometheus_client"}), loaded & {*HEAVY, "prometheus_client"}


# --- the page in a real browser ----------------------------------------------------------


class RenderedDom(HTMLParser):
    """What Chromium's DOM holds: per chart, its drawn shapes; every element name; the body's text."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: dict[str, int] = {}
        self.elements: set[str] = set()
        self.text: list[str] = []
        self._chart: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.add(tag)
        chart = dict(attrs).get("data-chart")
        if tag == "svg" and chart:
            self._chart = chart
            self.shapes[chart] = 0
        elif self._chart and tag in {"rect", "path", "text"}:
            self.shapes[self._chart] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def png_facts(path: Path) -> tuple[int, int, int]:
    """A PNG's width, height and number of distinct bytes in its pixel data (a blank page has ~4)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, pixels, size = 8, b"", (0, 0)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            pixels += chunk
        pos += 12 + length
    return size[0], size[1], len(set(zlib.decompress(pixels)))


def load_in_chromium(page: Path, screenshot: Path, profile: Path) -> tuple[str, list[str]]:
    """Load `page` in headless Chromium: its rendered DOM, and every console message it logged."""
    assert CHROMIUM is not None, "chromium is needed here (CI installs it: .ci/run)"
    command = [
        CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        f"--screenshot={screenshot}", "--window-size=1200,1600", "--dump-dom", page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture
async def faulty_emu() -> AsyncIterator[Emulator]:
    """The emulator with another operator (conflicts) and SYSTEM_ERRORs, serving on 127.0.0.1."""
    faults = Faults(latency_s=0.002, jitter_s=0.01, system_error_rate=0.15, other_operator_rate=0.2, seed=3)
    emulator = Emulator(faults=faults)
    async with emulator.running():
        yield emulator


async def real_ledger(emu: Emulator, tmp_path: Path) -> Path:
    """A real run's Parquet ledger (conflicts, failures, an invalid row), plus one hostile row."""
    with (REPO / "samples" / "request_priority_change.csv").open(encoding="utf-8") as f:
        job_rows = [*csv.DictReader(f), {"TicketId": "INC-1", "TicketProcessType": "2", "Priority": "高"}]
    job = write_job(tmp_path / "priority.csv", job_rows)
    assert emu.url is not None
    ran = await run_file(job, emu.url, settings(policy=replace(RetryPolicy.zero(), max_transient=0)))
    assert ran.report.conflicts and ran.report.counts[Outcome.FAILED]  # the page has something to show
    # One more row, the slowest, whose ticket id and message are markup (as a hostile reply could be).
    ledger, first = ran.report.ledger_path, ran.ledger
    hostile = pl.DataFrame([first.row(-1, named=True)], schema=first.schema).with_columns(
        pl.lit(first.height + 2, pl.Int64).alias("row"), pl.lit("HOSTILE_ERROR").alias("error_type"),
        pl.lit(HOSTILE).alias("error_message"), pl.lit(HOSTILE).alias("ticket_id"),
        pl.lit("failed").alias("outcome"), pl.lit(first["started_at"].min()).alias("started_at"),
        pl.lit(first["finished_at"].max()).alias("finished_at"),
    )
    frame = pl.concat([ran.ledger, hostile.select(ran.ledger.columns)])
    frame.write_parquet(ledger, metadata=pl.read_parquet_metadata(ledger))
    return ledger


@needs("chromium")
async def test_the_page_renders_in_chromium(
    faulty_emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real run's page loads in headless Chromium: no console message, every chart drawn, no markup run."""
    page, shot = tmp_path / "report.html", tmp_path / "report.png"
    assert report(capsys, str(await real_ledger(faulty_emu, tmp_path)), "--html", str(page))[0] == 0
    dom, console = load_in_chromium(page, shot, tmp_path / "profile")
    assert console == []  # no error, no warning, no blocked fetch: nothing at all
    rendered = RenderedDom()
    rendered.feed(dom)
    assert set(rendered.shapes) == set(CHARTS)
    assert all(n >= 3 for n in rendered.shapes.values()), rendered.shapes
    assert "script" not in rendered.elements and "img" not in rendered.elements
    assert "".join(rendered.text).count(HOSTILE) == 2  # the message and the ticket id, as text
    width, height, distinct = png_facts(shot)
    assert (width, height) == (1200, 1600) and distinct > 64
    BENCH_OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, BENCH_OUT / "report.png")


@needs("chromium")
def test_the_console_check_sees_a_broken_page(tmp_path: Path) -> None:
    """The console check itself works: a page that throws and fetches is caught by it."""
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><img src="https://example.invalid/x.png"><script>nope()</script>',
                    encoding="utf-8")
    _, console = load_in_chromium(page, tmp_path / "broken.png", tmp_path / "profile")
    assert any("nope is not defined" in line for line in console)
