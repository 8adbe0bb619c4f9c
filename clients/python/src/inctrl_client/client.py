"""Blocking Python client for InCTRL serve."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import Optional, Union

import grpc

from inctrl.v1 import registry_pb2, registry_pb2_grpc, scoring_pb2, scoring_pb2_grpc

from .errors import InvalidArgument, Unavailable, from_rpc_error
from .retry import DEFAULT_RETRY, RetryPolicy, channel_options, hinted_delay
from .stream import ScoreStream
from .targets import Address, default_authority, grpc_target

ImageLike = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]

# Inline shots travel with every request; allow messages well above gRPC's 4 MiB default.
_MAX_MESSAGE = 64 * 1024 * 1024


def _read_image(image: ImageLike) -> bytes:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    with open(image, "rb") as f:
        return f.read()


def inspection_value(inspection: Optional[str]) -> int:
    """"center-crop", "resize", "tiles" or "auto" (prompt sets only: the server chooses from the shots) as the proto
    enum value; None = unspecified (inline prompts: centre crop; a new prompt set: auto)."""
    if inspection is None:
        return scoring_pb2.INSPECTION_UNSPECIFIED
    names = {"center-crop": scoring_pb2.INSPECTION_CENTER_CROP, "resize": scoring_pb2.INSPECTION_RESIZE,
             "tiles": scoring_pb2.INSPECTION_TILES, "auto": scoring_pb2.INSPECTION_AUTO}
    if inspection not in names:
        raise ValueError(f"inspection must be one of {', '.join(names)}, not {inspection!r}")
    return names[inspection]


def build_request(image: ImageLike, *, request_id: str = "", shots: Optional[Sequence[ImageLike]] = None,
                  category: Optional[str] = None, prompt_set_id: Optional[str] = None,
                  omit_map: bool = False, inspection: Optional[str] = None) -> scoring_pb2.ScoreRequest:
    """Builds a ScoreRequest for either ad-hoc prompts (shots + category) or a registered prompt set."""
    if prompt_set_id and shots:
        raise ValueError("pass either prompt_set_id or shots/category, not both")
    req = scoring_pb2.ScoreRequest(request_id=request_id, image=_read_image(image), omit_map=omit_map)
    if prompt_set_id:
        req.prompt_set_id = prompt_set_id
    elif shots:
        req.inline.CopyFrom(scoring_pb2.InlinePrompts(shots=[_read_image(s) for s in shots], category=category or "",
                                                      inspection=inspection_value(inspection)))
    else:
        raise ValueError("scoring needs prompts: shots (+ category) or prompt_set_id")
    return req


class Client:
    """Connection to one or several InCTRL serve backends (replicas).

    ``address`` is ``host:port``, a DNS name with several addresses, a comma-separated list or a sequence of
    ``host:port``. gRPC balances calls round-robin over the backends and retries idempotent calls
    (Score, GetModelInfo, GetPromptSet, ListPromptSets) that fail with UNAVAILABLE on another one (``retry``).

    >>> with Client("10.0.0.5:9000,10.0.0.6:9000", api_key="k") as c:
    ...     r = c.score("q.png", shots=["n1.png", "n2.png"], category="transistor")
    """

    def __init__(self, address: Address, api_key: Optional[str] = None, *, tls: bool = False,
                 root_certificates: Optional[bytes] = None, timeout: Optional[float] = 30.0,
                 retry: RetryPolicy = DEFAULT_RETRY, channel: Optional[grpc.Channel] = None):
        self.address = address if isinstance(address, str) else ",".join(address)
        self.timeout = timeout
        self.retry = retry
        opts = channel_options(retry, _MAX_MESSAGE)
        target = grpc_target(address)
        authority = default_authority(address)
        if authority:
            opts.append(("grpc.default_authority", authority))
        if channel is not None:
            self._channel = channel
        elif tls or root_certificates:
            self._channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates), opts)
        else:
            self._channel = grpc.insecure_channel(target, opts)  # h2c, the server's default
        self._metadata = (("x-api-key", api_key),) if api_key else ()
        self._scorer = scoring_pb2_grpc.ScorerStub(self._channel)
        self._registry = registry_pb2_grpc.PromptRegistryStub(self._channel)

    # -- plumbing ------------------------------------------------------------------------------------------
    def _unary(self, method, request, timeout: Optional[float], idempotent: bool = False):
        """One call. gRPC retries idempotent ones on UNAVAILABLE (the channel's service config); the client also
        resends them after the server's retry hint (QUEUE_FULL, RATE_LIMITED, ...), never without one."""
        t = self.timeout if timeout is None else timeout
        deadline = None if t is None else time.monotonic() + t
        attempt = 1
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return method(request, timeout=left, metadata=self._metadata)
            except grpc.RpcError as e:
                err = from_rpc_error(e)  # keeps the RpcError as __cause__
            left = None if deadline is None else deadline - time.monotonic()
            wait = hinted_delay(err, attempt, self.retry, left) if idempotent else None
            if wait is None:
                raise err
            time.sleep(wait)
            attempt += 1

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Blocks until the channel is connected; raises Unavailable if it is not within ``timeout``."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise Unavailable(f"cannot reach {self.address} within {timeout}s") from None

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- scoring -------------------------------------------------------------------------------------------
    def score(self, image: ImageLike, *, shots: Optional[Sequence[ImageLike]] = None, category: Optional[str] = None,
              prompt_set_id: Optional[str] = None, request_id: str = "", omit_map: bool = False,
              timeout: Optional[float] = None, inspection: Optional[str] = None) -> scoring_pb2.ScoreResponse:
        """inspection (inline shots only; a prompt set brings its own): "center-crop", "resize" or "tiles"."""
        req = build_request(image, request_id=request_id, shots=shots, category=category,
                            prompt_set_id=prompt_set_id, omit_map=omit_map, inspection=inspection)
        return self._unary(self._scorer.Score, req, timeout, idempotent=True)

    def open_stream(self, *, window: int = 16, timeout: Optional[float] = None,
                    shots: Optional[Sequence[ImageLike]] = None, category: Optional[str] = None,
                    prompt_set_id: Optional[str] = None, omit_map: bool = False,
                    resend: Optional[RetryPolicy] = None) -> ScoreStream:
        """Opens a ScoreStream. Prompts given here are the default for every submit (override per submit).
        ``timeout`` is a deadline for the whole stream (None = no deadline). When the stream fails with
        UNAVAILABLE (its backend went away), the requests still unanswered are resent on a new stream, which
        gRPC places on another backend, up to ``resend`` (default: the client's retry policy) consecutive times;
        an id whose answer arrived is never resent, so every id is answered exactly once."""
        shot_bytes = [_read_image(s) for s in shots] if shots else None  # read once, not per request
        defaults = dict(shots=shot_bytes, category=category, prompt_set_id=prompt_set_id, omit_map=omit_map)

        def build(image, request_id, **override):
            args = dict(defaults)
            if override.get("shots") or override.get("prompt_set_id"):
                args.update(shots=None, category=None, prompt_set_id=None)
            args.update({k: v for k, v in override.items() if v is not None})
            return build_request(image, request_id=request_id, **args)

        deadline = None if timeout is None else time.monotonic() + timeout

        def start(requests):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            return self._scorer.ScoreStream(requests, timeout=remaining, metadata=self._metadata)

        return ScoreStream(start, build, window=window, resend=self.retry if resend is None else resend)

    def model_info(self, timeout: Optional[float] = None) -> scoring_pb2.ModelInfo:
        return self._unary(self._scorer.GetModelInfo, scoring_pb2.ModelInfoRequest(), timeout, idempotent=True)

    # -- prompt registry -----------------------------------------------------------------------------------
    def register_prompt_set(self, name: str, category: str, shots: Sequence[ImageLike], *, template_id: str = "",
                            fp16: bool = False, target_fpr: Optional[float] = None,
                            timeout: Optional[float] = None,
                            inspection: Optional[str] = None) -> registry_pb2.PromptSet:
        """target_fpr: share of normal images the suggested threshold may flag, in (0, 0.5); None = server default.
        inspection: "auto" (default: the server chooses from the shots and says why), "center-crop", "resize" or
        "tiles"; queries scored against the set use the mode the set reports."""
        if not shots:
            raise InvalidArgument("a prompt set needs at least one shot")
        req = registry_pb2.CreatePromptSetRequest(name=name, category=category, template_id=template_id, fp16=fp16,
                                                  shots=[_read_image(s) for s in shots],
                                                  inspection=inspection_value(inspection))
        if target_fpr is not None:  # proto3 optional: unset means the server default, not 0
            req.target_fpr = target_fpr
        return self._unary(self._registry.CreatePromptSet, req, timeout)

    def get_prompt_set(self, prompt_set_id: str, timeout: Optional[float] = None) -> registry_pb2.PromptSet:
        return self._unary(self._registry.GetPromptSet, registry_pb2.GetPromptSetRequest(id=prompt_set_id), timeout,
                           idempotent=True)

    def list_prompt_sets(self, page_size: int = 100,
                         timeout: Optional[float] = None) -> Iterator[registry_pb2.PromptSet]:
        token = ""
        while True:
            page = self._unary(self._registry.ListPromptSets,
                               registry_pb2.ListPromptSetsRequest(page_size=page_size, page_token=token), timeout,
                               idempotent=True)
            yield from page.prompt_sets
            token = page.next_page_token
            if not token:
                return

    def delete_prompt_set(self, prompt_set_id: str, timeout: Optional[float] = None) -> None:
        self._unary(self._registry.DeletePromptSet, registry_pb2.DeletePromptSetRequest(id=prompt_set_id), timeout)


def connect(address: Address, api_key: Optional[str] = None, **kwargs) -> Client:
    return Client(address, api_key, **kwargs)
