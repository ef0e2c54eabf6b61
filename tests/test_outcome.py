"""The row outcome model and the exit code it leads to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from batch.outcome import FINAL_OUTCOMES, Outcome, RowOutcome, exit_code_for


def test_every_outcome_but_skipped_is_final() -> None:
    """FINAL_OUTCOMES holds all outcomes except skipped."""
    assert set(Outcome) - FINAL_OUTCOMES == {Outcome.SKIPPED}
    assert len(FINAL_OUTCOMES) == 9  # the six of a run, stale (run --plan), two predictions of a plan


def test_outcomes_are_their_ledger_strings() -> None:
    """Outcome values are the lower-case names written to the journal and ledger."""
    assert [str(o) for o in Outcome] == [
        "updated", "unchanged", "released", "invalid", "failed", "precondition_failed",
        "stale", "skipped", "would_update", "would_release",
    ]


def test_defaults_and_normalisation() -> None:
    """A minimal RowOutcome has empty evidence; a str outcome and a list of fields normalise."""
    o = RowOutcome(row=2, action="update-ticket", ticket_id="T1", outcome="updated",  # type: ignore[arg-type]
                   changed_fields=["Subject"])  # type: ignore[arg-type]
    assert o.outcome is Outcome.UPDATED
    assert o.changed_fields == ("Subject",)
    assert (o.attempts, o.conflicts, o.before, o.after, o.started_at) == (0, 0, {}, {}, None)
    assert o.outcome in FINAL_OUTCOMES


def test_row_outcome_is_frozen() -> None:
    """A RowOutcome cannot be changed once made."""
    o = RowOutcome(row=2, action="update-ticket", ticket_id="T1", outcome=Outcome.SKIPPED)
    with pytest.raises(AttributeError):
        o.row = 3  # type: ignore[misc]
    assert o.outcome not in FINAL_OUTCOMES


def test_row_numbers_start_below_the_header() -> None:
    """Row 1 is the header, so a row number below 2 is refused."""
    with pytest.raises(ValueError, match="row numbers start at 2"):
        RowOutcome(row=1, action="update-ticket", ticket_id="T1", outcome=Outcome.FAILED)


def test_naive_timestamps_are_refused() -> None:
    """started_at / finished_at must be timezone-aware."""
    with pytest.raises(ValueError, match="timezone-aware"):
        RowOutcome(row=2, action="update-ticket", ticket_id="T1", outcome=Outcome.FAILED,
                   finished_at=datetime(2026, 1, 1))
    jst = timezone(timedelta(hours=9))
    RowOutcome(row=2, action="update-ticket", ticket_id="T1", outcome=Outcome.FAILED,
               started_at=datetime(2026, 1, 1, tzinfo=jst), finished_at=datetime.now(UTC))


@pytest.mark.parametrize(
    ("counts", "interrupted", "auth_stopped", "code"),
    [
        ({Outcome.UPDATED: 3, Outcome.UNCHANGED: 1}, False, False, 0),
        ({Outcome.RELEASED: 2, Outcome.PRECONDITION_FAILED: 1}, False, False, 0),
        ({}, False, False, 0),
        ({Outcome.UPDATED: 3, Outcome.SKIPPED: 2}, False, False, 0),
        ({Outcome.UPDATED: 3, Outcome.FAILED: 1}, False, False, 1),
        ({Outcome.INVALID: 1}, False, False, 1),
        ({Outcome.UPDATED: 3, Outcome.FAILED: 0, Outcome.INVALID: 0}, False, False, 0),
        ({Outcome.UPDATED: 1, Outcome.SKIPPED: 5}, False, True, 1),
        ({Outcome.UPDATED: 1, Outcome.SKIPPED: 5}, True, False, 130),
        ({Outcome.FAILED: 1, Outcome.SKIPPED: 5}, True, True, 130),
    ],
)
def test_exit_code(counts: dict[Outcome, int], interrupted: bool, auth_stopped: bool,
                   code: int) -> None:
    """0 when every row is done or deliberately refused, 1 on failure or auth stop, 130 on Ctrl-C."""
    assert exit_code_for(counts, interrupted=interrupted, auth_stopped=auth_stopped) == code
