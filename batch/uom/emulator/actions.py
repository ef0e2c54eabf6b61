"""The three actions the emulator serves, each from an accepted-shape body to a Reply.

Per action: shape (`rules`) → account → ticket → business rules → concurrency (`business`) → apply.
Ticket actions (20221221) refuse with HTTP 200 + ErrorResponse (D14); ReleaseIncidentRelate
(20161003) with HTTP 400 `ParameterError` and no ErrorDetail (D9).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from batch.uom import spec

from . import business, rules
from .replies import Reply, legacy_parameter_error, success, ticket_refusal
from .rules import Body, first
from .state import TicketStore


@dataclass(frozen=True, slots=True)
class World:
    """What the actions read and change."""

    store: TicketStore
    service_code: str
    masters: Mapping[str, bool]


Handler = Callable[[World, Body], Reply]


@dataclass(frozen=True, slots=True)
class Action:
    """One served action: its version, error style and handler."""

    name: str
    legacy: bool  # the 20161003 style: HTTP 400/500, ParameterError / UOMWebSystemError
    handle: Handler

    @property
    def path(self) -> str:
        """`/r/{version}/{Action}.json`."""
        return spec.action_path(self.name)


def get_ticket_detail(world: World, body: Body) -> Reply:
    """GetTicketDetail (D1): the stored ticket, flat, under GetTicketDetailResponse."""
    refusal = first(
        (
            partial(rules.get_ticket_detail, body),
            partial(business.account, body, world.service_code, world.masters, "MasterID"),
            partial(business.ticket, body, world.store),
        )
    )
    if refusal:
        return ticket_refusal(refusal)
    return success("GetTicketDetail", world.store.tickets[body["TicketId"]])


def update_ticket(world: World, body: Body) -> Reply:
    """UpdateTicket: every check of the manual's error table, then apply."""
    refusal = first(
        (
            partial(rules.update_ticket, body),
            partial(business.account, body, world.service_code, world.masters, "MasterID"),
            partial(business.ticket, body, world.store),
            partial(business.update, body, world.store, world.masters),
        )
    )
    if refusal:
        return ticket_refusal(refusal)
    world.store.apply_update(body)
    return success("UpdateTicket")


def release_incident_relate(world: World, body: Body) -> Reply:
    """ReleaseIncidentRelate (D6): all children detached, or none and HTTP 400."""
    refusal = first(
        (
            partial(rules.release_incident_relate, body),
            partial(business.account, body, world.service_code, world.masters, "MasterId"),
        )
    )
    if refusal or not business.release(body, world.store):
        return legacy_parameter_error()
    world.store.release(body["IncidentId"])
    return success("ReleaseIncidentRelate")


ACTIONS: Final[dict[str, Action]] = {
    a.path: a
    for a in (
        Action("GetTicketDetail", legacy=False, handle=get_ticket_detail),
        Action("UpdateTicket", legacy=False, handle=update_ticket),
        Action("ReleaseIncidentRelate", legacy=True, handle=release_incident_relate),
    )
}
ACTION_NAMES: Final = frozenset(a.name for a in ACTIONS.values())


def ticket_ids(body: Any) -> tuple[str, ...]:
    """The ticket ids a request names (for the log): TicketId, or the master then the children."""
    if not isinstance(body, dict):
        return ()
    ids = [body.get("TicketId"), body.get("MasterIncidentId")]
    children = body.get("IncidentId")
    if isinstance(children, list):
        ids.extend(children)
    return tuple(i for i in ids if isinstance(i, str))
