"""Exponential backoff with jitter for calls that fail with UNAVAILABLE."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, TypeVar

import grpc

from .errors import Unavailable, from_rpc_error

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4          # total attempts, including the first one
    initial_backoff: float = 0.1   # seconds before the first retry
    max_backoff: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2            # +/- fraction applied to each delay, spreads out retry storms

    def delays(self, rng: Optional[random.Random] = None) -> Iterator[float]:
        """Delays before attempt 2..max_attempts."""
        rng = rng or random
        delay = self.initial_backoff
        for _ in range(max(0, self.max_attempts - 1)):
            j = 1.0 + self.jitter * (2.0 * rng.random() - 1.0)
            yield min(self.max_backoff, delay) * j
            delay *= self.multiplier


NO_RETRY = RetryPolicy(max_attempts=1)


def call_with_retry(fn: Callable[[Optional[float]], T], policy: RetryPolicy, timeout: Optional[float],
                    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> T:
    """Runs ``fn(remaining_timeout)``; retries only UNAVAILABLE, never past the overall deadline."""
    deadline = None if timeout is None else clock() + timeout
    delays = policy.delays()
    while True:
        remaining = None if deadline is None else max(0.0, deadline - clock())
        try:
            return fn(remaining)
        except grpc.RpcError as e:
            err = from_rpc_error(e)
        if not isinstance(err, Unavailable):
            raise err
        delay = next(delays, None)
        if delay is None or (deadline is not None and clock() + delay >= deadline):
            raise err
        sleep(delay)
