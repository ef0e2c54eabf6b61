"""Every API call waits for the rate meter; overload signals slow the meter down.

The wrapper knows nothing of the API's methods: it wraps whatever coroutine methods the client
has, so the rate ceiling covers every request any job kind makes, fetches included. The
concurrency cap needs no lock here: a unit makes its calls one after another, and the pool has
exactly `concurrency` workers, so no more requests than that are ever in flight.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from batch.clock import Clock
from batch.engine.rate_meter import RateMeter
from batch.uom.errors import RateLimited, ServerError

BURST_WINDOW_S = 1.0
RECENT_CALLS = 50  # how many recent replies the error ratio is judged over
BURST_RATIO = 0.2  # a "burst": this share of recent replies were server errors


class StartBudget(Protocol):
    """A second cap beyond this process's meter (the shared Redis budget: engine.shared_budget)."""

    async def acquire(self) -> float: ...


class MeteredApi:
    """A client whose calls pass through a RateMeter, and whose overload replies slow it down."""

    def __init__(
        self,
        api: Any,
        meter: RateMeter,
        clock: Clock,
        *,
        max_retry_after_s: float = 60.0,
        burst_errors: int = 3,
        budget: StartBudget | None = None,
    ) -> None:
        self._budget = budget
        self._max_retry_after_s = max_retry_after_s
        self._api = api
        self._meter = meter
        self._wrapped: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._clock = clock
        self._burst_errors = burst_errors
        self._recent_errors: deque[float] = deque(maxlen=burst_errors)
        self._recent_calls: deque[bool] = deque(maxlen=RECENT_CALLS)  # True: a server error
        self.requests = 0
        self.rate_limited = 0  # replies that were 429: the rate signal, retried without spending an attempt

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        wrapped = self._wrapped.get(name)
        if wrapped is None:
            wrapped = self._wrapped[name] = self._metered(getattr(self._api, name))
        return wrapped

    def _metered(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def metered(*args: Any, **kwargs: Any) -> Any:
            # The request goes out as soon as the meter grants it: nothing queues in between
            # that could bunch starts up past the ceiling.
            if not self._meter.start_now():
                await self._meter.acquire()
            if self._budget is not None:  # the budget shared by every shard of the access key
                await self._budget.acquire()
            self.requests += 1
            try:
                result = await method(*args, **kwargs)
            except RateLimited as exc:
                self.rate_limited += 1
                self._meter.slow_down(self._max_wait(exc.retry_after_s))
                raise
            except ServerError:
                self._note_server_error()
                raise
            self._recent_calls.append(False)
            return result

        return metered

    def _max_wait(self, retry_after_s: float | None) -> float | None:
        """The server's Retry-After, capped by the run's settings (0 in tests)."""
        return None if retry_after_s is None else min(retry_after_s, self._max_retry_after_s)

    def _note_server_error(self) -> None:
        """A burst of server errors slows the whole pool down; the usual trickle does not.

        A burst: `burst_errors` within a second, and a fifth of the recent replies failing.
        """
        now = self._clock.monotonic()
        self._recent_errors.append(now)
        self._recent_calls.append(True)
        full = len(self._recent_errors) == self._burst_errors
        share = sum(self._recent_calls) / len(self._recent_calls)
        if full and now - self._recent_errors[0] <= BURST_WINDOW_S and share >= BURST_RATIO:
            self._meter.slow_down()
            self._recent_errors.clear()
