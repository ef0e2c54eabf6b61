"""The checks that need the emulator's state, run after a body has the right shape.

Order: account (ServiceCode, then the master) → ticket (exists; same kind as TicketProcessType) →
business rules (UpdateTicket: approver D3, support group, close authority, memo seqs) →
concurrency (every sent stamp equals the stored one). First failure wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from batch.uom import spec
from batch.uom.spec import ErrorType, MemoOp, Msg

from .replies import Refusal
from .rules import Body, first
from .state import TicketStore


def account(body: Body, service_code: str, masters: Mapping[str, bool], master_key: str) -> Refusal | None:
    """ServiceCode is this contract's and the master is known."""
    if body["ServiceCode"] != service_code:
        return Refusal(ErrorType.PARAMETER_ERROR, Msg.BAD_ACCOUNT, "ServiceCode")
    if body[master_key] not in masters:
        return Refusal(ErrorType.PARAMETER_ERROR, Msg.BAD_ACCOUNT, master_key)
    return None


def ticket(body: Body, store: TicketStore) -> Refusal | None:
    """The ticket exists and, for an update, is of the kind the body says."""
    stored = store.tickets.get(body["TicketId"])
    if stored is None:
        return Refusal(ErrorType.NO_TICKET_ID, Msg.NO_TICKET, "TicketId")
    kind = body.get("TicketProcessType", stored["TicketProcessType"])
    if kind != stored["TicketProcessType"]:
        return Refusal(ErrorType.PARAMETER_ERROR, Msg.INVALID, "TicketProcessType")
    return None


def update(body: Body, store: TicketStore, masters: Mapping[str, bool]) -> Refusal | None:
    """UpdateTicket's business rules, then its concurrency check."""
    stored = store.tickets[body["TicketId"]]
    state = body.get("StateCode") or stored["StateCode"]  # D3: the state the update leaves
    return first(
        (
            partial(_approver, body, state),
            partial(_group, body, state),
            partial(_close_authority, body, stored, masters),
            partial(_memo_seqs, body, store),
            partial(_stamps, body, stored),
        )
    )


def _approver(body: Body, state: str) -> Refusal | None:
    given = bool(body.get("FinishApprovalUserId"))
    if state in spec.CLOSING_STATES and not given:
        return Refusal(ErrorType.PARAMETER_ERROR, Msg.APPROVER_REQUIRED, "FinishApprovalUserId")
    if state not in spec.CLOSING_STATES and given:
        return Refusal(ErrorType.PARAMETER_ERROR, Msg.APPROVER_NOT_ALLOWED, "FinishApprovalUserId")
    return None


def _group(body: Body, state: str) -> Refusal | None:
    if state != spec.CLOSED and not body.get("SupportedGroup"):
        return Refusal(ErrorType.PARAMETER_ERROR, Msg.GROUP_REQUIRED, "SupportedGroup")
    return None


def _close_authority(body: Body, stored: Mapping[str, Any], masters: Mapping[str, bool]) -> Refusal | None:
    closing = body.get("StateCode") == spec.CLOSED and stored["StateCode"] != spec.CLOSED
    if closing and not masters[body["MasterID"]]:
        return Refusal(ErrorType.NO_ROLES_TO_CLOSE, Msg.NO_ROLES, "StateCode")
    return None


def _memo_seqs(body: Body, store: TicketStore) -> Refusal | None:
    existing = store.memo_seqs(body["TicketId"])
    for op in body.get(spec.MEMO_LIST) or []:
        if MemoOp(op[spec.MEMO_CLASS]) is not MemoOp.ADD and op[spec.MEMO_SEQ] not in existing:
            return Refusal(ErrorType.PARAMETER_ERROR, Msg.INVALID, spec.MEMO_SEQ)
    return None


def _stamps(body: Body, stored: Mapping[str, Any]) -> Refusal | None:
    for name in spec.timestamp_fields(spec.TicketKind(stored["TicketProcessType"])):
        if body[name] != stored[name]:  # someone saved the ticket since the caller read it
            return Refusal(ErrorType.EXCLUSION_FAILURE, Msg.EXCLUSION)
    return None


def release(body: Body, store: TicketStore) -> bool:
    """RIR (D6): the master exists and every child exists and is related to that master."""
    master = body["MasterIncidentId"]
    if master not in store.tickets:
        return False
    children = (store.tickets.get(child) for child in body["IncidentId"])
    return all(c is not None and c["MasterTicketId"] == master for c in children)
