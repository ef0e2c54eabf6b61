"""Where the credentials come from: command-line flags, then the environment, then a TOML file.

The TOML file (`--config PATH`, or `$UOM_BATCH_CONFIG`) has one table:

    [uom]
    endpoint = "https://uom.api.iij.jp"
    access_key = "..."
    secret_key = "..."      # keep this file private: chmod 600
    service_code = "uom12345678"
    master_id = "SA1234567"
"""

from __future__ import annotations

import os
import stat
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from batch.errors import ConfigError
from batch.uom.credentials import Credentials, Secret

ENV_NAMES: Final = {
    "endpoint": "UOM_ENDPOINT",
    "access_key": "UOM_ACCESS_KEY",
    "secret_key": "UOM_SECRET_KEY",
    "service_code": "UOM_SERVICE_CODE",
    "master_id": "UOM_MASTER_ID",
}
CONFIG_ENV: Final = "UOM_BATCH_CONFIG"


def read_config(path: Path) -> dict[str, Any]:
    """The `[uom]` table of a TOML config file; ConfigError names the file on any problem."""
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    table = document.get("uom", {})
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [uom] must be a table")
    if "secret_key" in table and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"{path} holds the secret key and others may read it: chmod 600 it", UserWarning, stacklevel=2
        )
    return table


def load_credentials(
    overrides: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Credentials:
    """Credentials from flags (`overrides`), then the environment, then the config file."""
    env = os.environ if env is None else env
    if config_path is None and env.get(CONFIG_ENV):
        config_path = Path(env[CONFIG_ENV])
    config = read_config(config_path) if config_path else {}
    values = {key: _pick(key, overrides, env, config) for key in ENV_NAMES}
    missing = [ENV_NAMES[k] for k, v in values.items() if not v]
    if missing:
        raise ConfigError(
            "missing credentials: set "
            + ", ".join(missing)
            + " (or put them in the [uom] table of a --config file)"
        )
    extras = {k: v for k, v in overrides.items() if k not in ENV_NAMES and v is not None}
    try:
        return Credentials(
            endpoint=str(values["endpoint"]),
            access_key=str(values["access_key"]),
            secret_key=Secret(str(values["secret_key"])),
            service_code=str(values["service_code"]),
            master_id=str(values["master_id"]),
            **extras,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def _pick(key: str, overrides: Mapping[str, Any], env: Mapping[str, str], config: Mapping[str, Any]) -> Any:
    for source in (overrides.get(key), env.get(ENV_NAMES[key]), config.get(key)):
        if source:
            return source
    return None
