"""Reading replies: success and failure are decided from the body, whatever the HTTP status."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from batch.uom import errors
from batch.uom.replies import parse_reply, retry_after_s

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RID = "aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-eeeeeeee"


def _err(error_type: str, message: str = "m", **extra: object) -> bytes:
    body = {"RequestId": RID, "ErrorType": error_type, "ErrorMessage": message, **extra}
    return orjson.dumps({"ErrorResponse": body})


def test_success_object_is_returned() -> None:
    """A `<Action>Response` with HTTP 200 is success and gives its RequestId."""
    body = orjson.dumps({"UpdateTicketResponse": {"RequestId": RID}})
    assert parse_reply("UpdateTicket", 200, {}, body, now=lambda: NOW)["RequestId"] == RID


def test_request_id_under_result_is_accepted() -> None:
    """D14: RequestId found under a `Result` object is accepted."""
    body = orjson.dumps({"UpdateTicketResponse": {"StatusCode": "200", "Result": {"RequestId": RID}}})
    assert parse_reply("UpdateTicket", 200, {}, body, now=lambda: NOW)["RequestId"] == RID


@pytest.mark.parametrize(
    ("error_type", "status", "cls"),
    [
        ("PARAMETER_REQUIRED", 200, errors.Refused),
        ("PARAMETER_TOO_LONG", 200, errors.Refused),
        ("PARAMETER_ERROR", 200, errors.Refused),
        ("NO_TICKET_ID", 200, errors.NoTicket),
        ("NO_ROLES_TO_CLOSE", 200, errors.Refused),
        ("AUTH_FAILURE", 200, errors.AuthFailure),
        ("EXCLUSION_FAILURE", 200, errors.Conflict),
        ("SYSTEM_ERROR", 200, errors.ServerError),
        ("ParameterError", 400, errors.Refused),
        ("Parameter Error", 400, errors.Refused),
        ("UOMWebSystemError", 500, errors.ServerError),
        ("UOM WebSystem Error", 500, errors.ServerError),
    ],
)
def test_every_error_type_maps_to_its_class(error_type: str, status: int, cls: type) -> None:
    """Each ErrorType of §2.1.f and §2.3 becomes its class, with the reply's facts attached."""
    with pytest.raises(cls) as info:
        parse_reply("UpdateTicket", status, {}, _err(error_type, ErrorDetail={"X": "Y"}), now=lambda: NOW)
    assert type(info.value) is cls
    assert info.value.request_id == RID
    assert info.value.error_detail == {"X": "Y"}
    assert info.value.http_status == status
    assert " " not in str(info.value.error_type)


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [(errors.ServerError, True), (errors.RateLimited, True), (errors.OutcomeUnknown, True),
     (errors.Conflict, False), (errors.Refused, False), (errors.AuthFailure, False)],
)
def test_retryable_flags(cls: type[errors.UomError], retryable: bool) -> None:
    """Retryable faults say so; conflicts, refusals and auth failures do not."""
    assert cls.retryable is retryable


def test_rate_limited_reads_retry_after() -> None:
    """HTTP 429 becomes RateLimited with the Retry-After seconds."""
    with pytest.raises(errors.RateLimited) as info:
        parse_reply("UpdateTicket", 429, {"Retry-After": "3"}, b"", now=lambda: NOW)
    assert info.value.retry_after_s == 3.0


def test_retry_after_http_date() -> None:
    """Retry-After given as an HTTP date is the time left until then."""
    assert retry_after_s("Thu, 01 Jan 2026 00:00:10 GMT", NOW) == 10.0
    assert retry_after_s("soon", NOW) is None


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (500, b"", errors.ServerError),
        (502, b"<html>bad gateway</html>", errors.ServerError),
        (401, b"", errors.AuthFailure),
        (404, b"", errors.Refused),
        (200, b"not json", errors.OutcomeUnknown),
        (200, b"", errors.OutcomeUnknown),
    ],
)
def test_bodyless_and_non_json_replies(status: int, body: bytes, cls: type) -> None:
    """Replies without an ErrorResponse are judged by their status; an unreadable 200 is unknown."""
    with pytest.raises(cls):
        parse_reply("UpdateTicket", status, {}, body, now=lambda: NOW)


def test_unreadable_200_for_a_read_is_plain_transport_error() -> None:
    """A garbled reply to GetTicketDetail changed nothing, so it is not an unknown outcome."""
    with pytest.raises(errors.TransportError) as info:
        parse_reply("GetTicketDetail", 200, {}, b"{", now=lambda: NOW)
    assert not isinstance(info.value, errors.OutcomeUnknown)


@pytest.mark.parametrize(
    "body",
    [
        {"ErrorResponse": {"ErrorType": "SYSTEM_ERROR"}},
        {"UpdateTicketResponse": {}},
        {"SomethingElse": {"RequestId": RID}},
    ],
)
def test_malformed_replies_are_protocol_errors(body: dict[str, object]) -> None:
    """Replies missing the manual's required keys are ProtocolError, not success."""
    with pytest.raises(errors.ProtocolError):
        parse_reply("UpdateTicket", 200, {}, orjson.dumps(body), now=lambda: NOW)
