"""Property tests: any text round-trips exactly (D7), and length limits hold at the boundary (D8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.uom import spec
from batch.uom.emulator import Emulator, ManualClock, generate_tickets

from .support import Answer, Api

TICKETS = generate_tickets(5)  # three incidents (UTM1000001–3) and two requests (UTM2000001–2)
INCIDENT, REQUEST = "UTM1000001", "UTM2000001"
TARGET = {spec.TicketKind.INCIDENT: INCIDENT, spec.TicketKind.REQUEST: REQUEST}

# Quotes, backslash, yen sign, line breaks, then anything UTF-8 can carry (emoji, CJK, controls).
TEXT = st.text(
    st.one_of(st.sampled_from(list("'\"\\¥\n\r\t あ漢😀")), st.characters(codec="utf-8")),
    max_size=256,
)


@asynccontextmanager
async def _serving() -> AsyncIterator[tuple[Emulator, Api]]:
    """A fresh emulator per example: hypothesis examples must not share function-scoped fixtures."""
    clock = ManualClock()
    emu = Emulator(TICKETS, clock=clock)
    async with emu.running() as url, aiohttp.ClientSession() as session:
        yield emu, Api(session, url, clock)


@settings(max_examples=50, deadline=None)
@given(text=TEXT)
async def test_any_text_round_trips(text: str) -> None:
    """Text with quotes, `'`, `"`, newlines, emoji and CJK comes back from GetTicketDetail unchanged."""
    async with _serving() as (_, api):
        memo = [
            {"CorrespondProcessSeq": "", "CorrespondProcessOperationClass": "0", "CorrespondProcess": text}
        ]
        changes: dict[str, Any] = {"Title": text, "DetectionMessage": text, "Cause": text, "NodeName": text}
        if text:
            changes["CorrespondProcessList"] = memo
        answer = await api.update(INCIDENT, **changes)
        assert answer.error is None, answer.error
        ticket = await api.detail(INCIDENT)
    assert {name: ticket[name] for name in ("Title", "DetectionMessage", "Cause", "NodeName")} == {
        name: text for name in ("Title", "DetectionMessage", "Cause", "NodeName")
    }
    if text:
        assert ticket["CorrespondProcessList"][-1]["CorrespondProcess"] == text


def _limited(kind: spec.TicketKind) -> list[tuple[spec.TicketKind, spec.Field]]:
    fields = spec.update_fields(kind).values()
    return [(kind, f) for f in fields if f.max_chars and f.fmt == spec.TEXT and f.choices is None]


CHAR_LIMITED = _limited(spec.TicketKind.INCIDENT) + _limited(spec.TicketKind.REQUEST)
BYTE_LIMITED = [
    (kind, f)
    for kind in spec.TicketKind
    for f in spec.update_fields(kind).values()
    if f.max_bytes is not None
]


async def _send(api: Api, kind: spec.TicketKind, name: str, value: str) -> Answer:
    return await api.update(TARGET[kind], **{name: value})


def _assert_limit(answer: Answer, name: str, fits: bool) -> None:
    if fits:
        assert answer.error is None, answer.error
    else:
        assert answer.error is not None
        assert answer.error["ErrorType"] == "PARAMETER_TOO_LONG"
        assert answer.error["ErrorDetail"] == {name: "PARAMETER_TOO_LONG"}


@settings(max_examples=50, deadline=None)
@given(
    target=st.sampled_from(CHAR_LIMITED),
    delta=st.integers(-2, 2),
    char=st.characters(codec="utf-8", exclude_characters="\x00"),
)
async def test_char_limits_at_the_boundary(
    target: tuple[spec.TicketKind, spec.Field], delta: int, char: str
) -> None:
    """A text field takes exactly its limit in code points, whatever their UTF-8 size, and no more."""
    kind, field = target
    assert field.max_chars is not None
    async with _serving() as (_, api):
        answer = await _send(api, kind, field.name, char * (field.max_chars + delta))
    _assert_limit(answer, field.name, delta <= 0)


@settings(max_examples=50, deadline=None)
@given(
    target=st.sampled_from(BYTE_LIMITED),
    prefix=st.text(st.characters(codec="utf-8"), max_size=40),
    delta=st.integers(-3, 3),
)
async def test_byte_limits_at_the_boundary(
    target: tuple[spec.TicketKind, spec.Field], prefix: str, delta: int
) -> None:
    """A `65535Byte` field takes exactly 65535 UTF-8 bytes, whatever mix of characters, and no more."""
    kind, field = target
    assert field.max_bytes is not None
    size = field.max_bytes + delta
    value = prefix + "a" * (size - len(prefix.encode()))
    async with _serving() as (_, api):
        answer = await _send(api, kind, field.name, value)
    _assert_limit(answer, field.name, delta <= 0)


BYTE_CASES = {
    "65535 bytes of あ": ("あ" * 21845, True),
    "65536 bytes: あ + a": ("あ" * 21845 + "a", False),
    "65535 bytes of emoji + aaa": ("😀" * 16383 + "aaa", True),
    "65536 bytes of emoji": ("😀" * 16384, False),
    "65535 ASCII": ("a" * 65535, True),
    "65536 ASCII": ("a" * 65536, False),
}


@pytest.mark.parametrize("case", BYTE_CASES)
async def test_byte_limit_examples(case: str) -> None:
    """The byte limit counts UTF-8 bytes, not characters (D8): 65535 passes, 65536 is refused."""
    value, fits = BYTE_CASES[case]
    async with _serving() as (_, api):
        for name in ("RelatedSystem", "RelatedCI", "DetectionMessage"):
            _assert_limit(await api.update(INCIDENT, **{name: value}), name, fits)
        _assert_limit(await api.update(REQUEST, RequestContents=value), "RequestContents", fits)


@pytest.mark.parametrize(("kind", "field"), CHAR_LIMITED, ids=lambda v: getattr(v, "name", str(v)))
async def test_every_char_limit(kind: spec.TicketKind, field: spec.Field) -> None:
    """Every text field's limit in code points: exactly the limit in CJK passes, one more is refused."""
    assert field.max_chars is not None
    async with _serving() as (_, api):
        _assert_limit(await _send(api, kind, field.name, "漢" * field.max_chars), field.name, True)
        _assert_limit(await _send(api, kind, field.name, "漢" * (field.max_chars + 1)), field.name, False)


@pytest.mark.parametrize(
    ("name", "fits", "too_long"),
    [
        ("AssignUserId", "SA" + "1" * 13, "SA" + "1" * 14),
        ("CorrespondLimitDate", "20220801000000", "202208010000000"),
        ("TicketId", "UTM1000001", "UTM" + "0" * 13),
    ],
)
async def test_formatted_field_limits(name: str, fits: str, too_long: str) -> None:
    """Formatted fields are refused as too long past their limit, before their format is judged."""
    async with _serving() as (_, api):
        _assert_limit(await api.update(INCIDENT, **{name: fits}), name, True)
        _assert_limit(await api.update(INCIDENT, **{name: too_long}), name, False)
