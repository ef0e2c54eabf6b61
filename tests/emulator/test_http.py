"""HTTP surface: routes and versions, methods, bodies and Content-Type, envelopes, the log, TLS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import ssl
from typing import Any

import aiohttp
import pytest
import trustme

from batch.uom.emulator import DEMO_CREDENTIALS, Emulator, ManualClock
from batch.uom.signing import expire_after

from .support import Api, release_body

DETAIL = {"TicketId": "UTM1000001", "ServiceCode": "uom12345678", "MasterID": "SA1234567"}
REQUEST_ID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{8}){4}")


@pytest.mark.parametrize(
    "path",
    [
        "/r/20161003/UpdateTicket.json",  # right action, wrong version
        "/r/20221221/ReleaseIncidentRelate.json",
        "/r/20161003/GetTicketDetail.json",
        "/r/20221221/RegisterTicket.json",  # not served
        "/r/20221221/UpdateTicket.xml",
        "/r/20221221/updateticket.json",
        "/",
    ],
)
async def test_unknown_path_is_bare_404(api: Api, emu: Emulator, path: str) -> None:
    """An unknown action or the wrong version for an action: HTTP 404, no body, logged."""
    answer = await api.call("UpdateTicket", DETAIL, path=path)
    assert (answer.status, answer.body) == (404, None)
    assert emu.log[-1].http_status == 404


async def test_get_is_refused(api: Api) -> None:
    """Only POST is served: another method gets 405 with no body."""
    answer = await api.call("GetTicketDetail", DETAIL, method="GET")
    assert (answer.status, answer.body) == (405, None)


BAD_BODIES = {
    "not JSON": b"TicketId=UTM1000001",
    "array": b"[]",
    "string": b'"UTM1000001"',
    "empty": b"",
    "invalid UTF-8": b'{"Title": "\xff"}',
    "lone surrogate": b'{"Title": "\\ud800"}',
    "trailing comma (the manual's printed sample)": b'{"TicketId": "UTM1000001",}',
}


@pytest.mark.parametrize("kind", BAD_BODIES)
async def test_bad_body_is_a_parameter_error(api: Api, kind: str) -> None:
    """A body that is not a UTF-8 JSON object is the action's parameter error."""
    answer = await api.call("UpdateTicket", None, raw=BAD_BODIES[kind])
    assert answer.status == 200 and answer.error is not None
    assert {k: v for k, v in answer.error.items() if k != "RequestId"} == {
        "ErrorType": "PARAMETER_ERROR",
        "ErrorMessage": "入力パラメータが正しく指定されていません。",
    }
    answer = await api.call("ReleaseIncidentRelate", None, raw=BAD_BODIES[kind])
    assert answer.status == 400 and answer.error is not None
    assert answer.error["ErrorType"] == "ParameterError"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; charset=utf-8",
        "application/json; charset=iso-8859-1",
        "application/json; charset=shift_jis",
        "application/json; charset=utf-8; charset=utf-8",
        "application/json; version=2",
        "application/json; charset",
        "application/jsonx",
        None,
    ],
)
async def test_other_content_types_refused(api: Api, content_type: str | None) -> None:
    """Other media types, other charsets and stray parameters are refused, even when correctly signed."""
    headers = api.headers("GetTicketDetail", content_type=content_type)
    answer = await api.call("GetTicketDetail", DETAIL, headers=headers)
    assert (
        answer.error is not None
        and answer.error["ErrorMessage"] == "入力パラメータが正しく指定されていません。"
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json ;  Charset = utf-8",
    ],
)
async def test_content_type_spelling_variants_accepted(api: Api, content_type: str) -> None:
    """JSON with no charset or charset UTF-8, in any case and spacing, is read when it was signed."""
    headers = api.headers("GetTicketDetail", content_type=content_type)
    assert (await api.call("GetTicketDetail", DETAIL, headers=headers)).error is None


