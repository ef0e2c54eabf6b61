"""The ledger report: summaries from either ledger format, and a safe, self-contained HTML page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.commands.report import read_ledger
from batch.errors import JobFileError
from batch.outcome import Outcome, RowOutcome
from batch.output.ledger import write_ledger
from batch.output.report import LedgerSummary, summarise
from batch.output.report_page import CHARTS, render_html

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AUDIT = {"job_file": "close.csv", "kind": "update-ticket", "run_id": "1"}
HOSTILE_MESSAGE = "<script>alert('x')</script> & \"quoted\""
HOSTILE_TICKET = '"><img src=x onerror=alert(1)>'


def done(row: int, outcome: Outcome, start_s: float, took_s: float, **kw: object) -> RowOutcome:
    """A sent row's outcome, started `start_s` after T0 and taking `took_s`."""
    started = T0 + timedelta(seconds=start_s)
    return RowOutcome(row=row, action="update-ticket", ticket_id=kw.pop("ticket_id", f"UTM{row:07d}"),  # type: ignore[arg-type]
                      outcome=outcome, attempts=1, started_at=started,
                      finished_at=started + timedelta(seconds=took_s), **kw)  # type: ignore[arg-type]


def ledger_rows() -> list[RowOutcome]:
    """A run: updates, an unchanged row, conflicts, a sent failure, an invalid row, a hostile message."""
    return [
        done(2, Outcome.UPDATED, 0.0, 0.2, changed_fields=("StateCode", "Priority")),
        done(3, Outcome.UPDATED, 0.1, 3.5, conflicts=2, changed_fields=("StateCode",)),
        done(4, Outcome.UNCHANGED, 0.2, 0.1),
        done(5, Outcome.FAILED, 1.0, 0.4, error_type="SYSTEM_ERROR", error_message=HOSTILE_MESSAGE,
             ticket_id=HOSTILE_TICKET),
        done(6, Outcome.FAILED, 2.0, 0.5, error_type="SYSTEM_ERROR", error_message="later",
             conflicts=1),
        RowOutcome(row=7, action="update-ticket", ticket_id="INC1", outcome=Outcome.INVALID,
                   error_type="PARAMETER_ERROR", error_message="TicketId: not UTM + digits"),
    ]


