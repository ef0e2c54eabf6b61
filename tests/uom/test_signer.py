"""The client's fast signing path (Signer, Expiry) gives exactly what the reference functions give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch.uom import signing
from batch.uom.spec import CONTENT_TYPE

SECRET = "1234567890ABCDEFGHIJabcdefghijklmnopqr+1"
KEYS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
PATHS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).map(lambda p: "/" + p)
EXPIRES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    signing.format_expire
)
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]
    ),
)
LIFETIMES = st.floats(min_value=0.001, max_value=signing.MAX_EXPIRE_S - 0.001)


@given(
    access_key=KEYS,
    secret_key=KEYS,
    content_type=st.sampled_from([CONTENT_TYPE, "application/json", ""]),
    method=st.sampled_from(sorted(signing.HASHES)),
    path=PATHS,
    expire=EXPIRES,
)
def test_signer_matches_signed_headers(
    access_key: str, secret_key: str, content_type: str, method: str, path: str, expire: str
) -> None:
    """For any keys, path and Expire, Signer.headers equals signed_headers, header for header."""
    signer = signing.Signer(
        access_key=access_key, secret_key=secret_key, content_type=content_type, method_name=method
    )
    expected = signing.signed_headers(
        access_key=access_key,
        secret_key=secret_key,
        path=path,
        content_type=content_type,
        expire=expire,
        method_name=method,
    )
    assert signer.headers(path, expire) == expected
    assert signer.headers(path, expire) == expected  # the second time, from the cached path


def test_signer_signs_the_documented_vector() -> None:
    """The manual's first vector (UpdateTicket, HmacSHA256) through the fast path."""
    signer = signing.Signer(access_key="AK", secret_key=SECRET, content_type=CONTENT_TYPE)
    headers = signer.headers("/r/20221221/UpdateTicket.json", "2022-10-05T15:00:00Z")
    assert headers["Authorization"] == "IIJAPI AK:ffCvE5srS+cHQd2OqYW3nu321q+akPay/LBf9KuDQh8="


def test_signer_refuses_an_unknown_method_and_hides_the_secret() -> None:
    """An unknown SignatureMethod is a ValueError at once; the repr never shows the secret key."""
    with pytest.raises(ValueError, match="unsupported SignatureMethod 'HmacMD5'"):
        signing.Signer(access_key="AK", secret_key=SECRET, content_type=CONTENT_TYPE, method_name="HmacMD5")
    signer = signing.Signer(access_key="AK", secret_key=SECRET, content_type=CONTENT_TYPE)
    assert SECRET not in repr(signer) and "AK" in repr(signer)


@given(start=MOMENTS, lifetime=LIFETIMES, steps=st.lists(st.floats(0, 3), max_size=8))
def test_expiry_matches_expire_after(start: datetime, lifetime: float, steps: list[float]) -> None:
    """Requests signed one after another get exactly expire_after's text, cache or no cache."""
    expiry = signing.Expiry(lifetime)
    moment = start
    for step in [0.0, *steps]:
        moment += timedelta(seconds=step)
        assert expiry.after(moment) == signing.expire_after(moment, lifetime)


@pytest.mark.parametrize("seconds", [0, -1, signing.MAX_EXPIRE_S, 1e9])
def test_expiry_refuses_lifetimes_uom_rejects(seconds: float) -> None:
    """A lifetime of zero or less, or of 24 h or more, is refused as expire_after refuses it."""
    with pytest.raises(ValueError, match="between 0 and 24 h"):
        signing.Expiry(seconds)
