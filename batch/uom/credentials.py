"""How to reach UOM and who we are there: endpoint, keys, service code, master ID, TLS choice.

The secret key is held in `Secret`, whose repr and str never show it, so it cannot leak through a
log line, an exception or a settings dump by accident.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

DEFAULT_TIMEOUT_S: Final = 30.0
DEFAULT_EXPIRE_S: Final = 3600.0
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class InsecureTransportWarning(UserWarning):
    """Plain http to a host other than loopback, or TLS verification turned off."""


class Secret:
    """A string that hides itself from repr, str and formatting."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: only the signer should call this."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Credentials:
    """Everything the client needs to sign and address a request."""

    endpoint: str
    access_key: str
    secret_key: Secret = field(repr=False)
    service_code: str
    master_id: str
    sign_method: str = "HmacSHA256"
    expire_s: float = DEFAULT_EXPIRE_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    verify_tls: bool = True
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint {self.endpoint!r} is not an http(s) URL")

    @property
    def is_loopback(self) -> bool:
        """Whether the endpoint is on this machine (where plain http is acceptable)."""
        return (urlsplit(self.endpoint).hostname or "") in LOOPBACK_HOSTS

    def audit(self) -> dict[str, str]:
        """The facts worth recording about these credentials; never the secret."""
        return {
            "endpoint": self.endpoint,
            "access_key": self.access_key,
            "service_code": self.service_code,
            "master_id": self.master_id,
            "sign_method": self.sign_method,
            "verify_tls": str(self.verify_tls),
        }

    def warn_if_insecure(self) -> None:
        """Warn about plain http off loopback and about TLS verification turned off."""
        scheme = urlsplit(self.endpoint).scheme
        if scheme == "http" and not self.is_loopback:
            warnings.warn(
                f"plain http to {self.endpoint}: the request bodies travel unencrypted",
                InsecureTransportWarning,
                stacklevel=3,
            )
        if scheme == "https" and not self.verify_tls:
            warnings.warn(
                "TLS certificate verification is off: the server's identity is not checked",
                InsecureTransportWarning,
                stacklevel=3,
            )


class KeyPair(Protocol):
    """Anything that holds a set of UOM keys (e.g. the emulator's frozen demo credentials)."""

    @property
    def access_key(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def service_code(self) -> str: ...
    @property
    def master_id(self) -> str: ...


def credentials_for(endpoint: str, keys: KeyPair, **options: Any) -> Credentials:
    """Client credentials for `keys` at `endpoint` (how the demo, tests and benchmarks reach the emulator)."""
    return Credentials(
        endpoint=endpoint,
        access_key=keys.access_key,
        secret_key=Secret(keys.secret_key),
        service_code=keys.service_code,
        master_id=keys.master_id,
        **options,
    )
