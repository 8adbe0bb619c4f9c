"""ScoreStream wrapper: bounded in-flight window (backpressure) and correlation of responses by request_id."""
from __future__ import annotations

import itertools
import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import Callable, Optional, Union

import grpc

from inctrl.v1 import scoring_pb2

from .errors import Cancelled, InctrlError, Internal, Unavailable, from_code, from_rpc_error, from_stream_error
from .retry import NO_RETRY, RetryPolicy

_CLOSE = object()

ScoreResult = Union[scoring_pb2.ScoreResponse, InctrlError]


class ScoreStream:
    """One logical ScoreStream, carried by one gRPC call at a time.

    ``submit`` blocks while ``window`` requests are unanswered, so a fast producer cannot flood the server.
    Every submit returns a Future that resolves with the response carrying the same request_id (responses may
    arrive in any order), or fails with a typed error (per-request ``error`` or the whole stream failing).

    When the call fails with UNAVAILABLE (its backend stopped or went away), or is cancelled by the other side (a
    backend shutting down resets its streams), the requests still unanswered are
    resent, in submit order, on a new call (which the channel's round_robin places on a backend that is up), at
    most ``resend.max_attempts - 1`` times in a row without an answer in between. A request whose answer arrived
    is never resent, and each Future settles once: every id is reported exactly once. A failure carrying the
    server's retry hint (google.rpc.RetryInfo) is resent the same way, after that hint.

    A request answered with an ``Error`` that has ``retry_after`` (QUEUE_FULL, RATE_LIMITED, ...) is resent after that
    delay, at most ``resend.max_attempts - 1`` times; one without it fails its Future at once. So that a resend always
    has a call to go on, the call is half-closed only once every request is settled.
    """

    def __init__(self, start_call: Callable[[Iterator[scoring_pb2.ScoreRequest]], Iterator[scoring_pb2.ScoreResponse]],
                 build_request: Callable[..., scoring_pb2.ScoreRequest], window: int = 16,
                 resend: RetryPolicy = NO_RETRY):
        if window < 1:
            raise ValueError("window must be >= 1")
        self.window = window
        self._build = build_request
        self._start_call = start_call
        self._resend = resend
        self._slots = threading.Semaphore(window)
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[Future, scoring_pb2.ScoreRequest]] = {}  # insertion = submit order
        self._resent: dict[str, int] = {}  # resends per id after an answer with retry_after
        self._call_half_closed = False  # the current call's request iterator has ended
        self._ids = itertools.count(1)
        self._closed = False
        self._cancelled = False
        self._failure: Optional[InctrlError] = None
        self._done = threading.Event()
        self.unmatched: list[scoring_pb2.ScoreResponse] = []  # responses whose id we never sent (or answered twice)
        self.restarts = 0  # calls replaced after UNAVAILABLE
        self._outbox: queue.Queue[object] = queue.Queue()
        self._call = start_call(self._requests(self._outbox))
        self._reader = threading.Thread(target=self._read, name="inctrl-stream-reader", daemon=True)
        self._reader.start()

    # -- sending -------------------------------------------------------------------------------------------
    @staticmethod
    def _requests(outbox: queue.Queue[object]) -> Iterator[scoring_pb2.ScoreRequest]:
        while True:
            item = outbox.get()
            if item is _CLOSE:
                return
            yield item  # type: ignore[misc]

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._pending)

    def submit(self, image, request_id: Optional[str] = None, timeout: Optional[float] = None, **prompts) -> Future:
        """Queues one image; blocks (up to ``timeout`` seconds) for a free slot in the window."""
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise RuntimeError("stream is closed")
        rid = request_id if request_id else f"r{next(self._ids)}"
        with self._lock:
            if rid in self._pending:
                raise ValueError(f"request_id {rid!r} is already in flight")
        req = self._build(image, request_id=rid, **prompts)
        deadline = None if timeout is None else time.monotonic() + timeout
        # poll so a stream that dies while we wait for a slot is noticed instead of blocking forever
        while not self._slots.acquire(timeout=0.05):
            if self._failure is not None:
                raise self._failure
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"no free slot in the in-flight window ({self.window}) within {timeout}s")
        fut: Future = Future()
        fut.request_id = rid  # type: ignore[attr-defined]
        fut.sent_at = time.monotonic()  # type: ignore[attr-defined]
        with self._lock:
            if self._failure is not None:
                self._slots.release()
                raise self._failure
            self._pending[rid] = (fut, req)
            # under the lock: a restart either finds it pending (and resends it) or it goes to the new call
            self._outbox.put(req)
        return fut

    # -- receiving -----------------------------------------------------------------------------------------
    def _read(self) -> None:
        failure: Optional[InctrlError] = None
        delays = self._resend.delays()
        while True:
            failure = None
            try:
                for resp in self._call:
                    error = from_stream_error(resp.error, resp.request_id) if resp.HasField("error") else None
                    delays = self._resend.delays()  # progress: the next failure starts a fresh retry budget
                    with self._lock:
                        if self._resend_later(resp.request_id, error):
                            continue
                        entry = self._pending.pop(resp.request_id, None)
                        self._resent.pop(resp.request_id, None)
                    if entry is None:
                        self.unmatched.append(resp)
                        continue
                    fut = entry[0]
                    self._slots.release()
                    fut.received_at = time.monotonic()  # type: ignore[attr-defined]
                    if error is not None:
                        fut.set_exception(error)
                    else:
                        fut.set_result(resp)
                    self._half_close_when_settled()
            except grpc.RpcError as e:
                failure = from_rpc_error(e)
            except Exception as e:  # noqa: BLE001 - surface anything unexpected to every waiter
                failure = Internal(f"stream reader failed: {e!r}")
            # UNAVAILABLE, or a cancellation this client did not ask for (a replica shutting down resets its streams),
            # or any failure with the server's retry hint (e.g. RATE_LIMITED when the call opened)
            resendable = failure is not None and (
                isinstance(failure, (Unavailable, Cancelled)) or failure.retry_after is not None)
            if not resendable or self._cancelled:
                break
            delay = next(delays, None)
            if delay is None:
                break
            # like gRPC's own retry backoff: spread the reconnects; never sooner than the server asked
            time.sleep(max(random.uniform(0, delay), failure.retry_after or 0.0))
            try:
                self._restart()
            except Exception:  # noqa: BLE001 - e.g. the client's channel was closed meanwhile: keep the failure
                break
        with self._lock:
            left = [fut for fut, _ in self._pending.values()]
            self._pending.clear()
            if failure is None and left:
                failure = Internal(f"stream ended with {len(left)} request(s) unanswered")
            self._failure = failure
        for fut in left:
            self._slots.release()
            fut.set_exception(from_code(failure.code, failure.details, fut.request_id, reason=failure.reason,
                                        retry_after=failure.retry_after))
        self._done.set()

    def _resend_later(self, rid: str, error: Optional[InctrlError]) -> bool:
        """Under the lock: schedules the resend of a request the server refused with a retry hint (within budget)."""
        if error is None or error.retry_after is None or self._cancelled or rid not in self._pending:
            return False
        n = self._resent.get(rid, 0)
        if n + 1 >= self._resend.max_attempts:
            return False
        self._resent[rid] = n + 1
        timer = threading.Timer(error.retry_after, self._resend_one, args=(rid,))
        timer.daemon = True
        timer.start()
        return True

    def _resend_one(self, rid: str) -> None:
        with self._lock:
            entry = self._pending.get(rid)
            if entry is not None and not self._call_half_closed:
                self._outbox.put(entry[1])  # a restart meanwhile resends it anyway

    def _half_close_when_settled(self) -> None:
        """Ends the current call's requests once the caller closed the stream and every request is settled."""
        with self._lock:
            if self._closed and not self._pending and not self._call_half_closed:
                self._call_half_closed = True
                self._outbox.put(_CLOSE)

    def _restart(self) -> None:
        """Replaces the failed call: a new request queue that starts with every unanswered request."""
        with self._lock:
            old, self._outbox = self._outbox, queue.Queue()
            old.put(_CLOSE)  # ends the failed call's request iterator
            for _, req in self._pending.values():
                self._outbox.put(req)
            self._call_half_closed = False
            if self._closed and not self._pending:
                self._call_half_closed = True
                self._outbox.put(_CLOSE)
            self.restarts += 1
            self._call = self._start_call(self._requests(self._outbox))

    # -- lifecycle -----------------------------------------------------------------------------------------
    def close(self, timeout: Optional[float] = None) -> None:
        """Half-closes the stream and waits until every in-flight request is answered (or failed)."""
        with self._lock:
            self._closed = True
        # the call itself ends once every request is settled (a request may still be resent on it)
        self._half_close_when_settled()
        if not self._done.wait(timeout):
            raise TimeoutError("stream did not finish in time")
        if self._failure is not None and not isinstance(self._failure, Internal):
            raise self._failure

    def cancel(self) -> None:
        with self._lock:
            self._closed = self._cancelled = True
            self._call.cancel()
            self._outbox.put(_CLOSE)
        self._done.wait(5)

    @property
    def failure(self) -> Optional[InctrlError]:
        return self._failure

    def __enter__(self) -> ScoreStream:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.cancel()

    def score_many(self, items: Iterable[tuple[str, object]], **prompts) -> Iterator[tuple[str, ScoreResult]]:
        """Submits (request_id, image) pairs from a feeder thread and yields (request_id, response-or-error)
        in completion order; every submitted id is yielded exactly once."""
        done: queue.Queue[object] = queue.Queue()
        sent = [0]
        feeder_error: list[BaseException] = []

        def feed() -> None:
            try:
                for rid, image in items:
                    fut = self.submit(image, request_id=rid, **prompts)
                    sent[0] += 1
                    fut.add_done_callback(done.put)
            except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
                feeder_error.append(e)
            finally:
                done.put(_CLOSE)

        t = threading.Thread(target=feed, name="inctrl-stream-feeder", daemon=True)
        t.start()
        received, fed = 0, False
        while not fed or received < sent[0]:
            item = done.get()
            if item is _CLOSE:
                fed = True
                continue
            received += 1
            fut = item  # type: ignore[assignment]
            exc = fut.exception()
            yield fut.request_id, (exc if exc is not None else fut.result())
        t.join()
        if feeder_error:
            raise feeder_error[0]
