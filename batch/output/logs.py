"""structlog set-up: readable lines on a terminal, JSON lines with --log-json; always on stderr.

Event names are `batch.<noun>_<verb>` with stable keys (`row`, `ticket_id`, `attempt`,
`request_id`, `error_type`). Nothing logged carries a header or the secret key: the client's
errors are built from the reply bodies only.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any, TextIO

import orjson
import structlog


class _StderrLogger:
    """Writes to whatever sys.stderr is now (rich's live display swaps it to print above the bar)."""

    def msg(self, message: str) -> None:
        stream: TextIO = sys.stderr  # line-buffered: each event leaves at once
        stream.write(message + "\n")

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def _json_renderer(_: Any, __: str, event: dict[str, Any]) -> str:
    return orjson.dumps(event, default=str).decode("utf-8")


def configure_logging(*, json_lines: bool, level: str | None = None) -> None:
    """Configure structlog once per process; JSON shows every row event, the console info and up."""
    chosen = level or ("debug" if json_lines else "info")
    renderer: Any = (
        _json_renderer if json_lines else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[chosen.upper()]),
        logger_factory=lambda *_: _StderrLogger(),
        cache_logger_on_first_use=False,
    )


def log_event_loop() -> None:
    """Say at debug which event loop runs the engine (uvloop's, or asyncio's own)."""
    loop = type(asyncio.get_running_loop())
    structlog.get_logger("batch").debug("batch.event_loop", loop=f"{loop.__module__}.{loop.__qualname__}")
