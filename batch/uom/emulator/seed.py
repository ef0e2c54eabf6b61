"""Deterministic seed tickets, and reading/writing them (`samples/seed_tickets.json`).

The layout repeats in blocks so that sample job files can rely on it; for `generate_tickets(200)`:

    UTM1000001–060  incidents 復旧済み (targets of a mass close)
    UTM1000061–090  incidents 対応中; child UTM1000061+k has master UTM1000091 + k//6
    UTM1000091–100  incidents 未対応 (the first five are those masters)
    UTM1000101–110  incidents クローズ承認待ち, approver SA1234567
    UTM1000111–120  incidents クローズ
    UTM2000001–080  requests cycling 新規 / 対応中 / 差し戻し / クローズ承認待ち (approver SA1234567)

`generate_tickets(n)` makes 3/5 incidents and 2/5 requests, repeating the 120- and 80-ticket blocks
(ids continue: the second block's incidents are UTM1000121–240). Regenerate the sample with
`uom-batch emulator --write-seed samples/seed_tickets.json`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from . import seed_text as text

SEED: Final = 20221221
# `samples/` sits next to `batch/` both in a checkout and in site-packages (it ships as package data).
DEFAULT_SEED: Final = Path(__file__).resolve().parents[3] / "samples" / "seed_tickets.json"
INCIDENT_BLOCK: Final = 120
REQUEST_BLOCK: Final = 80
FIRST_INCIDENT: Final = 1_000_001
FIRST_REQUEST: Final = 2_000_001
MAX_TICKETS: Final = 1_500_000  # beyond this, incident numbers would reach the request range
START: Final = datetime(2024, 4, 1, 9, 0, 0)  # JST, like the emulator's stamps
STAMP: Final = "%Y%m%d%H%M%S"
APPROVER: Final = "SA1234567"
ASSIGNEES: Final = ("SA1234567", "SA2345678")
REQUEST_STATES: Final = ("新規", "対応中", "差し戻し", "クローズ承認待ち")

Raw = dict[str, Any]


def incident_state(position: int) -> str:
    """The state of the incident at `position` (0–119) within its block."""
    bounds = ((60, "復旧済み"), (90, "対応中"), (100, "未対応"), (110, "クローズ承認待ち"))
    return next((state for bound, state in bounds if position < bound), "クローズ")


def generate_tickets(n: int = 200, seed: int = SEED) -> list[Raw]:
    """`n` tickets in the block layout above; the same `n` and `seed` give the same tickets."""
    if not 0 <= n <= MAX_TICKETS:
        raise ValueError(f"n must be between 0 and {MAX_TICKETS}, not {n}")
    rng = random.Random(seed)
    n_incidents = n * 3 // 5
    clock = _Cursor(START)
    incidents = [_incident(i, n_incidents, rng, clock) for i in range(n_incidents)]
    requests = [_request(j, rng, clock) for j in range(n - n_incidents)]
    return incidents + requests


class _Cursor:
    """Creation times two hours apart, so every ticket's stamps fall in its own window."""

    def __init__(self, start: datetime) -> None:
        self._next = start

    def take(self) -> datetime:
        moment, self._next = self._next, self._next + timedelta(hours=2)
        return moment


def _fmt(moment: datetime) -> str:
    return moment.strftime(STAMP)


def _incident(i: int, n_incidents: int, rng: random.Random, cursor: _Cursor) -> Raw:
    position = i % INCIDENT_BLOCK
    state = incident_state(position)
    created = cursor.take()
    (system, prefix), symptom = rng.choice(text.SYSTEMS), rng.choice(text.SYMPTOMS)
    node = f"{prefix}-prd-{rng.randint(1, 12):02d}"
    event_id = str(10000 + i)
    recovered = state in ("復旧済み", "クローズ承認待ち", "クローズ")
    ticket: Raw = {
        "TicketId": f"UTM{FIRST_INCIDENT + i}",
        "TicketProcessType": "1",
        "MasterTicketId": _master_of(i, n_incidents),
        "Title": f"{system}{symptom.title}（{node}）",
        "StateCode": state,
        "SubStateCode": rng.choice(text.SUB_STATES[state]),
        "Priority": rng.choice(text.LEVELS),
        "SupportedGroup": _group(rng, state),
        "AssignUser": rng.choice(ASSIGNEES),
        "CorrespondLimitDate": _limit(created),
        "FinishApprovalUserId": APPROVER if state in ("クローズ承認待ち", "クローズ") else "",
        "Importance": rng.choice(text.LEVELS),
        "ManagementGroupId": "制限しない",
        "Category": symptom.category,
        "RelatedSystem": f"{system}（本番環境）",
        "RelatedCI": f"システム名称:{node}",
        "Impact": rng.choice(("有", "無")),
        "Influence": rng.choice(text.INFLUENCES),
        "CauseClassification": symptom.cause_class,
        "Cause": symptom.cause if recovered else "",
        "ObstacleDetectionTime": _fmt(created - timedelta(minutes=3)),
        "FaultRecoveryDate": _fmt(created + timedelta(minutes=47)) if recovered else "",
        "NodeName": node,
        "EventId": event_id,
        "DetectionMessage": f"アラートを検知しました。\n監視ID:{event_id}\n{symptom.message}",
        "CorrespondStartDate": _fmt(created + timedelta(minutes=8)) if state != "未対応" else "",
        "CorrespondFinishDate": _fmt(created + timedelta(minutes=52)) if recovered else "",
    }
    return _finish(ticket, created, rng, request=False)


