"""Reading GetTicketDetail strictly (D1), and the UpdateTicket key check, on the lookups they use."""

from __future__ import annotations

from typing import Any

import pytest

from batch.uom import errors
from batch.uom.client import UomClient
from batch.uom.emulator import DEMO_CREDENTIALS, generate_tickets
from batch.uom.spec import MEMO_SEQ, TicketKind, timestamp_fields
from batch.uom.ticket import Memo, TicketDetail

from .conftest import credentials_for

TICKETS = {t["TicketId"]: t for t in generate_tickets(60)}


def reply(ticket_id: str, **changes: Any) -> dict[str, Any]:
    """A GetTicketDetailResponse for a generated ticket, with `changes`."""
    return {"RequestId": "R1", **TICKETS[ticket_id], **changes}


@pytest.mark.parametrize(
    ("ticket_id", "kind"), [("UTM1000001", TicketKind.INCIDENT), ("UTM2000004", TicketKind.REQUEST)]
)
def test_reads_kind_stamps_and_memos(ticket_id: str, kind: TicketKind) -> None:
    """Each kind is read with its own stamps (6 or 8), its memos in order, and the reply's fields."""
    response = reply(ticket_id)
    ticket = TicketDetail.from_response(response)
    assert ticket.kind is kind
    assert dict(ticket.timestamps) == {k: response[k] for k in timestamp_fields(kind)}
    assert ticket.memos == tuple(
        Memo(m[MEMO_SEQ], m["CorrespondProcess"]) for m in response["CorrespondProcessList"]
    )
    assert ticket.fields["Priority"] == response["Priority"] and ticket.request_id == "R1"


@pytest.mark.parametrize("value", ["3", "", "incident"])
def test_unknown_ticket_kind_is_a_protocol_error(value: str) -> None:
    """A TicketProcessType other than '1' or '2' is a ProtocolError naming the value."""
    with pytest.raises(errors.ProtocolError, match=f"TicketProcessType '{value}'"):
        TicketDetail.from_response(reply("UTM1000001", TicketProcessType=value))


def test_request_stamps_are_required_of_requests_only() -> None:
    """DetailUpdateDate is required of a request ticket; an incident does without it."""
    incident = reply("UTM1000001")
    incident.pop("DetailUpdateDate", None)
    assert TicketDetail.from_response(incident).kind is TicketKind.INCIDENT
    request = reply("UTM2000001")
    del request["DetailUpdateDate"]
    with pytest.raises(errors.ProtocolError, match="missing DetailUpdateDate"):
        TicketDetail.from_response(request)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"TicketId": "UTM1", "TicketProcessType": "3"}, "TicketProcessType '1' or '2'"),
        ({"TicketId": "UTM1"}, "TicketProcessType '1' or '2'"),
        ({"TicketId": "UTM1", "TicketProcessType": "2", "Importance": "高"}, r"\['Importance'\]"),
        ({"TicketId": "UTM1", "TicketProcessType": TicketKind.INCIDENT, "Bogus": "x"}, r"\['Bogus'\]"),
    ],
)
async def test_update_keys_are_checked_before_anything_is_sent(fields: dict[str, Any], message: str) -> None:
    """An UpdateTicket body with no known kind, or a key its kind's table lacks, is refused unsent."""
    client = UomClient(credentials_for("http://127.0.0.1:9", DEMO_CREDENTIALS))  # never connected
    with pytest.raises(ValueError, match=message):
        await client.update_ticket(fields)
