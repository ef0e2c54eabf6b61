"""What the UOM API (or the wire to it) can say went wrong, shaped by what the engine does next.

The tree has its own root (not batch.errors.BatchError) so that the wire layer imports nothing
of the rest of batch/; the CLI reports both kinds as a message.

UomError                  RequestId, ErrorType, ErrorMessage, ErrorDetail, HTTP status
├── Retryable             try again after a backoff
│   ├── RateLimited       HTTP 429; `retry_after_s` from Retry-After; spends no attempt
│   ├── ServerError       SYSTEM_ERROR, UOMWebSystemError, HTTP 5xx
│   └── TransportError    timeouts, resets, refused connections, unreadable replies
│       └── OutcomeUnknown  the request was sent and the reply was lost: it may have landed
├── Conflict              EXCLUSION_FAILURE: refetch, merge again, send again
├── Refused               PARAMETER_*, NO_TICKET_ID, NO_ROLES_TO_CLOSE, ParameterError
│   └── NoTicket          NO_TICKET_ID
├── AuthFailure           AUTH_FAILURE: the credentials are wrong; repeated, it stops the run
└── ProtocolError         a reply that breaks the manual's shape (missing keys): not retried

ClientSetupError          the client cannot work as configured (a CA file that does not load,
                          a server certificate that does not verify): no row is at fault
"""

from __future__ import annotations

from typing import Any, Final

from batch.uom.spec import LEGACY_SPELLINGS, ErrorType


class UomError(Exception):
    """An error reply or a failed exchange; carries everything the API said about it."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        action: str,
        error_type: str | None = None,
        error_message: str | None = None,
        error_detail: Any = None,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.action = action
        self.error_type = error_type
        self.error_message = error_message
        self.error_detail = error_detail
        self.request_id = request_id
        self.http_status = http_status


class Retryable(UomError):
    """Worth another attempt after a pause."""

    retryable = True


class RateLimited(Retryable):
    """HTTP 429: the server asks us to slow down, for `retry_after_s` when it says."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s


class ServerError(Retryable):
    """The server failed (SYSTEM_ERROR, UOMWebSystemError, 5xx); nothing was changed."""


class TransportError(Retryable):
    """No usable reply: the connection failed before the request went out, or the reply was bad."""


class OutcomeUnknown(TransportError):
    """The request went out and no reply came back: the change may or may not have landed."""


class Conflict(UomError):
    """EXCLUSION_FAILURE: another user updated the ticket since we read it."""


class Refused(UomError):
    """The API refused the request for a reason that another attempt will not change."""


class NoTicket(Refused):
    """NO_TICKET_ID: the ticket does not exist or the caller may not see it."""


class AuthFailure(UomError):
    """AUTH_FAILURE (or the older actions' auth refusal): the credentials do not work."""


class ProtocolError(UomError):
    """The reply does not have the shape the manual (and D1–D16) give it."""


class ClientSetupError(Exception):
    """The connection settings cannot work (TLS): stops the command, like a bad setting."""


ERROR_CLASSES: Final[dict[str, type[UomError]]] = {
    ErrorType.PARAMETER_REQUIRED: Refused,
    ErrorType.PARAMETER_TOO_LONG: Refused,
    ErrorType.PARAMETER_ERROR: Refused,
    ErrorType.NO_TICKET_ID: NoTicket,
    ErrorType.NO_ROLES_TO_CLOSE: Refused,
    ErrorType.AUTH_FAILURE: AuthFailure,
    ErrorType.EXCLUSION_FAILURE: Conflict,
    ErrorType.SYSTEM_ERROR: ServerError,
    ErrorType.LEGACY_PARAMETER_ERROR: Refused,
    ErrorType.LEGACY_WEB_SYSTEM_ERROR: ServerError,
}


def normalise_error_type(error_type: str) -> str:
    """The canonical spelling of an ErrorType (D9: the older actions' tables add spaces)."""
    return str(LEGACY_SPELLINGS.get(error_type, error_type))


def class_for(error_type: str, http_status: int) -> type[UomError]:
    """The exception class for an ErrorResponse; an unknown ErrorType is judged by the status."""
    known = ERROR_CLASSES.get(normalise_error_type(error_type))
    if known is not None:
        return known
    if http_status >= 500:
        return ServerError
    return Refused
