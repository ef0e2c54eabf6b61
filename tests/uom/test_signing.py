"""IIJ API signature v2: the four test vectors of uom-api.md §1.4 and the Expire rules (D16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from batch.uom import signing

SECRET = "1234567890ABCDEFGHIJabcdefghijklmnopqr+1"
EXPIRE = "2022-10-05T15:00:00Z"
JSON = "application/json; charset=utf-8"


def _headers(content_type: str, method: str = "HmacSHA256") -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "x-iijapi-Expire": EXPIRE,
        "x-iijapi-SignatureMethod": method,
        "x-iijapi-SignatureVersion": "2",
    }


@pytest.mark.parametrize(
    ("content_type", "method", "path", "expected"),
    [
        (JSON, "HmacSHA256", "/r/20221221/UpdateTicket.json",
         "ffCvE5srS+cHQd2OqYW3nu321q+akPay/LBf9KuDQh8="),
        (JSON, "HmacSHA256", "/r/20161003/ReleaseIncidentRelate.json",
         "Vsn7iNdVbdZH+Aib3ofUF/zKpeetEzze2zxCZCLm5h8="),
        ("", "HmacSHA256", "/r/20161003/ReleaseIncidentRelate.json",
         "5replJIHsFcKQP0nhWRmcYGmYts4l2+WALFFLx+43UU="),
        (JSON, "HmacSHA1", "/r/20221221/UpdateTicket.json", "Nsy42yIYHwzjZpHK2j3GMCJHo18="),
    ],
    ids=["V1", "V2", "V3", "V4"],
)
def test_vectors(content_type: str, method: str, path: str, expected: str) -> None:
    """Each documented vector signs to exactly the documented signature."""
    text = signing.string_to_sign("POST", _headers(content_type, method), path)
    assert signing.signature(SECRET, method, text) == expected


def test_string_to_sign_layout() -> None:
    """The text to sign is method, MD5 slot, Content-Type, sorted x-iijapi lines, path; no final LF."""
    text = signing.string_to_sign("POST", _headers(JSON), "/r/20221221/UpdateTicket.json")
    assert text == (
        "POST\n\napplication/json; charset=utf-8\n"
        "x-iijapi-expire:2022-10-05T15:00:00Z\nx-iijapi-signaturemethod:HmacSHA256\n"
        "x-iijapi-signatureversion:2\n/r/20221221/UpdateTicket.json"
    )


def test_header_names_are_case_insensitive() -> None:
    """Headers as a server receives them (any case) give the same text to sign."""
    upper = {k.upper(): v for k, v in _headers(JSON).items()}
    path = "/r/20221221/UpdateTicket.json"
    assert signing.string_to_sign("post", upper, path) == signing.string_to_sign(
        "POST", _headers(JSON), path
    )


def test_signed_headers_authorization_shape() -> None:
    """Authorization is `IIJAPI <key>:<V1 signature>` for V1's inputs."""
    headers = signing.signed_headers(
        access_key="1234567890ABCDEFGHIJ", secret_key=SECRET,
        path="/r/20221221/UpdateTicket.json", content_type=JSON, expire=EXPIRE,
    )
    assert headers["Authorization"] == (
        "IIJAPI 1234567890ABCDEFGHIJ:ffCvE5srS+cHQd2OqYW3nu321q+akPay/LBf9KuDQh8="
    )
    assert signing.parse_authorization(headers["Authorization"])[0] == "1234567890ABCDEFGHIJ"


def test_expire_format_is_utc_z_without_microseconds() -> None:
    """Expire is `YYYY-MM-DDThh:mm:ssZ` in UTC, one hour ahead by default."""
    now = datetime(2022, 10, 6, 0, 0, 0, 123456, tzinfo=UTC) + timedelta(hours=0)
    assert signing.expire_after(now) == "2022-10-06T01:00:00Z"


@pytest.mark.parametrize("seconds", [0, -5, 24 * 3600, 24 * 3600 + 1])
def test_expire_refuses_out_of_range_lifetimes(seconds: float) -> None:
    """A lifetime of zero, negative, or 24 h and more is refused before sending."""
    with pytest.raises(ValueError, match="24 h"):
        signing.expire_after(datetime.now(UTC), seconds)


@pytest.mark.parametrize("text", ["2022-10-05T15:00:00", "2022-10-05 15:00:00Z",
                                  "2022-10-05T15:00:00+00:00", "2022-13-05T15:00:00Z"])
def test_parse_expire_refuses_other_shapes(text: str) -> None:
    """Only the documented Expire shape parses."""
    with pytest.raises(ValueError):
        signing.parse_expire(text)


def test_unknown_signature_method_is_refused() -> None:
    """A SignatureMethod other than HmacSHA256/HmacSHA1 is an error, not a silent default."""
    with pytest.raises(ValueError, match="HmacMD5"):
        signing.signature(SECRET, "HmacMD5", "x")


@pytest.mark.parametrize("value", ["IIJAPI key", "Bearer key:sig", "IIJAPI :sig", "IIJAPI key:"])
def test_parse_authorization_refuses_other_shapes(value: str) -> None:
    """Authorization values that are not `IIJAPI key:sig` are refused."""
    with pytest.raises(ValueError):
        signing.parse_authorization(value)
