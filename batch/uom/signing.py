"""IIJ API signature version 2, as UOM uses it for REST requests (uom-api.md §1.4, D16).

StringToSign = METHOD, the header block (Content-MD5 value, Content-Type value, then every
`x-iijapi-*` header as `lower-name:value`, sorted by name), then the URI-encoded path; joined by LF,
no trailing LF. Signature = Base64(HMAC(secret, StringToSign)).

`string_to_sign` and `signed_headers` are the reference (the emulator checks with them); the client
signs through `Signer` and `Expiry`, which compute once what every request shares and give exactly
the same headers (tests/uom/test_signer.py checks that on random keys, paths and times).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

SIGNATURE_VERSION: Final = "2"
HASHES: Final = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}
EXPIRE_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_EXPIRE_S: Final = 3600
MAX_EXPIRE_S: Final = 24 * 3600  # the manual: less than 24 h after the request is issued

H_EXPIRE: Final = "x-iijapi-Expire"
H_METHOD: Final = "x-iijapi-SignatureMethod"
H_VERSION: Final = "x-iijapi-SignatureVersion"
AUTH_SCHEME: Final = "IIJAPI"


def format_expire(moment: datetime) -> str:
    """Expire as `YYYY-MM-DDThh:mm:ssZ` in UTC (not isoformat(): no `+00:00`, no microseconds)."""
    return moment.astimezone(UTC).strftime(EXPIRE_FORMAT)


def parse_expire(text: str) -> datetime:
    """Parse an Expire header value; ValueError when it is not exactly the documented shape."""
    if len(text) != 20:
        raise ValueError(f"Expire {text!r} is not YYYY-MM-DDThh:mm:ssZ")
    return datetime.strptime(text, EXPIRE_FORMAT).replace(tzinfo=UTC)


def expire_after(now: datetime, seconds: float = DEFAULT_EXPIRE_S) -> str:
    """The Expire value `seconds` after `now`; refuses 24 h or more, which UOM rejects."""
    _check_lifetime(seconds)
    return format_expire(now + timedelta(seconds=seconds))


def _check_lifetime(seconds: float) -> None:
    if not 0 < seconds < MAX_EXPIRE_S:
        raise ValueError(f"signature lifetime must be between 0 and 24 h, not {seconds} s")


class Expiry:
    """`expire_after` for one lifetime, formatted once per second of expiry (requests share the text)."""

    __slots__ = ("_lifetime", "_second", "_text")

    def __init__(self, seconds: float = DEFAULT_EXPIRE_S) -> None:
        _check_lifetime(seconds)
        self._lifetime = timedelta(seconds=seconds)
        self._second: int | None = None
        self._text = ""

    def after(self, now: datetime) -> str:
        """The Expire value for a request signed at `now` (exactly `expire_after(now, seconds)`)."""
        moment = now + self._lifetime
        second = math.floor(moment.timestamp())  # the whole seconds the text shows
        if second != self._second:
            self._second, self._text = second, format_expire(moment)
        return self._text


def uri_encode_path(path: str) -> str:
    """Percent-encode every byte outside `A-Z a-z 0-9 - _ . ~` and `/`, uppercase hex."""
    return quote(path, safe="/-_.~")


def string_to_sign(method: str, headers: Mapping[str, str], path: str) -> str:
    """The exact text the signature covers, built from the headers as they are sent."""
    lowered = {name.lower(): value for name, value in headers.items()}
    iijapi = sorted((n, v) for n, v in lowered.items() if n.startswith("x-iijapi-"))
    lines = [
        method.upper(),
        lowered.get("content-md5", ""),
        lowered.get("content-type", ""),
        *(f"{name}:{value}" for name, value in iijapi),
        uri_encode_path(path),
    ]
    return "\n".join(lines)


def signature(secret_key: str, method_name: str, text: str) -> str:
    """Base64 HMAC of `text` under the secret key, with the named hash."""
    mac = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), _hash(method_name))
    return base64.b64encode(mac.digest()).decode("ascii")


def signed_headers(
    *,
    access_key: str,
    secret_key: str,
    path: str,
    content_type: str,
    expire: str,
    method_name: str = "HmacSHA256",
    http_method: str = "POST",
) -> dict[str, str]:
    """Every header a signed request carries, `Authorization` included."""
    headers = {
        "Content-Type": content_type,
        H_EXPIRE: expire,
        H_METHOD: method_name,
        H_VERSION: SIGNATURE_VERSION,
    }
    sig = signature(secret_key, method_name, string_to_sign(http_method, headers, path))
    headers["Authorization"] = f"{AUTH_SCHEME} {access_key}:{sig}"
    return headers


class Signer:
    """`signed_headers` for one key pair, method and Content-Type, with what is fixed computed once.

    The text to sign differs between requests only in the Expire and the path, so it is built by
    one format string instead of lowering, sorting and joining the headers every time.
    """

    def __init__(
        self,
        *,
        access_key: str,
        secret_key: str,
        content_type: str,
        method_name: str = "HmacSHA256",
        http_method: str = "POST",
    ) -> None:
        # Keyed once: a copy of the keyed HMAC per request, instead of hmac.digest, which looks the
        # hash up in OpenSSL's provider tables and keys it afresh on every call.
        self._keyed = hmac.new(secret_key.encode("utf-8"), digestmod=_hash(method_name))
        self._access_key = access_key
        self._auth = f"{AUTH_SCHEME} {access_key}:"
        self._content_type = content_type
        self._method = method_name
        # The layout of `string_to_sign`: x-iijapi-expire sorts before -signaturemethod and -version.
        self._prefix = f"{http_method.upper()}\n\n{content_type}\nx-iijapi-expire:"
        version = f"x-iijapi-signatureversion:{SIGNATURE_VERSION}"
        self._suffix = f"\nx-iijapi-signaturemethod:{method_name}\n{version}\n"
        self._paths: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Signer(access_key={self._access_key!r}, method_name={self._method!r})"  # never the key

    def headers(self, path: str, expire: str) -> dict[str, str]:
        """Every header a signed request for `path` carries, `Authorization` included."""
        encoded = self._paths.get(path)
        if encoded is None:
            encoded = self._paths[path] = uri_encode_path(path)
        text = f"{self._prefix}{expire}{self._suffix}{encoded}"
        signing = self._keyed.copy()
        signing.update(text.encode("utf-8"))
        mac = signing.digest()
        return {
            "Content-Type": self._content_type,
            H_EXPIRE: expire,
            H_METHOD: self._method,
            H_VERSION: SIGNATURE_VERSION,
            "Authorization": self._auth + base64.b64encode(mac).decode("ascii"),
        }


def _hash(method_name: str) -> Callable[..., Any]:
    try:
        return HASHES[method_name]
    except KeyError:
        raise ValueError(f"unsupported SignatureMethod {method_name!r}") from None


def parse_authorization(value: str) -> tuple[str, str]:
    """Split `IIJAPI <AccessKeyId>:<Signature>`; ValueError when it has another shape."""
    scheme, _, credentials = value.partition(" ")
    key, sep, sig = credentials.partition(":")
    if scheme != AUTH_SCHEME or not sep or not key or not sig:
        raise ValueError("Authorization is not 'IIJAPI <AccessKeyId>:<Signature>'")
    return key, sig