async def test_request_as_iij_go_client_sends_it(api: Api, emu: Emulator) -> None:
    """The headers IIJ's Go client (doapi) sets, canonicalised as Go sends them, are accepted."""
    path = "/r/20221221/GetTicketDetail.json"
    x_headers = {
        "X-Iijapi-Expire": expire_after(api.clock.now()),
        "X-Iijapi-Signaturemethod": "HmacSHA256",
        "X-Iijapi-Signatureversion": "2",
    }
    # doapi's string to sign: method, an empty Content-MD5 line, the Content-Type value, the
    # x-iijapi- headers lower-cased and sorted as name:value, the path.
    lines = ["POST", "", "application/json"]
    lines += [f"{k.lower()}:{v}" for k, v in sorted(x_headers.items(), key=lambda kv: kv[0].lower())]
    lines.append(path)
    mac = hmac.new(DEMO_CREDENTIALS.secret_key.encode(), "\n".join(lines).encode(), hashlib.sha256)
    auth = f"IIJAPI {DEMO_CREDENTIALS.access_key}:{base64.b64encode(mac.digest()).decode()}"
    headers = {
        "User-Agent": "Go-http-client/1.1",
        "Content-Type": "application/json",
        **x_headers,
        "Authorization": auth,
        "Accept-Encoding": "gzip",
    }
    body = json.dumps(DETAIL, separators=(",", ":")).encode()  # Go's json.Marshal: compact
    async with api.session.post(
        api.url + path, data=body, headers=headers, skip_auto_headers=("Accept", "User-Agent")
    ) as response:
        assert response.status == 200
        reply = await response.json()
    assert reply["GetTicketDetailResponse"]["TicketId"] == DETAIL["TicketId"]


async def test_envelopes_and_request_ids(api: Api) -> None:
    """Replies are one-key envelopes in UTF-8 JSON with unique 5×8-character RequestIds."""
    ids = set()
    for _ in range(10):
        answer = await api.call("GetTicketDetail", DETAIL)
        assert list(answer.body or {}) == ["GetTicketDetailResponse"]
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
        ids.add(answer.result("GetTicketDetail")["RequestId"])
    refused = await api.call("GetTicketDetail", {**DETAIL, "TicketId": "UTM9"})
    assert list(refused.body or {}) == ["ErrorResponse"] and refused.error is not None
    ids.add(refused.error["RequestId"])
    assert len(ids) == 11 and all(REQUEST_ID.fullmatch(i) for i in ids)


async def test_log_records_every_request(api: Api, emu: Emulator, clock: ManualClock) -> None:
    """Each request, answered or refused, is one LogEntry with its time, action, status and ids."""
    ok = await api.call("GetTicketDetail", DETAIL)
    clock.advance(1.5)
    await api.call("ReleaseIncidentRelate", release_body("UTM1000091", ["UTM1000061", "UTM1000062"]))
    await api.call("UpdateTicket", {"TicketId": "UTM1000001"}, headers={})
    first, second, third = emu.log
    assert (first.at, first.action, first.http_status, first.error_type) == (
        1000.0,
        "GetTicketDetail",
        200,
        None,
    )
    assert first.request_id == ok.result("GetTicketDetail")["RequestId"]
    assert (second.at, second.ticket_ids) == (1001.5, ("UTM1000091", "UTM1000061", "UTM1000062"))
    assert (third.action, third.error_type, third.ticket_ids) == ("UpdateTicket", "AUTH_FAILURE", ())


async def test_tls(clock: ManualClock) -> None:
    """With an ssl_context the emulator serves https, verified against a throwaway CA."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    emu = Emulator(clock=clock)
    async with emu.running(ssl_context=server_context) as url:
        assert url.startswith("https://127.0.0.1:")
        connector = aiohttp.TCPConnector(ssl=client_context)
        async with aiohttp.ClientSession(connector=connector) as session:
            detail: dict[str, Any] = await Api(session, url, clock).detail("UTM1000001")
    assert detail["TicketId"] == "UTM1000001"


async def test_start_twice_refused(emu: Emulator) -> None:
    """A running emulator cannot be started again; stop() then frees it."""
    await emu.start()
    try:
        with pytest.raises(RuntimeError):
            await emu.start()
    finally:
        await emu.stop()
    assert emu.url is None
