"""release-relation end to end: grouping by master, bisection of a refused group, settled children."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch.uom.emulator import Emulator

from .support import Turnstile, entries, run_file, settings, write_job

MASTER = "UTM1000091"  # the seed's master of UTM1000061–066; UTM1000092 is the master of 067–072
RELEASE = "ReleaseIncidentRelate"


def children(*numbers: int, master: str = MASTER) -> list[dict[str, str]]:
    """Job rows releasing UTM10000<n> from `master`."""
    return [{"MasterIncidentId": master, "IncidentId": f"UTM10000{n}"} for n in numbers]


def sent(emu: Emulator) -> list[tuple[str, ...]]:
    """The (master, children…) of every ReleaseIncidentRelate call, in order."""
    return [e.ticket_ids for e in entries(emu, RELEASE)]


async def test_children_of_one_master_share_a_call(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Children of one master go in calls of at most group_size; each row keeps its call's RequestId."""
    rows = children(61, 62, 63) + children(67, master="UTM1000092") + children(64, 65, 66)
    ran = await run_file(write_job(tmp_path / "job.csv", rows), url, settings(group_size=4))
    group = (MASTER, "UTM1000061", "UTM1000062", "UTM1000063", "UTM1000064")
    assert sorted(sent(emu)) == [group, (MASTER, "UTM1000065", "UTM1000066"), ("UTM1000092", "UTM1000067")]
    ids = {e.ticket_ids: e.request_id for e in entries(emu, RELEASE)}
    assert set(ran.outcomes.values()) == {"released"}
    assert [ran.row(r)["request_id"] for r in (2, 3, 4, 6)] == [ids[group]] * 4
    assert ran.row(2)["changed_fields"] == ["MasterTicketId"]
    assert all(emu.tickets[f"UTM10000{n}"]["MasterTicketId"] == "" for n in range(61, 68))


async def test_refused_group_is_bisected(emu: Emulator, gate: Turnstile, url: str, tmp_path: Path) -> None:
    """A refused group is split until the refused child stands alone; each row gets its true outcome."""

    async def relate_elsewhere() -> None:  # after the four fetches, before the group's call
        emu.tickets["UTM1000062"]["MasterTicketId"] = "UTM1000092"

    gate.on_arrival(5, relate_elsewhere)
    ran = await run_file(write_job(tmp_path / "job.csv", children(61, 62, 63, 64)), url)
    calls = entries(emu, RELEASE)
    assert [(e.ticket_ids[1:], e.http_status) for e in calls] == [
        (("UTM1000061", "UTM1000062", "UTM1000063", "UTM1000064"), 400),
        (("UTM1000061", "UTM1000062"), 400),
        (("UTM1000061",), 200),
        (("UTM1000062",), 400),
        (("UTM1000063", "UTM1000064"), 200),
    ]
    assert ran.outcomes == {2: "released", 3: "failed", 4: "released", 5: "released"}
    assert [ran.row(r)["request_id"] for r in (2, 3, 4, 5)] == [calls[i].request_id for i in (2, 3, 4, 4)]
    assert ran.row(3)["error_type"] == "ParameterError"
    assert emu.tickets["UTM1000062"]["MasterTicketId"] == "UTM1000092"


async def test_settled_children_are_never_sent(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Released already or repeated → unchanged; related to another master → failed, naming it, unsent."""
    emu.tickets["UTM1000061"]["MasterTicketId"] = ""
    rows = children(61, 62, 67, 62)
    ran = await run_file(write_job(tmp_path / "job.csv", rows), url)
    assert ran.outcomes == {2: "unchanged", 3: "released", 4: "failed", 5: "unchanged"}
    assert sent(emu) == [(MASTER, "UTM1000062")]
    failed = ran.row(4)
    assert failed["error_type"] == "RELATED_TO_OTHER_MASTER"
    assert "UTM1000067 is related to UTM1000092, not to UTM1000091" in failed["error_message"]
    assert emu.tickets["UTM1000067"]["MasterTicketId"] == "UTM1000092"
    assert ran.report.exit_code == 1


@pytest.mark.parametrize("fault", ["system_error", "http500", "drop_before", "drop_after", "rate_limited"])
async def test_release_recovers_from_fault(emu: Emulator, url: str, tmp_path: Path, fault: str) -> None:
    """After a transient fault or a lost reply the group is refetched and ends released, sent as needed."""
    emu.script(RELEASE, fault)
    ran = await run_file(write_job(tmp_path / "job.csv", children(61, 62)), url)
    assert ran.outcomes == {2: "released", 3: "released"}
    landed = [e for e in entries(emu, RELEASE) if e.fault in (None, "drop_after")]
    assert len(landed) == 1
    assert emu.tickets["UTM1000061"]["MasterTicketId"] == emu.tickets["UTM1000062"]["MasterTicketId"] == ""


async def test_release_auth_failure_is_a_parameter_error(emu: Emulator, url: str, tmp_path: Path) -> None:
    """ReleaseIncidentRelate answers a bad signature as ParameterError (D5/D9): the child fails, once."""
    emu.script(RELEASE, "auth_failure")
    ran = await run_file(write_job(tmp_path / "job.csv", children(61)), url)
    assert (ran.row(2)["outcome"], ran.row(2)["error_type"]) == ("failed", "ParameterError")
    assert len(entries(emu, RELEASE)) == 1
    assert emu.tickets["UTM1000061"]["MasterTicketId"] == MASTER


async def test_row_account_columns_are_sent(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A row's MasterId / ServiceCode go in its call: an unknown account is refused for that row only."""
    rows = children(61, 62, 63)
    rows[1]["MasterId"] = "SA9999999"
    rows[2]["ServiceCode"] = "uom99999999"
    ran = await run_file(write_job(tmp_path / "job.csv", rows), url)
    assert ran.outcomes == {2: "released", 3: "failed", 4: "failed"}
    assert sorted(sent(emu)) == [(MASTER, "UTM1000061"), (MASTER, "UTM1000062"), (MASTER, "UTM1000063")]
    assert [emu.tickets[f"UTM10000{n}"]["MasterTicketId"] for n in (61, 62, 63)] == ["", MASTER, MASTER]
