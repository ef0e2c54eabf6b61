"""ReleaseIncidentRelate (D6, D9, D10): all children detached, or HTTP 400 and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from batch.uom.emulator import Emulator

from .support import REMOVE, Api, release_body

MASTER, OTHER_MASTER = "UTM1000091", "UTM1000092"
CHILDREN = [f"UTM{1000061 + k}" for k in range(6)]  # UTM1000091's children
OTHER_CHILD = "UTM1000067"  # UTM1000092's first child


def _relations(emu: Emulator) -> dict[str, str]:
    return {tid: t["MasterTicketId"] for tid, t in emu.tickets.items()}


async def test_release_detaches_children(api: Api, emu: Emulator) -> None:
    """Listed children lose their master; their siblings, stamps and other fields stay."""
    before = {tid: dict(t) for tid, t in emu.tickets.items()}
    answer = await api.call("ReleaseIncidentRelate", release_body(MASTER, CHILDREN[:2]))
    assert answer.status == 200
    assert set(answer.result("ReleaseIncidentRelate")) == {"RequestId"}
    for tid, ticket in emu.tickets.items():
        expected = {**before[tid], "MasterTicketId": ""} if tid in CHILDREN[:2] else before[tid]
        assert ticket == expected
    assert (await api.detail(CHILDREN[0]))["MasterTicketId"] == ""


BAD: dict[str, dict[str, Any]] = {
    "unknown child": release_body(MASTER, [CHILDREN[0], "UTM1999999"]),
    "child of another master": release_body(MASTER, [CHILDREN[0], OTHER_CHILD]),
    "the master itself": release_body(MASTER, [MASTER]),
    "unknown master": release_body("UTM1999998", [CHILDREN[0]]),
    "IM ids": release_body("IM1234567", ["IM1234568"]),
    "duplicate child": release_body(MASTER, [CHILDREN[0], CHILDREN[0]]),
    "empty list": release_body(MASTER, []),
    "string not list": release_body(MASTER, CHILDREN[0]),  # type: ignore[arg-type]
    "number in list": release_body(MASTER, [1000061]),  # type: ignore[list-item]
    "child id too long": release_body(MASTER, ["UTM" + "1" * 13]),
    "OfficeId": release_body(MASTER, CHILDREN[:1], OfficeId="IIJ00000002"),
    "Locale 1": release_body(MASTER, CHILDREN[:1], Locale="1"),
    "Locale missing": release_body(MASTER, CHILDREN[:1], Locale=REMOVE),
    "bad service code": release_body(MASTER, CHILDREN[:1], ServiceCode="uom00000000"),
    "unknown master id": release_body(MASTER, CHILDREN[:1], MasterId="SA0000001"),
    "MasterID casing": {**release_body(MASTER, CHILDREN[:1], MasterId=REMOVE), "MasterID": "SA1234567"},
    "extra key": release_body(MASTER, CHILDREN[:1], TicketId="UTM1000061"),
}


@pytest.mark.parametrize("case", BAD)
async def test_release_refused_changes_nothing(api: Api, emu: Emulator, case: str) -> None:
    """Any invalid child or parameter gives HTTP 400 ParameterError, no ErrorDetail, no change."""
    before = _relations(emu)
    answer = await api.call("ReleaseIncidentRelate", BAD[case])
    assert answer.status == 400
    assert answer.error is not None
    assert {k: v for k, v in answer.error.items() if k != "RequestId"} == {
        "ErrorType": "ParameterError",
        "ErrorMessage": "There are invalid parameters.",
    }
    assert _relations(emu) == before


async def test_release_twice_is_refused(api: Api) -> None:
    """Releasing a child that is already released is HTTP 400 (no longer related, D6)."""
    assert (await api.call("ReleaseIncidentRelate", release_body(MASTER, CHILDREN[:1]))).status == 200
    assert (await api.call("ReleaseIncidentRelate", release_body(MASTER, CHILDREN[:1]))).status == 400


async def test_release_system_error_is_500(api: Api, emu: Emulator) -> None:
    """A system fault on ReleaseIncidentRelate is HTTP 500 UOMWebSystemError and changes nothing."""
    emu.script("ReleaseIncidentRelate", "system_error")
    answer = await api.call("ReleaseIncidentRelate", release_body(MASTER, CHILDREN))
    assert answer.status == 500
    assert answer.error is not None
    assert {k: v for k, v in answer.error.items() if k != "RequestId"} == {
        "ErrorType": "UOMWebSystemError",
        "ErrorMessage": "UOM Web System error occurred.",
    }
    assert emu.tickets[CHILDREN[0]]["MasterTicketId"] == MASTER