def _master_of(i: int, n_incidents: int) -> str:
    """Children at block positions 60–89 hang under the five incidents from position 90."""
    position = i % INCIDENT_BLOCK
    if not 60 <= position < 90:
        return ""
    master = i - position + 90 + (position - 60) // 6
    return f"UTM{FIRST_INCIDENT + master}" if master < n_incidents else ""


def _group(rng: random.Random, state: str) -> str:
    if state == "クローズ" and rng.random() < 0.5:
        return ""  # a closed ticket may have no group
    return rng.choice(text.GROUPS)


def _limit(created: datetime) -> str:
    return _fmt((created + timedelta(days=3)).replace(hour=18, minute=0, second=0))


def _request(j: int, rng: random.Random, cursor: _Cursor) -> Raw:
    state = REQUEST_STATES[(j % REQUEST_BLOCK) % len(REQUEST_STATES)]
    created = cursor.take()
    topic, customer = rng.choice(text.TOPICS), rng.choice(text.CUSTOMERS)
    answered = state != "新規"
    ticket: Raw = {
        "TicketId": f"UTM{FIRST_REQUEST + j}",
        "TicketProcessType": "2",
        "MasterTicketId": "",
        "Title": topic.title,
        "StateCode": state,
        "Priority": rng.choice(text.LEVELS),
        "SupportedGroup": rng.choice(text.GROUPS),
        "AssignUser": rng.choice(ASSIGNEES),
        "CorrespondLimitDate": _limit(created),
        "FinishApprovalUserId": APPROVER if state == "クローズ承認待ち" else "",
        "Urgency": rng.choice(text.LEVELS),
        "ManagementGroupId": "制限しない",
        "RequestType": topic.request_type,
        "RequestSubType": topic.sub_type,
        "Category": topic.category,
        "RepresentativeCustomerId": f"SA{rng.randint(1_000_000, 9_999_999)}",
        "RepresentativeCustomerName": customer,
        "CustomerDepartment": rng.choice(text.DEPARTMENTS),
        "CustomerContactInfo": f"03-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "RequestDate": _fmt(created - timedelta(minutes=5)),
        "AcceptWay": rng.choice(text.WAYS),
        "RequestContents": topic.contents,
        "RespondWay": rng.choice(text.WAYS) if answered else "",
        "RespondContents": topic.answer if answered else "",
        "CorrespondStartDate": _fmt(created + timedelta(minutes=15)) if answered else "",
    }
    return _finish(ticket, created, rng, request=True)


def _finish(ticket: Raw, created: datetime, rng: random.Random, *, request: bool) -> Raw:
    """Add 0–3 memos and the stamps; drop optional fields left empty (stamps stay, even "")."""
    memos = _memos(rng)
    later = sorted(rng.sample(range(5 * 60, 100 * 60), 4))  # seconds after creation, distinct
    stamps = {
        "StateInsertDate": _fmt(created),
        "StateUpdateDate": _fmt(created + timedelta(seconds=later[0])),
        "SummaryInsertDate": _fmt(created + timedelta(seconds=1)),
        "SummaryUpdateDate": _fmt(created + timedelta(seconds=later[1])),
        "CorrespondInsertDate": _fmt(created + timedelta(seconds=1)) if memos else "",
        "CorrespondUpdateDate": _fmt(created + timedelta(seconds=later[2])) if len(memos) > 1 else "",
    }
    if request:
        stamps["DetailInsertDate"] = _fmt(created + timedelta(seconds=1))
        stamps["DetailUpdateDate"] = _fmt(created + timedelta(seconds=later[3]))
    lean = {k: v for k, v in ticket.items() if v != "" or k == "MasterTicketId"}
    return {**lean, **stamps, "CorrespondProcessList": memos}


def _memos(rng: random.Random) -> list[dict[str, str]]:
    count = rng.randint(0, 3)
    texts = rng.sample(text.MEMOS, count)
    seqs, seq = [], 0
    for _ in range(count):
        seq += 2 if seq and rng.random() < 0.25 else 1  # now and then a memo was deleted
        seqs.append(str(seq))
    return [{"CorrespondProcessSeq": s, "CorrespondProcess": t} for s, t in zip(seqs, texts, strict=True)]


def load_seed(path: str | Path | None = None) -> list[Raw]:
    """Tickets from a seed file (a JSON list); by default the packaged samples/seed_tickets.json."""
    tickets = orjson.loads(Path(path or DEFAULT_SEED).read_bytes())
    if not isinstance(tickets, list) or not all(isinstance(t, dict) for t in tickets):
        raise ValueError(f"{path or DEFAULT_SEED}: expected a JSON list of ticket objects")
    return tickets


def write_seed(path: str | Path, tickets: Sequence[Raw]) -> None:
    """Pretty UTF-8 JSON (Japanese kept as is), with a final newline."""
    Path(path).write_bytes(orjson.dumps(list(tickets), option=orjson.OPT_INDENT_2) + b"\n")
