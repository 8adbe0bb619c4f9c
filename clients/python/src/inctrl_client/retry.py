"""Retry and load-balancing settings, expressed as a gRPC service config: gRPC itself retries and balances."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import grpc

# Idempotent calls, retried on UNAVAILABLE (the backend went away or is not ready) by gRPC onto another backend,
# and by the client after the server's retry hint when it refused them with one (hinted_delay).
# Writes (CreatePromptSet, DeletePromptSet, SetThreshold, ReencodePromptSet, AddShots, RemoveShots,
# RollbackPromptSet) are not: gRPC still retries them transparently when they never reached a server.
# ScoreStream is resent by the client itself (stream.py).
RETRIED_METHODS = (
    ("inctrl.v1.Scorer", "Score"),
    ("inctrl.v1.Scorer", "GetModelInfo"),
    ("inctrl.v1.Scorer", "ListModels"),
    ("inctrl.v1.PromptRegistry", "GetPromptSet"),
    ("inctrl.v1.PromptRegistry", "ListPromptSets"),
    ("inctrl.v1.PromptRegistry", "ListRevisions"),
)

# Inline shots make requests large; gRPC can only retry a call whose request it still holds.
RETRY_BUFFER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC retry policy for UNAVAILABLE. gRPC randomises each delay in [0, backoff] and caps attempts at 5."""
    max_attempts: int = 4          # total attempts, including the first one
    initial_backoff: float = 0.1   # seconds before the first retry
    max_backoff: float = 5.0
    multiplier: float = 2.0

    def __post_init__(self):
        if self.max_attempts < 1 or self.initial_backoff <= 0 or self.max_backoff <= 0 or self.multiplier <= 0:
            raise ValueError("retry policy needs max_attempts >= 1 and positive backoff values")

    def delays(self):
        """Upper bounds of the delays before attempt 2..max_attempts (ScoreStream resends use the same shape)."""
        delay = self.initial_backoff
        for _ in range(max(0, self.max_attempts - 1)):
            yield min(self.max_backoff, delay)
            delay *= self.multiplier


NO_RETRY = RetryPolicy(max_attempts=1)
DEFAULT_RETRY = RetryPolicy()  # frozen: one shared instance is a safe default argument


def hinted_delay(err, attempt: int, policy: RetryPolicy, time_left: Optional[float]) -> Optional[float]:
    """Seconds to wait before attempt ``attempt + 1`` of an idempotent call that failed with ``err`` (an InctrlError),
    or None when it must not be retried. Only a refusal carrying the server's retry hint (google.rpc.RetryInfo: present
    exactly for retryable reasons such as QUEUE_FULL and RATE_LIMITED) is, after that hint, within the policy's attempts
    and the call's remaining time. UNAVAILABLE is left to gRPC's own retry (it honours the server's pushback), so
    attempts do not multiply."""
    if attempt >= policy.max_attempts or err.retry_after is None or err.code == grpc.StatusCode.UNAVAILABLE:
        return None
    if time_left is not None and time_left <= err.retry_after:
        return None  # the answer would come after the caller's deadline: report the refusal now
    return err.retry_after


def service_config(retry: RetryPolicy) -> dict:
    """Round-robin over every resolved backend; retry of idempotent calls per ``retry``."""
    cfg: dict = {"loadBalancingConfig": [{"round_robin": {}}]}
    if retry.max_attempts > 1:
        cfg["methodConfig"] = [{
            "name": [{"service": s, "method": m} for s, m in RETRIED_METHODS],
            "retryPolicy": {
                "maxAttempts": min(retry.max_attempts, 5),
                "initialBackoff": f"{retry.initial_backoff:.3f}s",
                "maxBackoff": f"{retry.max_backoff:.3f}s",
                "backoffMultiplier": retry.multiplier,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }]
    return cfg


def channel_options(retry: RetryPolicy, max_message: int) -> list[tuple[str, object]]:
    return [
        ("grpc.max_send_message_length", max_message),
        ("grpc.max_receive_message_length", max_message),
        ("grpc.service_config", json.dumps(service_config(retry))),
        ("grpc.enable_retries", 1),
        ("grpc.per_rpc_retry_buffer_size", RETRY_BUFFER_BYTES),
        # keepalive pings notice a backend that vanished without closing its connections (the server permits 20 s)
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 0),
    ]
