"""`uom-batch budget set|show`: the per-access-key rate budget that shards share through Redis.

Only a hash of the access key id goes to Redis (batch.engine.shared_budget.key_prefix); the
secret key is never read for this command's sake beyond loading the usual credentials.
"""

from __future__ import annotations

import argparse
import math
import os
from datetime import UTC, datetime
from typing import Any

from batch.commands.arguments import add_connection_arguments
from batch.errors import ConfigError
from batch.exit_codes import ExitCode

REDIS_ENV = "UOM_BATCH_REDIS"


def register(subparsers: Any) -> None:
    """Add the `budget` subcommand with its `set` and `show` actions."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "budget",
        help="set or show the shared per-key rate budget in Redis",
        description="The request rate that every shard of every run with this access key shares, "
        "kept in Redis (`run --rate-budget`). The effective rate is RATE * (1 - MARGIN).",
    )
    actions = parser.add_subparsers(dest="budget_action", metavar="ACTION", required=True)
    setter = actions.add_parser("set", help="write the budget (a new one starts with a warm-up)")
    setter.add_argument("--rate", type=_positive_float, required=True, metavar="R",
                        help="the API's ceiling for this key, requests per second")
    setter.add_argument("--margin", type=_margin, default=0.01, metavar="M",
                        help="share of the rate kept back for clock and network jitter (default 0.01)")
    setter.add_argument("--warmup-s", type=_non_negative_float, default=5.0, metavar="S",
                        help="no grant for this long after a budget is first set (default 5)")
    shower = actions.add_parser("show", help="print the budget, the live leases and the schedule")
    for action in (setter, shower):
        action.add_argument("--redis", metavar="URL", default=os.environ.get(REDIS_ENV),
                            help=f"redis://HOST:PORT/DB (default ${REDIS_ENV})")
        add_connection_arguments(action)
        action.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Set or show the budget of the credentials' access key."""
    import anyio  # here, not at the top: `--help` loads no event loop library

    from batch.commands.run import credentials_from

    if not args.redis:
        raise ConfigError(f"no Redis given: --redis redis://HOST:PORT/DB or ${REDIS_ENV}")
    access_key = credentials_from(args).access_key
    if args.budget_action == "set":
        anyio.run(_set, args.redis, access_key, args)
        print(f"budget set: {args.rate:g}/s, margin {args.margin:g} (effective "
              f"{args.rate * (1 - args.margin):g}/s), warm-up {args.warmup_s:g} s for a new budget")
    else:
        print(anyio.run(_show, args.redis, access_key))
    return ExitCode.OK


async def _set(url: str, access_key: str, args: argparse.Namespace) -> None:
    from batch.engine.shared_budget import OUTAGE_ERRORS, connect, redacted, set_budget

    client = connect(url)
    try:
        await set_budget(client, access_key, rate=args.rate, margin=args.margin, warmup_s=args.warmup_s)
    except OUTAGE_ERRORS as exc:
        raise ConfigError(f"cannot reach Redis at {redacted(url)}: {type(exc).__name__}") from None
    finally:
        await client.aclose()


async def _show(url: str, access_key: str) -> str:
    from batch.engine.shared_budget import OUTAGE_ERRORS, budget_state, connect, key_prefix, redacted

    client = connect(url)
    try:
        state = await budget_state(client, access_key)
    except OUTAGE_ERRORS as exc:
        raise ConfigError(f"cannot reach Redis at {redacted(url)}: {type(exc).__name__}") from None
    finally:
        await client.aclose()
    return describe(key_prefix(access_key), state)


def describe(prefix: str, state: dict[str, Any]) -> str:
    """The human-readable `budget show` text for one key's state."""
    record = state["record"]
    if not record:
        return f"{prefix}: budget not set for this key: uom-batch budget set --rate R"
    rate, margin = float(record["rate"]), float(record["margin"])
    warm_left = max(0, int(record["warm_until_us"]) - state["redis_time_us"]) / 1e6
    lines = [
        f"key {prefix}",
        f"rate {rate:g}/s, margin {margin:g}, effective {rate * (1 - margin):g}/s",
        f"set at {_iso(int(record['set_at_us']))}, warm-up {float(record['warmup_s']):g} s"
        + (f" ({warm_left:.3f} s left)" if warm_left else ""),
        f"next slot in {state['tat_ahead_s']:.3f} s",
        f"leases: {len(state['leases'])}",
    ]
    lines += [f"  {shard}: {ttl:.1f} s left" for shard, ttl in sorted(state["leases"].items())]
    return "\n".join(lines)


def _iso(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, UTC).isoformat(timespec="seconds")


def _positive_float(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _margin(text: str) -> float:
    value = _finite(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be within [0, 1), got {text}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value
