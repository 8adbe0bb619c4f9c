"""In-process fake of the InCTRL serve API for offline tests (same contract, no model).

Image bytes decide the behaviour: PNG/JPEG/BMP/TIFF magic = decodable; b"ANOMALY" anywhere = high score;
b"SLOW" = 0.5 s delay (deadline tests). Stream answers are delayed by a per-id pseudo-random amount so they
come back out of order, like the real server batching across devices.

Models (issue 19) as the server routes them: MODELS lists the loaded versions of each model; a request naming no
model gets DEFAULT_MODEL (a prompt set: the set's own model), no version the model's serving version (the highest
here). Prompt sets keep revisions of their shots (issue 22); a query scored against a set is kept under its
query_id until the fake forgets it (``forget_queries``), so AddShots can confirm it as normal.
"""
from __future__ import annotations

import hashlib
import queue
import threading
import time
import uuid
from collections import Counter
from concurrent import futures

import grpc
from google.rpc import error_details_pb2, status_pb2

from inctrl.v1 import registry_pb2, registry_pb2_grpc, scoring_pb2, scoring_pb2_grpc

PNG = b"\x89PNG\r\n\x1a\n"
MAGICS = (PNG, b"\xff\xd8\xff", b"BM", b"II*\x00", b"MM\x00*")


DEFAULT_MODEL = "fake-model"
MODELS = {"fake-model": [2, 1], "other-model": [7]}  # loaded versions, highest (= serving) first


def fake_png(tag: str, anomaly: bool = False) -> bytes:
    return PNG + tag.encode() + (b"ANOMALY" if anomaly else b"")


def _hash01(b: bytes) -> float:
    return int.from_bytes(hashlib.sha256(b).digest()[:4], "big") / 2**32


class _Err(Exception):
    def __init__(self, code, msg, reason="", retry_ms=None):
        super().__init__(msg)
        self.code, self.msg, self.reason, self.retry_ms = code, msg, reason, retry_ms


def _refuse(context, code: str, msg: str, reason: str, retry_ms=None):
    """Aborts as the real server refuses: google.rpc.ErrorInfo and, when retryable, RetryInfo in the details."""
    status = status_pb2.Status(code=getattr(grpc.StatusCode, code).value[0], message=msg)
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain="inctrl.io"))
    if retry_ms is not None:
        hint = error_details_pb2.RetryInfo()
        hint.retry_delay.FromMilliseconds(retry_ms)
        status.details.add().Pack(hint)
    context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    context.abort(getattr(grpc.StatusCode, code), msg)


