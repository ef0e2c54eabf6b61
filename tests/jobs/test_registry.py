"""Which kind a job file is: --action, the Action column, or inferred from the columns."""

from __future__ import annotations

import polars as pl
import pytest

from batch.errors import JobFileError
from jobs import registry
from jobs.registry import action_in_file, detect_kind


def test_registry_names_both_kinds() -> None:
    """KINDS maps the CLI names to the kinds."""
    assert set(registry.KINDS) == {"update-ticket", "release-relation"}
    assert registry.KINDS["release-relation"].name == "release-relation"


def test_inferred_from_columns() -> None:
    """Without --action or Action column, the identifying columns decide and are named."""
    assert detect_kind(["TicketId", "StateCode"], None) == ("update-ticket", "inferred from columns TicketId")
    assert detect_kind(["MasterIncidentId", "IncidentId"], None) == (
        "release-relation",
        "inferred from columns MasterIncidentId,IncidentId",
    )


def test_cannot_infer() -> None:
    """No identifying column, or columns of both kinds, is a JobFileError asking for --action."""
    with pytest.raises(JobFileError, match="no column that marks a kind; pass --action"):
        detect_kind(["Title"], None)
    with pytest.raises(JobFileError, match="columns of several kinds"):
        detect_kind(["TicketId", "IncidentId"], None)


def test_action_flag_and_column() -> None:
    """--action wins over inference; the Action column is used when no flag; API names work too."""
    assert detect_kind(["TicketId"], "update-ticket") == ("update-ticket", "--action")
    assert detect_kind(["X"], None, column_action="ReleaseIncidentRelate") == (
        "release-relation",
        "Action column",
    )
    assert detect_kind(["X"], "UPDATE-TICKET", column_action="UpdateTicket") == ("update-ticket", "--action")


def test_action_disagreement_and_unknown() -> None:
    """A flag that contradicts the Action column, or an unknown kind, is refused."""
    with pytest.raises(JobFileError, match="disagrees"):
        detect_kind(["TicketId"], "release-relation", column_action="update-ticket")
    with pytest.raises(JobFileError, match="unknown kind 'delete-all'"):
        detect_kind(["TicketId"], "delete-all")


def test_action_column_must_be_uniform() -> None:
    """The Action column holds one value in every row (all empty = no column)."""
    same = pl.DataFrame({"Action": ["update-ticket"] * 2})
    assert action_in_file(same, "j.csv") == "update-ticket"
    assert action_in_file(pl.DataFrame({"Action": ["", ""]}), "j.csv") is None
    assert action_in_file(pl.DataFrame({"X": ["a"]}), "j.csv") is None
    with pytest.raises(JobFileError, match="one value in every row"):
        action_in_file(pl.DataFrame({"Action": ["update-ticket", ""]}), "j.csv")
