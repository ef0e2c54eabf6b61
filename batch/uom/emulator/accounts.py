"""Who the emulator knows: access keys, the service code, and masters with or without close authority.

The demo keys are the manual's own sample keys (UpdateTicket/ReleaseIncidentRelate config.rb), so
printing them is harmless. Keys are not bound to a master: the manual does not say how UOM ties an
access key to the `MasterID` in the body, so any known key may act for any known master.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Credentials:
    """One access key pair plus the service code and master a caller uses with it."""

    access_key: str
    secret_key: str
    service_code: str
    master_id: str


SERVICE_CODE: Final = "uom12345678"

DEMO_CREDENTIALS: Final = Credentials(
    access_key="1234567890ABCDEFGHIJ",
    secret_key="1234567890ABCDEFGHIJabcdefghijklmnopqr+1",
    service_code=SERVICE_CODE,
    master_id="SA1234567",
)

# A second pair, for tests: acts as a master without close authority.
SECOND_CREDENTIALS: Final = Credentials(
    access_key="ABCDEFGHIJ1234567890",
    secret_key="abcdefghijklmnopqrABCDEFGHIJ1234567890/2",
    service_code=SERVICE_CODE,
    master_id="SA7654321",
)

# master ID → may set StateCode to クローズ (the manual's 承認権限, approval authority)
MASTERS: Final[dict[str, bool]] = {"SA1234567": True, "SA2345678": True, "SA7654321": False}

DEFAULT_KEYS: Final[dict[str, str]] = {
    c.access_key: c.secret_key for c in (DEMO_CREDENTIALS, SECOND_CREDENTIALS)
}

# The operator that `other_operator_edit` pretends to be.
OTHER_OPERATOR: Final = "SA2345678"
