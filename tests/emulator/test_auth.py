"""Signature checks (§1.4, D5, D16): each failure kind, for both error styles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from batch.uom.emulator import DEMO_CREDENTIALS, SECOND_CREDENTIALS, Credentials, Emulator
from batch.uom.signing import format_expire
from batch.uom.spec import action_path

from .support import Answer, Api, release_body, sign

Tamper = Callable[[Api, str], dict[str, str]]


def _signed(**options: Any) -> Tamper:
    return lambda api, action: api.headers(action, **options)


def _without(name: str) -> Tamper:
    def tamper(api: Api, action: str) -> dict[str, str]:
        headers = api.headers(action)
        del headers[name]
        return headers

    return tamper


def _authorization(value: str) -> Tamper:
    def tamper(api: Api, action: str) -> dict[str, str]:
        return {**api.headers(action), "Authorization": value}

    return tamper


def _expire_in(seconds: float) -> Tamper:
    return lambda api, action: api.headers(
        action, expire=format_expire(api.clock.now() + timedelta(seconds=seconds))
    )


def _signed_for_other_path(api: Api, action: str) -> dict[str, str]:
    other = "ReleaseIncidentRelate" if action != "ReleaseIncidentRelate" else "UpdateTicket"
    return sign(action_path(other), expire=format_expire(api.clock.now() + timedelta(hours=1)))


def _content_type_changed_after_signing(api: Api, action: str) -> dict[str, str]:
    return {**api.headers(action), "Content-Type": "application/json; charset=UTF-8"}


_UNKNOWN = Credentials("ZZZZZZZZZZZZZZZZZZZZ", DEMO_CREDENTIALS.secret_key, "uom12345678", "x")
_WRONG_SECRET = Credentials(DEMO_CREDENTIALS.access_key, SECOND_CREDENTIALS.secret_key, "", "")

FAILURES: dict[str, Tamper] = {
    "no Authorization": _without("Authorization"),
    "not IIJAPI scheme": _authorization("Bearer abc"),
    "no colon": _authorization(f"IIJAPI {DEMO_CREDENTIALS.access_key}"),
    "empty key": _authorization("IIJAPI :c2ln"),
    "unknown key": _signed(creds=_UNKNOWN),
    "SignatureVersion 1": _signed(version="1"),
    "no SignatureVersion": _without("x-iijapi-SignatureVersion"),
    "unsupported method": _signed(method_name="HmacMD5"),
    "no SignatureMethod": _without("x-iijapi-SignatureMethod"),
    "no Expire": _without("x-iijapi-Expire"),
    "isoformat Expire": _signed(expire="2025-07-01T01:00:00+00:00"),
    "garbage Expire": _signed(expire="tomorrow"),
    "Expire now": _expire_in(0),
    "Expire past": _expire_in(-60),
    "Expire +24h": _expire_in(24 * 3600),
    "Expire beyond 24h": _expire_in(24 * 3600 + 60),
    "wrong secret": _signed(creds=_WRONG_SECRET),
    "other path signed": _signed_for_other_path,
    "content type changed": _content_type_changed_after_signing,
}

ACCEPTED: dict[str, Tamper] = {
    "HmacSHA256": _signed(),
    "HmacSHA1": _signed(method_name="HmacSHA1"),
    "Expire +1s": _expire_in(1),
    "Expire +24h-1s": _expire_in(24 * 3600 - 1),
    "lower-case header names": lambda api, a: {k.lower(): v for k, v in api.headers(a).items()},
    "second key pair": _signed(creds=SECOND_CREDENTIALS),
}


def _body(action: str) -> dict[str, Any]:
    if action == "ReleaseIncidentRelate":
        return release_body("UTM1000091", ["UTM1000061"])
    return {"TicketId": "UTM1000001", "ServiceCode": "uom12345678", "MasterID": "SA1234567"}


async def _send(api: Api, action: str, tamper: Tamper) -> Answer:
    return await api.call(action, _body(action), headers=tamper(api, action))


@pytest.mark.parametrize("kind", FAILURES)
async def test_ticket_action_auth_failure(api: Api, emu: Emulator, kind: str) -> None:
    """A ticket action answers every auth failure with HTTP 200 AUTH_FAILURE 認証エラーです。 (D5)."""
    answer = await _send(api, "GetTicketDetail", FAILURES[kind])
    assert answer.status == 200
    assert answer.error is not None
    assert {k: answer.error[k] for k in ("ErrorType", "ErrorMessage")} == {
        "ErrorType": "AUTH_FAILURE",
        "ErrorMessage": "認証エラーです。",
    }
    assert "ErrorDetail" not in answer.error
    assert emu.log[-1].error_type == "AUTH_FAILURE"


@pytest.mark.parametrize("kind", FAILURES)
async def test_release_auth_failure(api: Api, emu: Emulator, kind: str) -> None:
    """ReleaseIncidentRelate answers every auth failure with HTTP 400 ParameterError; nothing changes."""
    answer = await _send(api, "ReleaseIncidentRelate", FAILURES[kind])
    assert answer.status == 400
    assert answer.error is not None
    assert answer.error["ErrorType"] == "ParameterError"
    assert answer.error["ErrorMessage"] == "There are invalid parameters."
    assert emu.tickets["UTM1000061"]["MasterTicketId"] == "UTM1000091"


async def test_update_ticket_auth_failure(api: Api, emu: Emulator) -> None:
    """UpdateTicket with a bad signature is AUTH_FAILURE and changes nothing."""
    before = dict(emu.tickets["UTM1000001"])
    body = {"TicketId": "UTM1000001", "Title": "x"}
    answer = await api.call("UpdateTicket", body, headers=FAILURES["wrong secret"](api, "UpdateTicket"))
    assert answer.status == 200
    assert answer.error is not None and answer.error["ErrorType"] == "AUTH_FAILURE"
    assert emu.tickets["UTM1000001"] == before


@pytest.mark.parametrize("kind", ACCEPTED)
@pytest.mark.parametrize("action", ["GetTicketDetail", "ReleaseIncidentRelate"])
async def test_valid_signature_accepted(api: Api, action: str, kind: str) -> None:
    """Correct signatures pass: both hash methods, Expire just inside its window, any header case."""
    answer = await _send(api, action, ACCEPTED[kind])
    assert answer.status == 200
    assert answer.error is None


async def test_auth_checked_against_injected_clock(api: Api) -> None:
    """Expire is judged by the emulator's clock: a signature valid now fails once it has passed."""
    headers = api.headers("GetTicketDetail", expire=format_expire(api.clock.now() + timedelta(seconds=5)))
    assert (await api.call("GetTicketDetail", _body("GetTicketDetail"), headers=headers)).error is None
    api.clock.advance(5)
    answer = await api.call("GetTicketDetail", _body("GetTicketDetail"), headers=headers)
    assert answer.error is not None and answer.error["ErrorType"] == "AUTH_FAILURE"
