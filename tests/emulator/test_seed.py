"""Seed tickets: the exact layout sample jobs rely on, scaling, determinism, the committed file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from batch.uom import spec
from batch.uom.emulator import Emulator, generate_tickets, load_seed
from batch.uom.emulator.seed import DEFAULT_SEED, write_seed

SEED_FILE = Path(__file__).resolve().parents[2] / "samples" / "seed_tickets.json"


def _by_id(n: int = 200) -> dict[str, dict[str, object]]:
    return {t["TicketId"]: t for t in generate_tickets(n)}


def _ids(prefix: int, first: int, last: int) -> list[str]:
    return [f"UTM{prefix}{i:06d}" for i in range(first, last + 1)]


def test_incident_layout() -> None:
    """Incidents 1–60 復旧済み, 61–90 対応中, 91–100 未対応, 101–110 クローズ承認待ち, 111–120 クローズ."""
    tickets = _by_id()
    expected = {
        "復旧済み": _ids(1, 1, 60),
        "対応中": _ids(1, 61, 90),
        "未対応": _ids(1, 91, 100),
        "クローズ承認待ち": _ids(1, 101, 110),
        "クローズ": _ids(1, 111, 120),
    }
    for state, ids in expected.items():
        assert all(tickets[i]["StateCode"] == state and tickets[i]["TicketProcessType"] == "1" for i in ids)
    assert all(tickets[i]["FinishApprovalUserId"] == "SA1234567" for i in _ids(1, 101, 110))
    assert not any(tickets[i].get("FinishApprovalUserId") for i in _ids(1, 1, 100))


def test_relations() -> None:
    """Child UTM1000061+k belongs to master UTM1000091 + k//6; no other ticket has a master."""
    tickets = _by_id()
    for k in range(30):
        assert tickets[f"UTM{1000061 + k}"]["MasterTicketId"] == f"UTM{1000091 + k // 6}"
    children = [i for i, t in tickets.items() if t["MasterTicketId"]]
    assert len(children) == 30


def test_request_layout() -> None:
    """Requests UTM2000001–080 cycle 新規/対応中/差し戻し/クローズ承認待ち, the last with an approver."""
    tickets = _by_id()
    cycle = ("新規", "対応中", "差し戻し", "クローズ承認待ち")
    for j, tid in enumerate(_ids(2, 1, 80)):
        ticket = tickets[tid]
        assert (ticket["TicketProcessType"], ticket["StateCode"]) == ("2", cycle[j % 4])
        assert bool(ticket.get("FinishApprovalUserId")) is (cycle[j % 4] == "クローズ承認待ち")
        assert ticket["Category"]
    assert len(tickets) == 200


def test_every_ticket_is_complete_and_valid() -> None:
    """Required fields filled, choices respected, groups present unless closed, 0–3 memos, ordered stamps."""
    for ticket in generate_tickets(200):
        kind = spec.TicketKind(ticket["TicketProcessType"])
        fields = spec.update_fields(kind)
        for name in ("Priority", "CorrespondLimitDate", "ManagementGroupId"):
            assert ticket[name], (ticket["TicketId"], name)
        if kind is spec.TicketKind.INCIDENT:
            assert all(ticket[n] for n in ("Importance", "CauseClassification", "AssignUser"))
            assert ticket["ManagementGroupId"] == "制限しない"
        assert ticket["Priority"] in spec.PRIORITIES
        assert ticket["AssignUser"] in ("SA1234567", "SA2345678")
        assert (
            ticket.get("SupportedGroup") in fields["SupportedGroup"].choices
            or ticket["StateCode"] == "クローズ"
        )
        assert 0 <= len(ticket["CorrespondProcessList"]) <= 3
        assert ticket["StateInsertDate"] < ticket["StateUpdateDate"]


def test_stamps_distinct_between_tickets() -> None:
    """Every ticket was created at its own moment."""
    created = [t["StateInsertDate"] for t in generate_tickets(200)]
    assert len(set(created)) == 200


def test_deterministic() -> None:
    """The same n and seed give the same tickets; another seed gives others."""
    assert generate_tickets(200) == generate_tickets(200)
    assert generate_tickets(200, seed=1) != generate_tickets(200)


def test_committed_seed_file_is_the_generator_output() -> None:
    """samples/seed_tickets.json is exactly generate_tickets(200), pretty UTF-8 JSON."""
    raw = SEED_FILE.read_bytes()
    assert orjson.loads(raw) == generate_tickets(200)
    assert "復旧済み".encode() in raw and raw.endswith(b"\n") and b"\n  {" in raw
    assert SEED_FILE == DEFAULT_SEED and load_seed() == generate_tickets(200)


def test_scales_by_blocks() -> None:
    """generate_tickets(5000) repeats the blocks: 3000 incidents, 2000 requests, same layout, short ids."""
    tickets = _by_id(5000)
    kinds = Counter(t["TicketProcessType"] for t in tickets.values())
    assert kinds == {"1": 3000, "2": 2000}
    assert all(len(i) <= 15 for i in tickets)
    for block in range(25):
        base = 1000001 + 120 * block
        assert tickets[f"UTM{base}"]["StateCode"] == "復旧済み"
        assert tickets[f"UTM{base + 60}"]["MasterTicketId"] == f"UTM{base + 90}"
        assert tickets[f"UTM{base + 119}"]["StateCode"] == "クローズ"


@pytest.mark.parametrize("n", [0, 1, 7, 199, 290])
def test_partial_blocks_have_no_dangling_relations(n: int) -> None:
    """Any n gives n tickets whose masters all exist."""
    tickets = _by_id(n)
    assert len(tickets) == n
    assert all(t["MasterTicketId"] in tickets for t in tickets.values() if t["MasterTicketId"])


def test_too_many_refused() -> None:
    """A size whose incident numbers would reach the request range is refused."""
    with pytest.raises(ValueError):
        generate_tickets(2_000_000)


def test_write_and_load(tmp_path: Path) -> None:
    """write_seed and load_seed round-trip; a file that is not a list of objects is refused."""
    path = tmp_path / "seed.json"
    write_seed(path, generate_tickets(10))
    assert load_seed(path) == generate_tickets(10)
    path.write_text('{"TicketId": "UTM1"}', encoding="utf-8")
    with pytest.raises(ValueError, match="list of ticket objects"):
        load_seed(path)


def test_emulator_defaults_to_the_sample_seed() -> None:
    """Emulator() serves the 200 sample tickets in GetTicketDetail's shape."""
    emu = Emulator()
    assert len(emu.tickets) == 200
    assert emu.tickets["UTM1000001"]["FinishApprovalUserId"] == ""
    assert emu.tickets["UTM2000001"]["DetailInsertDate"] != ""
