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
                  omit_map: bool = False, inspection: Optional[str] = None, model: str = "",
                  model_version: int = 0) -> scoring_pb2.ScoreRequest:
    """Builds a ScoreRequest for either ad-hoc prompts (shots + category) or a registered prompt set.
    ``model`` / ``model_version``: "" = the server's default model (a prompt set: the set's own), 0 = the version its
    roll-out routes to."""
    if prompt_set_id and shots:
        raise ValueError("pass either prompt_set_id or shots/category, not both")
    req = scoring_pb2.ScoreRequest(request_id=request_id, image=_read_image(image), omit_map=omit_map,
                                   model=model or "", model_version=model_version)
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
    (Score, GetModelInfo, ListModels, GetPromptSet, ListPromptSets, ListRevisions) that fail with UNAVAILABLE on
    another one (``retry``).

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
              timeout: Optional[float] = None, inspection: Optional[str] = None, model: str = "",
              model_version: int = 0) -> scoring_pb2.ScoreResponse:
        """inspection (inline shots only; a prompt set brings its own): "center-crop", "resize" or "tiles".
        model / model_version: which model scores ("" = the default one; for a prompt set, the set's own) and which
        version (0 = the one its roll-out routes to). The response's ``model`` / ``model_version`` name the version
        that answered; scored against a prompt set, its ``query_id`` can confirm the query as a normal shot
        (``add_shots(..., query_ids=[r.query_id])``) while the replica keeps it."""
        req = build_request(image, request_id=request_id, shots=shots, category=category,
                            prompt_set_id=prompt_set_id, omit_map=omit_map, inspection=inspection, model=model,
                            model_version=model_version)
        return self._unary(self._scorer.Score, req, timeout, idempotent=True)

    def open_stream(self, *, window: int = 16, timeout: Optional[float] = None,
                    shots: Optional[Sequence[ImageLike]] = None, category: Optional[str] = None,
                    prompt_set_id: Optional[str] = None, omit_map: bool = False,
                    resend: Optional[RetryPolicy] = None, model: str = "", model_version: int = 0) -> ScoreStream:
        """Opens a ScoreStream. Prompts (and ``model`` / ``model_version``) given here are the default for every
        submit (override per submit).
        ``timeout`` is a deadline for the whole stream (None = no deadline). When the stream fails with
        UNAVAILABLE (its backend went away), the requests still unanswered are resent on a new stream, which
        gRPC places on another backend, up to ``resend`` (default: the client's retry policy) consecutive times;
        an id whose answer arrived is never resent, so every id is answered exactly once."""
        shot_bytes = [_read_image(s) for s in shots] if shots else None  # read once, not per request
        defaults = dict(shots=shot_bytes, category=category, prompt_set_id=prompt_set_id, omit_map=omit_map,
                        model=model, model_version=model_version)

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

    def model_info(self, timeout: Optional[float] = None, *, model: str = "",
                   model_version: int = 0) -> scoring_pb2.ModelInfo:
        """Describes one loaded model version: "" = the default model, 0 = its serving version. NotFound with reason
        MODEL_NOT_FOUND / MODEL_VERSION_NOT_LOADED for one this server does not serve."""
        return self._unary(self._scorer.GetModelInfo,
                           scoring_pb2.ModelInfoRequest(model=model, model_version=model_version), timeout,
                           idempotent=True)

    def list_models(self, timeout: Optional[float] = None) -> scoring_pb2.ListModelsResponse:
        """The models this server serves (``models``: loaded versions, serving / canary / shadow version) and
        ``default_model``, the one of requests that name none."""
        return self._unary(self._scorer.ListModels, scoring_pb2.ListModelsRequest(), timeout, idempotent=True)

    # -- prompt registry -----------------------------------------------------------------------------------
    def register_prompt_set(self, name: str, category: str, shots: Sequence[ImageLike], *, template_id: str = "",
                            fp16: bool = False, target_fpr: Optional[float] = None,
                            timeout: Optional[float] = None,
                            inspection: Optional[str] = None, model: str = "") -> registry_pb2.PromptSet:
        """target_fpr: share of normal images the suggested threshold may flag, in (0, 0.5); None = server default.
        inspection: "auto" (default: the server chooses from the shots and says why), "center-crop", "resize" or
        "tiles"; queries scored against the set use the mode the set reports. model: the model the set belongs to
        ("" = the server's default); its other loaded versions encode the set in the background (``encodings``)."""
        if not shots:
            raise InvalidArgument("a prompt set needs at least one shot")
        req = registry_pb2.CreatePromptSetRequest(name=name, category=category, template_id=template_id, fp16=fp16,
                                                  shots=[_read_image(s) for s in shots],
                                                  inspection=inspection_value(inspection), model=model)
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

    def set_threshold(self, prompt_set_id: str, threshold: Optional[float], *, target_fpr: Optional[float] = None,
                      model_version: int = 0, timeout: Optional[float] = None) -> registry_pb2.PromptSet:
        """Overrides the decision threshold of one model version's encoding (0 = the serving version of the set's
        model; scores of two versions are not comparable), or with ``threshold=None`` removes the override.
        ``target_fpr`` also changes the set's target false-positive rate (every version's suggestion is refitted)."""
        req = registry_pb2.SetThresholdRequest(id=prompt_set_id, model_version=model_version)
        if threshold is not None:  # proto3 optional: unset clears the override
            req.threshold = threshold
        if target_fpr is not None:
            req.target_fpr = target_fpr
        return self._unary(self._registry.SetThreshold, req, timeout)

    def reencode_prompt_set(self, prompt_set_id: str, *, model_version: int = 0,
                            timeout: Optional[float] = None) -> registry_pb2.PromptSet:
        """Re-encodes the stored shots with one loaded version (0 = the serving version of the set's model)."""
        return self._unary(self._registry.ReencodePromptSet,
                           registry_pb2.ReencodePromptSetRequest(id=prompt_set_id, model_version=model_version),
                           timeout)

    # A new revision of the shots is a write: AddShots, RemoveShots and RollbackPromptSet are never resent after a
    # retry hint (a resend of an AddShots that did land would add the shots twice).
    def add_shots(self, prompt_set_id: str, shots: Sequence[ImageLike] = (), *, query_ids: Sequence[str] = (),
                  timeout: Optional[float] = None) -> registry_pb2.PromptSet:
        """Adds normal shots to a set, as a new revision of its shots (the old one stays for ``rollback_prompt_set``):
        uploaded images and/or queries scored against the set, confirmed as normal by their
        ``ScoreResponse.query_id`` (no second upload). NotFound with reason QUERY_NOT_RETAINED for a query the
        replica that answers no longer keeps (with several replicas, possibly one that did not score it): upload
        the image instead."""
        req = registry_pb2.AddShotsRequest(id=prompt_set_id, shots=[_read_image(s) for s in shots],
                                           query_ids=list(query_ids))
        return self._unary(self._registry.AddShots, req, timeout)

    def remove_shots(self, prompt_set_id: str, positions: Sequence[int], *,
                     timeout: Optional[float] = None) -> registry_pb2.PromptSet:
        """Removes shots by 0-based position in the current revision (as in ``calibration.shot_scores``); a new
        revision. At least one shot stays."""
        return self._unary(self._registry.RemoveShots,
                           registry_pb2.RemoveShotsRequest(id=prompt_set_id, shots=list(positions)), timeout)

    def list_revisions(self, prompt_set_id: str,
                       timeout: Optional[float] = None) -> registry_pb2.ListRevisionsResponse:
        """The revisions of a set's shots, oldest first (``revisions``), and ``current``, the one it points at."""
        return self._unary(self._registry.ListRevisions, registry_pb2.ListRevisionsRequest(id=prompt_set_id),
                           timeout, idempotent=True)

    def rollback_prompt_set(self, prompt_set_id: str, revision: int, *,
                            timeout: Optional[float] = None) -> registry_pb2.PromptSet:
        """Points the set at another revision of its shots; its stored encodings serve it again, bit for bit."""
        return self._unary(self._registry.RollbackPromptSet,
                           registry_pb2.RollbackPromptSetRequest(id=prompt_set_id, revision=revision), timeout)


def connect(address: Address, api_key: Optional[str] = None, **kwargs) -> Client:
    return Client(address, api_key, **kwargs)