def written(
    tmp_path: Path, rows: list[RowOutcome], suffix: str, **audit: str
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The rows written by the real ledger writer and read back as `report` reads them."""
    path = write_ledger(tmp_path / f"job.ledger{suffix}", rows, {**AUDIT, **audit})
    return read_ledger(path)


@pytest.fixture(params=[".csv", ".parquet"])
def summary(request: pytest.FixtureRequest, tmp_path: Path) -> LedgerSummary:
    """The summary of the standard ledger, from a CSV and from a Parquet ledger."""
    return summarise(*written(tmp_path, ledger_rows(), request.param))


def test_counts_by_outcome_and_error_type(summary: LedgerSummary) -> None:
    """Outcomes come in the vocabulary's order; error types by count, each with its first message."""
    assert summary.rows == 6
    assert summary.outcomes == (("updated", 2), ("unchanged", 1), ("invalid", 1), ("failed", 2))
    assert [tuple(e) for e in summary.errors] == [("SYSTEM_ERROR", 2, HOSTILE_MESSAGE),
                                                  ("PARAMETER_ERROR", 1, "TicketId: not UTM + digits")]
    assert summary.facts == AUDIT


def test_changed_fields_slowest_and_conflicts(summary: LedgerSummary) -> None:
    """Fields count the rows changing them; slowest is by finished - started; conflicts are summed."""
    assert summary.fields == (("StateCode", 2), ("Priority", 1))
    assert not summary.drift
    assert [(r.row, r.seconds) for r in summary.slowest[:2]] == [(3, 3.5), (6, 0.5)]
    assert len(summary.slowest) == 5  # the invalid row was never sent: no time
    assert (summary.conflicts, summary.conflict_rows) == (3, 2)
    assert [(r.row, r.conflicts) for r in summary.most_conflicts] == [(3, 2), (6, 1)]


def test_latency_and_timeline(summary: LedgerSummary) -> None:
    """Latency percentiles over sent rows; the timeline counts finished rows and errors per bucket."""
    lat = summary.latency
    assert (lat.rows, lat.max_s, lat.p50_s) == (5, 3.5, 0.4)
    assert sum(n for _, n in lat.bins) == 5
    t = summary.timeline
    assert t.start == T0 and t.width_s == 0.05  # 3.6 s fits in fewer than 120 buckets of 0.05 s
    assert sum(t.finished) == 5 and t.finished[4] == 1  # row 2 finished at 0.2 s: the fifth bucket opens
    assert set(t.errors) == {"SYSTEM_ERROR"} and sum(t.errors["SYSTEM_ERROR"]) == 2


def test_long_runs_get_wider_buckets(tmp_path: Path) -> None:
    """A run over 1000 s is shown in 10 s buckets (at most 120), throughput in rows per second."""
    rows = [done(2 + i, Outcome.UPDATED, i * 100.0, 1.0) for i in range(11)]
    t = summarise(*written(tmp_path, rows, ".parquet")).timeline
    assert t.width_s == 10 and len(t.finished) == 101
    assert t.rows_per_s[0] == 0.1  # one row in the first 10 s


@pytest.mark.parametrize("why", [{"mode": "reconcile"}, {"mode": "plan"}, {}])
def test_a_plan_or_reconcile_ledger_shows_drift(tmp_path: Path, why: dict[str, str]) -> None:
    """Changed fields are drift for a reconcile or plan ledger (by its mode, or predicted outcomes)."""
    rows = [done(2, Outcome.WOULD_UPDATE if not why else Outcome.UPDATED, 0, 1, changed_fields=("Priority",))]
    s = summarise(*written(tmp_path, rows, ".csv", **why))
    assert s.drift
    assert "Drift per field" in render_html("l.csv", s)


def test_an_empty_ledger_still_renders(tmp_path: Path) -> None:
    """A ledger with no rows gives zero counts and a page whose charts say there is no data."""
    s = summarise(*written(tmp_path, [], ".parquet"))
    assert (s.rows, s.outcomes, s.latency.rows, s.timeline.finished) == (0, (), 0, ())
    page = render_html("empty.parquet", s)
    assert all(f'data-chart="{c}"' in page for c in CHARTS) and "no data" in page


def test_a_frame_without_ledger_columns_is_refused() -> None:
    """Something that is not a ledger is a JobFileError naming the missing columns, not a traceback."""
    with pytest.raises(JobFileError, match=r"no column .*outcome"):
        summarise(pl.DataFrame({"row": ["2"], "TicketId": ["UTM1"]}), {})


def test_the_page_escapes_every_ledger_value(summary: LedgerSummary) -> None:
    """Messages and ticket ids are text on the page: no script, no element of their own."""
    page = render_html("<b>job</b>.csv", summary)
    assert "<script" not in page and "<img" not in page and "<b>job" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_page_fetches_nothing(summary: LedgerSummary) -> None:
    """One file: no URL to load anything from, and a policy that forbids loading if one slipped in."""
    page = render_html("l.csv", summary)
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert "http://" not in page and "https://" not in page
    assert "default-src 'none'" in page


def test_every_chart_is_titled_and_described(summary: LedgerSummary) -> None:
    """Each chart is an svg with data-chart, role=img, a title and a desc saying what it shows."""
    page = render_html("l.csv", summary)
    for chart in CHARTS:
        svg = re.search(rf'<svg data-chart="{chart}".*?</svg>', page)
        assert svg is not None, chart
        assert 'role="img"' in svg[0] and f'<title id="{chart}-title">' in svg[0]
        desc = re.search(rf'<desc id="{chart}-desc">(.+?)</desc>', svg[0])
        assert desc is not None and len(desc[1]) > 10
        assert "<rect" in svg[0] or (chart == "errors" and "no errors" in svg[0])


# Whole milliseconds: the CSV ledger keeps stamps to the millisecond, Parquet to the microsecond.
stamps = st.integers(0, 5_000_000).map(lambda ms: ms / 1000)
outcomes = st.sampled_from([Outcome.UPDATED, Outcome.UNCHANGED, Outcome.FAILED, Outcome.SKIPPED])


@st.composite
def ledgers(draw: st.DrawFn) -> list[RowOutcome]:
    """Any run's outcomes: sent or not, timed anywhere in a long run, with fields and errors."""
    rows = []
    for i in range(draw(st.integers(0, 30))):
        outcome = draw(outcomes)
        fields = tuple(draw(st.lists(st.sampled_from(["StateCode", "Priority", "Title"]), unique=True)))
        error = {"error_type": "SYSTEM_ERROR", "error_message": "x"} if outcome is Outcome.FAILED else {}
        if outcome is Outcome.SKIPPED:
            rows.append(RowOutcome(row=i + 2, action="update-ticket", ticket_id=f"UTM{i}", outcome=outcome))
        else:
            took = draw(st.integers(0, 60_000)) / 1000
            rows.append(done(i + 2, outcome, draw(stamps), took, changed_fields=fields,
                             conflicts=draw(st.integers(0, 3)), **error))
    return rows


@settings(max_examples=40)  # each example writes and reads two ledger files
@given(rows=ledgers())
def test_both_ledger_formats_summarise_alike(tmp_path_factory: pytest.TempPathFactory,
                                             rows: list[RowOutcome]) -> None:
    """A CSV and a Parquet ledger of the same run give the same summary, and its counts add up."""
    where = tmp_path_factory.mktemp("ledgers")
    from_csv, from_parquet = (summarise(*written(where, rows, s)) for s in (".csv", ".parquet"))
    assert from_csv == from_parquet
    assert sum(n for _, n in from_csv.outcomes) == len(rows)
    sent = sum(o.finished_at is not None for o in rows)
    assert sum(from_csv.timeline.finished) == from_csv.latency.rows == sent
    assert len(from_csv.timeline.finished) <= 121
    render_html("l.csv", from_csv)  # draws any of them
