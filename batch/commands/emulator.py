"""`uom-batch emulator`: serve the in-memory UOM emulator until Ctrl-C.

Prints the URL and the demo credentials as `export UOM_...=...` lines (the manual's public sample
keys, which are the emulator's own). Refuses a non-loopback host unless `--allow-remote`.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch.exit_codes import ExitCode

if TYPE_CHECKING:
    import ssl

    from batch.uom.emulator import Emulator, Faults

# The emulator (aiohttp.web) is imported by the functions that use it: `uom-batch --help` and
# the other commands never load it.



def register(subparsers: Any) -> None:
    """Add the `emulator` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "emulator",
        help="serve a local UOM API emulator (for demos and tests)",
        description="Serve the in-memory UOM emulator on a loopback address until Ctrl-C.",
    )
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's options, on any parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--seed-file", type=Path, help="tickets JSON (default: the sample seed)")
    source.add_argument("--tickets", type=int, metavar="N", help="generate N seed tickets instead")
    parser.add_argument("--write-seed", type=Path, metavar="PATH", help="write the seed and exit")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate chain: serve https")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    faults = parser.add_argument_group("faults (all off by default)")
    faults.add_argument("--latency-ms", type=float, default=0.0, help="delay before each reply")
    faults.add_argument("--jitter-ms", type=float, default=0.0, help="extra random delay, 0..J")
    faults.add_argument("--rate-limit", type=float, metavar="RPS", help="HTTP 429 above RPS")
    faults.add_argument("--retry-after", type=int, default=1, metavar="S", help="429 Retry-After")
    faults.add_argument(
        "--system-error-rate", type=_rate, default=0.0, metavar="P", help="SYSTEM_ERROR / HTTP 500 body"
    )
    faults.add_argument("--http500-rate", type=_rate, default=0.0, metavar="P", help="bare HTTP 500")
    faults.add_argument(
        "--drop-rate",
        type=_rate,
        default=0.0,
        metavar="P",
        help="connections closed unanswered: half before the change, half after it",
    )
    faults.add_argument(
        "--other-operator-rate", type=_rate, default=0.0, metavar="P", help="EXCLUSION_FAILURE for real"
    )
    faults.add_argument("--fault-seed", type=int, default=0, metavar="N", help="seed of the fault RNG")
    parser.set_defaults(func=run)


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


def faults_from(args: argparse.Namespace) -> Faults:
    """The Faults the flags ask for."""
    from batch.uom.emulator import Faults

    return Faults(
        latency_s=args.latency_ms / 1000,
        jitter_s=args.jitter_ms / 1000,
        rate_limit_rps=args.rate_limit,
        retry_after_s=args.retry_after,
        system_error_rate=args.system_error_rate,
        http500_rate=args.http500_rate,
        drop_before_rate=args.drop_rate / 2,
        drop_after_rate=args.drop_rate / 2,
        other_operator_rate=args.other_operator_rate,
        seed=args.fault_seed,
    )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _problem(args: argparse.Namespace) -> str | None:
    if not is_loopback(args.host) and not args.allow_remote:
        return (
            f"--host {args.host} is not a loopback address; the emulator accepts the public "
            "demo keys, so pass --allow-remote to expose it anyway"
        )
    if (args.tls_cert is None) != (args.tls_key is None):
        return "--tls-cert and --tls-key go together"
    return None


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.tls_cert is None:
        return None
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


def banner(url: str, tickets: int, tls: bool) -> list[str]:
    """What the command prints once it listens: a comment, then shell `export` lines."""
    from batch.uom.emulator import DEMO_CREDENTIALS

    values = {
        "UOM_ENDPOINT": url,
        "UOM_ACCESS_KEY": DEMO_CREDENTIALS.access_key,
        "UOM_SECRET_KEY": DEMO_CREDENTIALS.secret_key,
        "UOM_SERVICE_CODE": DEMO_CREDENTIALS.service_code,
        "UOM_MASTER_ID": DEMO_CREDENTIALS.master_id,
    }
    note = "; clients must trust --tls-cert" if tls else ""
    head = f"# UOM emulator on {url} with {tickets} tickets{note}. Ctrl-C stops it."
    return [head, *(f"export {name}={shlex.quote(value)}" for name, value in values.items())]


async def serve(emu: Emulator, args: argparse.Namespace) -> None:
    """Start, print the banner, and serve until cancelled (Ctrl-C)."""
    import asyncio

    context = _ssl_context(args)
    url = await emu.start(args.host, args.port, context)
    try:
        print("\n".join(banner(url, len(emu.tickets), context is not None)), flush=True)
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def run(args: argparse.Namespace) -> int:
    """The command: 0 after Ctrl-C, 2 on a usage problem."""
    import asyncio

    from batch.uom.emulator import Emulator, generate_tickets
    from batch.uom.emulator.seed import write_seed

    if args.write_seed is not None:
        write_seed(args.write_seed, generate_tickets(200 if args.tickets is None else args.tickets))
        return 0
    problem = _problem(args)
    if problem:
        print(f"uom-batch emulator: error: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        tickets = _tickets(args)
        asyncio.run(serve(Emulator(tickets, faults_from(args)), args))
    except KeyboardInterrupt:
        print("uom-batch emulator: stopped", file=sys.stderr)
        return 0
    except (OSError, ValueError) as exc:  # a port in use, an unreadable seed or certificate
        print(f"uom-batch emulator: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    return 0


def _tickets(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    from batch.uom.emulator import generate_tickets, load_seed

    if args.tickets is not None:
        return generate_tickets(args.tickets)
    return None if args.seed_file is None else load_seed(args.seed_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command on its own (`python -m batch.commands.emulator`), without the other commands."""
    parser = argparse.ArgumentParser(prog="uom-batch emulator", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
