"""The knobs of one run, with their defaults; light to import (the CLI declares its flags from it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from batch.engine.backoff import RetryPolicy


@dataclass(frozen=True)
class RunSettings:
    """The knobs of a run; defaults are conservative (UOM documents no rate limit, D12)."""

    rate_per_s: float | None = 10.0
    concurrency: int = 8
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    auth_stop_after: int = 3
    group_size: int = 50
    ledger_path: Path | None = None
    journal_path: Path | None = None
    csv_encoding: str = "utf-8-sig"
    new_run: bool = False
    resume_only: bool = False
    once: bool = False  # applying a plan: no new run after one completed
    mode: str = "run"  # what the run history calls it: run, apply-plan, reconcile, retry, revert
    handle_signals: bool = False
    progress_terminal: bool | None = None
    seed: int | None = None

    def audit(self) -> dict[str, str]:
        """The effective settings, as text for the journal and the ledger's audit facts."""
        facts = {k: v for k, v in asdict(self).items() if k != "policy"}
        facts.update({f"policy.{k}": v for k, v in asdict(self.policy).items()})
        return {k: str(v) for k, v in facts.items()}