class FakeInctrl(scoring_pb2_grpc.ScorerServicer, registry_pb2_grpc.PromptRegistryServicer):
    def __init__(self, api_key="secret", unavailable_first=0, name="fake", stream_plan=None):
        self.api_key = api_key
        self.name = name  # answers carry it as bundle_id: tests see which backend answered
        # shared by the fakes of a multi-backend test: the first stream to start takes "fail_after" (a count of
        # answers after which that stream fails with UNAVAILABLE, like a server going down)
        self.stream_plan = stream_plan if stream_plan is not None else {}
        self.stream_ids = []  # request ids received on streams, in order
        self.stream_failed = False  # this fake took stream_plan's fail_after
        self.unavailable_first = unavailable_first  # fail this many unary calls with UNAVAILABLE, then serve
        self.busy_first = 0  # then fail this many with RESOURCE_EXHAUSTED QUEUE_FULL and a retry hint
        self.busy_once = set()  # stream ids refused once already ("BUSYONCE" images: QUEUE_FULL + retry_after)
        self.calls = 0
        self.sets = {}
        self.created = []  # every prompt set ever registered, deleted or not
        self.lock = threading.Lock()
        self.max_in_flight = 0
        self.stream_received = 0
        self.prompts_used = Counter()  # "inline" or a prompt set id, per scored request
        self.requests = []  # (method name, request message) of every unary call, as received
        self.shots = {}  # prompt set id -> {revision: [shot bytes]}
        self.revisions = {}  # prompt set id -> [PromptSetRevision]
        self.queries = {}  # (prompt set id, query_id) -> image: recent queries a confirmation can add
        self.conflicts = 0  # refuse this many AddShots with ABORTED CONCURRENT_CHANGE and a zero retry hint

    # -- helpers -------------------------------------------------------------------------------------------
    def _auth(self, context):
        md = dict(context.invocation_metadata())
        if md.get("x-api-key") != self.api_key:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid x-api-key")

    def _record(self, method, request):
        with self.lock:
            self.requests.append((method, request))

    def sent(self, method):
        """The requests of one method the fake received, in order."""
        with self.lock:
            return [r for m, r in self.requests if m == method]

    def forget_queries(self):
        """As a replica whose recent-query retention (inctrl.registry.recent-queries.ttl) ran out."""
        with self.lock:
            self.queries.clear()

    def _route(self, model: str, version: int):
        """(model, version) the way the server routes a request; _Err NOT_FOUND for one not loaded."""
        name = model or DEFAULT_MODEL
        if name not in MODELS:
            raise _Err("NOT_FOUND", f"no model {name!r}", "MODEL_NOT_FOUND")
        if version and version not in MODELS[name]:
            raise _Err("NOT_FOUND", f"model {name!r} has no loaded version {version}", "MODEL_VERSION_NOT_LOADED")
        return name, version or MODELS[name][0]

    def _flaky(self, context):
        with self.lock:
            self.calls += 1
            fail = self.calls <= self.unavailable_first
            busy = not fail and self.calls - self.unavailable_first <= self.busy_first
        if fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        if busy:
            _refuse(context, "RESOURCE_EXHAUSTED", "queue full; retry after 50 ms", "QUEUE_FULL", 50)

    def _score(self, req: scoring_pb2.ScoreRequest) -> scoring_pb2.ScoreResponse:
        if not req.image.startswith(MAGICS):
            raise _Err("INVALID_ARGUMENT", "image is not PNG, JPEG, BMP or TIFF")
        which = req.WhichOneof("prompts")
        with self.lock:
            self.prompts_used[req.prompt_set_id if which == "prompt_set_id" else which] += 1
        if which == "prompt_set_id":
            if req.prompt_set_id not in self.sets:
                raise _Err("NOT_FOUND", f"prompt set {req.prompt_set_id} not found")
            model, version = self._route(req.model or self.sets[req.prompt_set_id].model, req.model_version)
        elif which != "inline" or not req.inline.shots:
            raise _Err("INVALID_ARGUMENT", "no shots")
        else:
            model, version = self._route(req.model, req.model_version)
        if b"HUGE" in req.image:   # waiting does not help: a reason, no retry hint
            raise _Err("RESOURCE_EXHAUSTED", "message too large", "PAYLOAD_TOO_LARGE")
        if b"SLOW" in req.image:
            time.sleep(0.5)
        s = (0.8 if b"ANOMALY" in req.image else 0.2) + 0.1 * _hash01(req.image)
        resp = scoring_pb2.ScoreResponse(request_id=req.request_id, score=s, s_p=s, bundle_id=self.name,
                                         map_height=2, map_width=2, model=model, model_version=version)
        if which == "prompt_set_id":
            resp.query_id = uuid.uuid4().hex
            with self.lock:
                self.queries[(req.prompt_set_id, resp.query_id)] = req.image
        if not req.omit_map:
            resp.map.extend([s] * 4)
        resp.timings.total_us = 1000
        return resp

    # -- Scorer ----------------------------------------------------------------------------------------------
    def Score(self, request, context):
        self._auth(context)
        self._record("Score", request)
        self._flaky(context)
        try:
            return self._score(request)
        except _Err as e:
            _refuse(context, e.code, e.msg, e.reason, e.retry_ms)

    def GetModelInfo(self, request, context):
        self._auth(context)
        self._record("GetModelInfo", request)
        self._flaky(context)
        try:
            model, version = self._route(request.model, request.model_version)
        except _Err as e:
            _refuse(context, e.code, e.msg, e.reason)
        return scoring_pb2.ModelInfo(bundle_id=self.name, kind="inctrl", arch="fake", random_weights=True,
                                     devices=["cpu()"], model=model, model_version=version, precision="fp32")

    def ListModels(self, request, context):
        self._auth(context)
        self._flaky(context)
        out = scoring_pb2.ListModelsResponse(default_model=DEFAULT_MODEL)
        for name, versions in MODELS.items():
            m = out.models.add(name=name, serving_version=versions[0])
            for v in versions:
                m.versions.add(version=v, state="READY", bundle_id=f"{name}-v{v}", kind="inctrl", precision="fp32",
                               random_weights=True)
        return out

    def ScoreStream(self, request_iterator, context):
        self._auth(context)
        with self.lock:
            fail_after = self.stream_plan.pop("fail_after", None)
        out: queue.Queue = queue.Queue()
        state = {"in_flight": 0, "left": 0, "eof": False}
        lock = threading.Lock()

        def answer(req):
            try:
                with self.lock:
                    busy = b"BUSYONCE" in req.image and req.request_id not in self.busy_once
                    self.busy_once.add(req.request_id)
                if busy:
                    raise _Err("RESOURCE_EXHAUSTED", "queue full; retry after 50 ms", "QUEUE_FULL", 50)
                resp = self._score(req)
            except _Err as e:
                error = scoring_pb2.Error(code=e.code, message=e.msg, reason=e.reason)
                if e.retry_ms is not None:
                    error.retry_after.FromMilliseconds(e.retry_ms)
                resp = scoring_pb2.ScoreResponse(request_id=req.request_id, error=error)
            out.put(resp)

        def reader():
            try:
                self._read_requests(request_iterator, lock, state, answer)
            except grpc.RpcError:
                pass  # client cancelled or deadline passed
            with lock:
                state["eof"] = True
            out.put(None)

        threading.Thread(target=reader, daemon=True).start()
        while True:
            item = out.get()
            if item is None:
                with lock:
                    if state["left"] == 0:
                        return
                continue
            with lock:
                state["in_flight"] -= 1
                state["left"] -= 1
                finished = state["eof"] and state["left"] == 0
            if fail_after is not None:
                if fail_after == 0:
                    self.stream_failed = True
                    context.abort(grpc.StatusCode.UNAVAILABLE, f"{self.name} is shutting down")
                fail_after -= 1
            yield item
            if finished:
                return

    def _read_requests(self, request_iterator, lock, state, answer):
            for req in request_iterator:
                with lock:
                    state["in_flight"] += 1
                    state["left"] += 1
                    self.max_in_flight = max(self.max_in_flight, state["in_flight"])
                    self.stream_received += 1
                    self.stream_ids.append(req.request_id)
                threading.Timer(0.02 * _hash01(req.request_id.encode()), answer, (req,)).start()

    # -- PromptRegistry --------------------------------------------------------------------------------------
    def CreatePromptSet(self, request, context):
        self._auth(context)
        self._record("CreatePromptSet", request)
        self._flaky(context)
        if not request.shots:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no shots")
        if any(p.name == request.name for p in self.sets.values()):
            context.abort(grpc.StatusCode.ALREADY_EXISTS, f"prompt set {request.name} exists")
        try:
            model, _ = self._route(request.model, 0)
        except _Err as e:
            _refuse(context, e.code, e.msg, e.reason)
        ps = registry_pb2.PromptSet(id=uuid.uuid4().hex, name=request.name, category=request.category,
                                    shot_count=len(request.shots), version=1, model=model, revision=1)
        # echoes the target as the server does; 0.05 stands for the server default when the field is unset
        ps.calibration.target_fpr = request.target_fpr if request.HasField("target_fpr") else 0.05
        for v in MODELS[model]:  # every loaded version encodes the set (the real server: in the background)
            ps.encodings.add(model=model, model_version=v, bundle_id=f"{model}-v{v}", state="READY", version=1,
                             precision="fp32").calibration.target_fpr = ps.calibration.target_fpr
        self.sets[ps.id] = ps
        self.shots[ps.id] = {1: list(request.shots)}
        self.revisions[ps.id] = [registry_pb2.PromptSetRevision(revision=1, shot_count=len(request.shots),
                                                                reason="created")]
        self.created.append(ps)
        return ps

    def _set(self, context, set_id):
        if set_id not in self.sets:
            _refuse(context, "NOT_FOUND", f"prompt set {set_id} not found", "NOT_FOUND")
        return self.sets[set_id]

    def GetPromptSet(self, request, context):
        self._auth(context)
        return self._set(context, request.id)

    def SetThreshold(self, request, context):
        self._auth(context)
        self._record("SetThreshold", request)
        ps = self._set(context, request.id)
        version = request.model_version or MODELS[ps.model][0]
        enc = next((e for e in ps.encodings if e.model_version == version), None)
        if enc is None:
            _refuse(context, "FAILED_PRECONDITION", f"not encoded by version {version}", "PROMPT_SET_NOT_ENCODED")
        if request.HasField("target_fpr"):
            ps.calibration.target_fpr = request.target_fpr
        enc.calibration.threshold_overridden = request.HasField("threshold")
        enc.calibration.threshold = request.threshold if request.HasField("threshold") else 0.5
        enc.version += 1
        ps.version += 1
        return ps

    def ReencodePromptSet(self, request, context):
        self._auth(context)
        self._record("ReencodePromptSet", request)
        ps = self._set(context, request.id)
        version = request.model_version or MODELS[ps.model][0]
        if version not in MODELS[ps.model]:
            _refuse(context, "NOT_FOUND", f"version {version} is not loaded", "MODEL_VERSION_NOT_LOADED")
        next(e for e in ps.encodings if e.model_version == version).version += 1
        ps.version += 1
        return ps

    def _new_revision(self, ps, shots, reason):
        rev = max(r.revision for r in self.revisions[ps.id]) + 1
        self.shots[ps.id][rev] = shots
        self.revisions[ps.id].append(registry_pb2.PromptSetRevision(revision=rev, shot_count=len(shots), reason=reason))
        ps.revision, ps.shot_count = rev, len(shots)
        ps.version += 1
        return ps

    def AddShots(self, request, context):
        self._auth(context)
        self._record("AddShots", request)
        self._flaky(context)
        with self.lock:
            conflict = self.conflicts > 0
            self.conflicts -= conflict
        if conflict:  # the real server's answer when the set's shots changed while it encoded the new revision
            _refuse(context, "ABORTED", "the set's shots changed meanwhile; retry", "CONCURRENT_CHANGE", 0)
        ps = self._set(context, request.id)
        added = list(request.shots)
        for q in request.query_ids:  # after the uploads, in the order named, as the server appends them
            image = self.queries.get((ps.id, q))
            if image is None:
                _refuse(context, "NOT_FOUND", f"query {q!r} is not kept (any more) on this replica",
                        "QUERY_NOT_RETAINED")
            added.append(image)
        if not added:
            _refuse(context, "INVALID_ARGUMENT", "name images or scored queries to add", "NO_SHOTS")
        if not all(a.startswith(MAGICS) for a in added):
            _refuse(context, "INVALID_ARGUMENT", "a shot is not PNG, JPEG, BMP or TIFF", "UNDECODABLE_IMAGE")
        return self._new_revision(ps, self.shots[ps.id][ps.revision] + added, "shots-added")

    def RemoveShots(self, request, context):
        self._auth(context)
        self._record("RemoveShots", request)
        ps = self._set(context, request.id)
        current = self.shots[ps.id][ps.revision]
        drop = set(request.shots)
        if not drop:
            _refuse(context, "INVALID_ARGUMENT", "name the shots to remove", "NO_SHOTS")
        if any(p < 0 or p >= len(current) for p in drop):
            _refuse(context, "INVALID_ARGUMENT", f"the set has {len(current)} shots", "INVALID_SHOT")
        if len(drop) == len(current):
            _refuse(context, "INVALID_ARGUMENT", "a prompt set keeps at least one shot", "NO_SHOTS")
        return self._new_revision(ps, [s for i, s in enumerate(current) if i not in drop], "shots-removed")

    def ListRevisions(self, request, context):
        self._auth(context)
        self._record("ListRevisions", request)
        self._flaky(context)
        ps = self._set(context, request.id)
        return registry_pb2.ListRevisionsResponse(revisions=self.revisions[ps.id], current=ps.revision)

    def RollbackPromptSet(self, request, context):
        self._auth(context)
        self._record("RollbackPromptSet", request)
        self._flaky(context)
        ps = self._set(context, request.id)
        if request.revision not in self.shots[ps.id]:
            _refuse(context, "NOT_FOUND", f"prompt set has no revision {request.revision}", "REVISION_NOT_FOUND")
        ps.revision, ps.shot_count = request.revision, len(self.shots[ps.id][request.revision])
        ps.version += 1
        return ps

    def ListPromptSets(self, request, context):
        self._auth(context)
        ids = sorted(self.sets)
        start = int(request.page_token or 0)
        n = request.page_size or 100
        page = ids[start:start + n]
        nxt = str(start + n) if start + n < len(ids) else ""
        return registry_pb2.ListPromptSetsResponse(prompt_sets=[self.sets[i] for i in page], next_page_token=nxt)

    def DeletePromptSet(self, request, context):
        self._auth(context)
        if self.sets.pop(request.id, None) is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"prompt set {request.id} not found")
        return registry_pb2.DeletePromptSetResponse()


def start(fake: FakeInctrl):
    """Starts the fake on an ephemeral localhost port; returns (server, "127.0.0.1:port")."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    scoring_pb2_grpc.add_ScorerServicer_to_server(fake, server)
    registry_pb2_grpc.add_PromptRegistryServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"
