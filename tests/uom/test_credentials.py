"""Credentials: where they come from, and that the secret key never shows."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from batch.commands.settings import load_credentials
from batch.errors import ConfigError
from batch.uom.credentials import Credentials, InsecureTransportWarning, Secret

SECRET = "1234567890ABCDEFGHIJabcdefghijklmnopqr+1"
ENV = {
    "UOM_ENDPOINT": "http://127.0.0.1:9",
    "UOM_ACCESS_KEY": "1234567890ABCDEFGHIJ",
    "UOM_SECRET_KEY": SECRET,
    "UOM_SERVICE_CODE": "uom12345678",
    "UOM_MASTER_ID": "SA1234567",
}


def test_secret_hidden_from_repr_str_and_format() -> None:
    """repr, str and f-strings of the credentials never contain the secret key."""
    creds = load_credentials({}, ENV)
    for text in (repr(creds), str(creds), f"{creds}", repr(creds.secret_key), str(creds.audit())):
        assert SECRET not in text
    assert creds.secret_key.reveal() == SECRET


def test_environment_supplies_credentials() -> None:
    """The five UOM_* variables are enough."""
    creds = load_credentials({}, ENV)
    assert (creds.endpoint, creds.master_id) == ("http://127.0.0.1:9", "SA1234567")


def test_flags_override_environment() -> None:
    """A command-line value wins over the environment."""
    assert load_credentials({"master_id": "SA7654321"}, ENV).master_id == "SA7654321"


def test_missing_credentials_named() -> None:
    """Each missing credential is named in one clear ConfigError."""
    with pytest.raises(ConfigError, match="UOM_SECRET_KEY, UOM_SERVICE_CODE"):
        load_credentials({}, {k: v for k, v in ENV.items() if k in ("UOM_ENDPOINT", "UOM_ACCESS_KEY",
                                                                   "UOM_MASTER_ID")})


def test_config_file_supplies_credentials(tmp_path: Path) -> None:
    """A private TOML file's [uom] table is used when neither flags nor environment say."""
    path = tmp_path / "uom.toml"
    path.write_text(
        '[uom]\nendpoint="https://uom.example"\naccess_key="AK"\nsecret_key="S+1"\n'
        'service_code="uom1"\nmaster_id="SA1"\n', encoding="utf-8",
    )
    path.chmod(0o600)
    creds = load_credentials({}, {}, path)
    assert creds.endpoint == "https://uom.example" and creds.secret_key == Secret("S+1")


def test_bad_config_file_is_config_error(tmp_path: Path) -> None:
    """A config file that is not TOML is a ConfigError naming the file."""
    path = tmp_path / "bad.toml"
    path.write_text("[uom\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_credentials({}, {}, path)


def test_bad_endpoint_is_config_error() -> None:
    """An endpoint that is not an http(s) URL is refused as ConfigError."""
    with pytest.raises(ConfigError, match="not an http"):
        load_credentials({"endpoint": "ftp://x"}, ENV)


def _creds(endpoint: str, verify: bool = True) -> Credentials:
    return Credentials(endpoint, "AK", Secret("S"), "uom1", "SA1", verify_tls=verify)


def test_plain_http_off_loopback_warns() -> None:
    """Plain http to a remote host warns; to loopback it does not."""
    with pytest.warns(InsecureTransportWarning, match="plain http"):
        _creds("http://uom.example").warn_if_insecure()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _creds("http://127.0.0.1:8080").warn_if_insecure()


def test_verification_off_warns() -> None:
    """Turning TLS verification off warns."""
    with pytest.warns(InsecureTransportWarning, match="verification is off"):
        _creds("https://uom.example", verify=False).warn_if_insecure()
