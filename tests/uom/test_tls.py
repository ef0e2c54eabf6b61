"""TLS for real: verification on with a custom CA, refused without it, and off only with a warning."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from batch.uom.client import UomClient
from batch.uom.credentials import InsecureTransportWarning
from batch.uom.emulator import Emulator, ManualClock
from batch.uom.errors import ClientSetupError

from .conftest import credentials_for


@pytest.fixture
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture
async def tls_url(ca: trustme.CA, clock: ManualClock) -> AsyncIterator[str]:
    """The emulator serving https on 127.0.0.1 with a certificate from `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    async with Emulator(clock=clock).running(ssl_context=context) as url:
        yield url


async def test_verified_with_custom_ca_file(tls_url: str, ca: trustme.CA, tmp_path: Path,
                                            clock: ManualClock) -> None:
    """With the CA given as --ca-file, the certificate verifies and calls work."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with UomClient(credentials_for(tls_url, ca_file=ca_file), now=clock.now) as client:
        assert (await client.get_ticket_detail("UTM1000001")).ticket_id == "UTM1000001"


async def test_unknown_ca_is_refused_as_config_error(tls_url: str, clock: ManualClock) -> None:
    """Verification is on by default: an unknown CA is a clear setup error, not a retry."""
    async with UomClient(credentials_for(tls_url), now=clock.now) as client:
        with pytest.raises(ClientSetupError, match="could not be verified"):
            await client.get_ticket_detail("UTM1000001")


async def test_verification_off_warns_and_works(tls_url: str, clock: ManualClock) -> None:
    """Turning verification off works, with a warning."""
    with pytest.warns(InsecureTransportWarning):
        client = UomClient(credentials_for(tls_url, verify_tls=False), now=clock.now)
    async with client:
        assert (await client.get_ticket_detail("UTM1000001")).ticket_id == "UTM1000001"


def test_unreadable_ca_file_is_config_error(tmp_path: Path) -> None:
    """A CA file that cannot be loaded is a setup error naming it."""
    from batch.uom.client import _ssl_setting

    bad = tmp_path / "nope.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ClientSetupError, match=r"nope\.pem"):
        _ssl_setting(credentials_for("https://127.0.0.1:1", ca_file=bad))
