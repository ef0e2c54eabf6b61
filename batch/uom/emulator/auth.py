"""The signature check (IIJ API signature v2, uom-api.md §1.4; D5, D16).

The HMAC is recomputed over what was *received*: the HTTP method, the Content-MD5 and Content-Type
values, every `x-iijapi-*` header (names compared case-insensitively) and the path. The caller
turns a failure into the action's own auth error (D5); the reason is for the log only.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from batch.uom.signing import (
    HASHES,
    MAX_EXPIRE_S,
    SIGNATURE_VERSION,
    parse_authorization,
    parse_expire,
    signature,
    string_to_sign,
)


def _lowered(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _expire_problem(value: str | None, now: datetime) -> str | None:
    if value is None:
        return "no Expire"
    try:
        expire = parse_expire(value)
    except ValueError:
        return "malformed Expire"
    if expire <= now:
        return "expired"
    if expire >= now + timedelta(seconds=MAX_EXPIRE_S):  # the manual: less than 24 h ahead
        return "Expire 24 h or more ahead"
    return None


def check(
    method: str,
    headers: Iterable[tuple[str, str]],
    path: str,
    keys: Mapping[str, str],
    now: datetime,
) -> str | None:
    """None when the request is signed correctly, else why not (one short phrase)."""
    received = list(headers)
    lowered = _lowered(received)
    try:
        access_key, sent = parse_authorization(lowered.get("authorization", ""))
    except ValueError:
        return "missing or malformed Authorization"
    secret = keys.get(access_key)
    if secret is None:
        return "unknown access key"
    if lowered.get("x-iijapi-signatureversion") != SIGNATURE_VERSION:
        return "unsupported SignatureVersion"
    method_name = lowered.get("x-iijapi-signaturemethod", "")
    if method_name not in HASHES:
        return "unsupported SignatureMethod"
    problem = _expire_problem(lowered.get("x-iijapi-expire"), now)
    if problem:
        return problem
    expected = signature(secret, method_name, string_to_sign(method, dict(received), path))
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        return "signature mismatch"
    return None
