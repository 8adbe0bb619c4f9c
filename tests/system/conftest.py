"""System tests: the packaged server (server/target/quarkus-app) started as real processes, driven over gRPC/REST.

What only whole processes can show lives here: SIGTERM drain, kill -9 durability, a database outage, the
unprivileged read-only runtime contract, several replicas on one PostgreSQL. Run by scripts/test.sh after the
Maven build; `pytest tests/system -m "not slow"` skips the long tier.
"""
from __future__ import annotations

import importlib
import importlib.resources as ir
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "server" / "target" / "quarkus-app"
TINY = ROOT / "build" / "assets" / "tiny"
RESIDUAL_HEADS = ROOT / "build" / "assets" / "residual-heads-tiny"
DATA = Path(os.environ.get("INCTRL_DATA_DIR", ROOT.parent / "shared" / "data"))
PG_URL = os.environ.get("INCTRL_TEST_PG_URL", "jdbc:postgresql://localhost:5432/inctrl")
DJL_CACHE = Path(os.environ.get("DJL_CACHE_DIR", ROOT / ".djl-cache"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stubs():
    from grpc_tools import protoc
    out = Path(tempfile.mkdtemp(prefix="inctrl-sys-stubs-"))
    proto_dir = ROOT / "proto" / "src" / "main" / "proto"
    protos = sorted(str(p.relative_to(proto_dir)) for p in proto_dir.rglob("*.proto"))
    rc = protoc.main(["protoc", f"-I{proto_dir}", f"-I{ir.files('grpc_tools') / '_proto'}",
                      f"--python_out={out}", f"--grpc_python_out={out}", *protos])
    assert rc == 0, "protoc failed"
    # regular packages, so these stubs win over any other `inctrl` package on the path (e.g. the Python client's)
    for pkg in (out / "inctrl", out / "inctrl" / "v1"):
        (pkg / "__init__.py").touch()
    sys.path.insert(0, str(out))
    return {n: importlib.import_module(f"inctrl.v1.{n}") for n in
            ("scoring_pb2", "scoring_pb2_grpc", "registry_pb2", "registry_pb2_grpc")}


STUBS = _stubs()
pb = STUBS["scoring_pb2"]
pb_grpc = STUBS["scoring_pb2_grpc"]
reg = STUBS["registry_pb2"]
reg_grpc = STUBS["registry_pb2_grpc"]


def image(rel: str) -> bytes:
    return (DATA / rel).read_bytes()


SHOTS = [f"elpv/mono/shots/{p.name}" for p in sorted((DATA / "elpv/mono/shots").iterdir())][:4]
QUERIES = [f"elpv/mono/test/{d}/{p.name}" for d in ("good", "defective")
           for p in sorted((DATA / "elpv/mono/test" / d).iterdir())[:10]]


@dataclass
class Server:
    """One server process. Ports are random; `grpc` is host:port for channels."""
    log: Path
    data_dir: Path
    env: dict
    args: list
    admin_key: str = "sys-admin-key"
    tenant_key: str = "sys-tenant-key"
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    mgmt_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    user: tuple | None = None   # (uid, gid) to run as
    app: Path = APP

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, wait: bool = True, timeout: float | None = None) -> Server:
        cmd = ["java", "-XX:+ExitOnOutOfMemoryError",
               f"-Dquarkus.http.port={self.http_port}", "-Dquarkus.http.host=127.0.0.1",
               f"-Dquarkus.grpc.server.port={self.grpc_port}", "-Dquarkus.grpc.server.host=127.0.0.1",
               f"-Dquarkus.management.port={self.mgmt_port}", "-Dquarkus.management.host=127.0.0.1",
               f"-Dinctrl.registry.data-dir={self.data_dir}",
               f"-Dinctrl.security.admin-key={self.admin_key}",
               f"-Dinctrl.security.bootstrap-tenant-key={self.tenant_key}",
               *self.args, "-jar", str(self.app / "quarkus-run.jar")]
        env = {**os.environ, "DJL_OFFLINE": "true", "DJL_CACHE_DIR": str(DJL_CACHE), **self.env}
        extra = {}
        if self.user:
            extra = dict(user=self.user[0], group=self.user[1], extra_groups=[])
        self.proc = subprocess.Popen(cmd, env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     cwd=self.env.get("CWD", str(ROOT)), **extra)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float | None = None, stall: float = 180) -> None:
        """Waits until the server is ready. There is no fixed deadline (a loaded machine makes a start slower, not
        stuck): it fails when the process exits, or when it makes no progress, i.e. uses no CPU time and writes no
        log line, for `stall` seconds. `timeout`, when given, caps the wait as well."""
        start = last_progress = time.monotonic()
        last_mark = None
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            if self.ready():
                return
            now = time.monotonic()
            mark = (self.cpu_ticks(), self.log.stat().st_size if self.log.exists() else 0)
            if mark != last_mark:
                last_mark, last_progress = mark, now
            elif now - last_progress > stall:
                raise AssertionError(f"server made no progress for {stall:.0f} s and is not ready:\n{self.tail()}")
            if timeout is not None and now - start > timeout:
                raise AssertionError(f"server not ready after {timeout} s:\n{self.tail()}")
            time.sleep(0.2)

    def cpu_ticks(self) -> int:
        """User + system CPU time of the process (clock ticks), from /proc: 0 once it is gone."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return 0

    def ready(self) -> bool:
        return self.http("GET", "/q/health/ready", mgmt=True)[0] == 200

    def http(self, method: str, path: str, body=None, key: str | None = None, mgmt: bool = False,
             timeout: float = 30):
        port = self.mgmt_port if mgmt else self.http_port
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if key:
            req.add_header("X-API-Key", key)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw and "json" in r.headers.get("Content-Type", "") else raw)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return 0, None

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)


@pytest.fixture
def servers(tmp_path):
    """Factory of servers on the tiny InCTRL bundle; every one is stopped at the end of the test."""
    started: list[Server] = []

    def make(*args: str, env: dict | None = None, data_dir: Path | None = None, name: str | None = None,
             bundle: Path = TINY, **kw) -> Server:
        n = name or f"s{len(started)}"
        s = Server(log=tmp_path / f"{n}.log", data_dir=data_dir or (tmp_path / f"{n}-data"), env=env or {},
                   args=[f"-Dinctrl.model.bundle={bundle}", *args], **kw)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop(signal.SIGKILL)


def pg_env(jdbc_url: str) -> dict:
    return {"QUARKUS_DATASOURCE_ACTIVE": "false", "QUARKUS_DATASOURCE_PG_ACTIVE": "true",
            "QUARKUS_DATASOURCE_PG_JDBC_URL": jdbc_url, "QUARKUS_DATASOURCE_PG_USERNAME": "inctrl",
            "QUARKUS_DATASOURCE_PG_PASSWORD": "inctrl"}


@pytest.fixture
def pg_database():
    """A fresh PostgreSQL database (dropped afterwards); yields its JDBC URL."""
    import uuid
    name = "sys_" + uuid.uuid4().hex[:12]
    base = PG_URL.rsplit("/", 1)[0]
    psql = ["runuser", "-u", "postgres", "--", "psql", "-p", base.rsplit(":", 1)[1], "-qtA", "-c"]
    subprocess.run([*psql, f"CREATE DATABASE {name} OWNER inctrl"], check=True, capture_output=True)
    yield f"{base}/{name}"
    subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)


def channel(target: str, **opts):
    import grpc
    options = {"grpc.max_send_message_length": 128 << 20, "grpc.max_receive_message_length": 128 << 20, **opts}
    return grpc.insecure_channel(target, options=list(options.items()))


def _varint(buf: bytes, i: int):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def _fields(buf: bytes):
    """(field number, value) pairs of a protobuf message: enough wire format to read google.rpc.Status details
    without googleapis' generated modules (not in build/venv)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        wire = key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            value, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wire}")
        yield key >> 3, value


def error_details(err) -> dict:
    """The server's google.rpc details of a failed call: {"reason": ErrorInfo.reason, "retry_ms": RetryInfo delay}
    (absent keys when not sent). Only the server puts them there: a refusal by the client library carries none."""
    raw = dict(err.trailing_metadata() or ()).get("grpc-status-details-bin")
    out = {}
    for number, detail in _fields(raw or b""):
        if number != 3:
            continue
        any_ = dict(_fields(detail))
        type_url, value = any_.get(1, b"").decode(), any_.get(2, b"")
        if type_url.endswith("/google.rpc.ErrorInfo"):
            out["reason"] = dict(_fields(value)).get(1, b"").decode()
        elif type_url.endswith("/google.rpc.RetryInfo"):
            delay = dict(_fields(dict(_fields(value)).get(1, b"")))
            out["retry_ms"] = delay.get(1, 0) * 1000 + delay.get(2, 0) // 1_000_000
    return out


def meta(key: str):
    return (("x-api-key", key),)


def register(server: Server, name: str = "mono", key: str | None = None, model: str = "") -> str:
    stub = reg_grpc.PromptRegistryStub(channel(server.grpc))
    ps = stub.CreatePromptSet(reg.CreatePromptSetRequest(name=name, category="mono",
                                                         shots=[image(s) for s in SHOTS], model=model),
                              metadata=meta(key or server.tenant_key), timeout=120)
    return ps.id


def bundle_copy(bundle: Path, dst: Path, suffix: str | None = None) -> Path:
    """A copy of a bundle without its test fixtures; a bundle_id suffix makes it another bundle (another encoder)
    with the same weights. Its SHA256SUMS is (re)written for what the copy holds, as the exporter writes it."""
    import hashlib
    import shutil
    shutil.copytree(bundle, dst, ignore=shutil.ignore_patterns("fixtures", ".stamp"))
    if suffix:
        manifest = json.loads((dst / "manifest.json").read_text())
        manifest["bundle_id"] += suffix
        (dst / "manifest.json").write_text(json.dumps(manifest, indent=2))
    sums = dst / "SHA256SUMS"
    files = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file() and p != sums)
    sums.write_text("".join(f"{hashlib.sha256((dst / f).read_bytes()).hexdigest()}  {f}\n" for f in files))
    return dst


def model_repository(root: Path, layout: dict, configs: dict | None = None) -> Path:
    """A model repository <root>/<model>/<version>/ from copies of bundles: layout maps a model name to
    {version: (bundle dir, bundle_id suffix or None)} (see bundle_copy); configs maps a model name to the content of
    its config.json (e.g. {"version_policy": {"all": {}}})."""
    for model, versions in layout.items():
        for version, (bundle, suffix) in versions.items():
            bundle_copy(bundle, root / model / str(version), suffix)
    for model, config in (configs or {}).items():
        (root / model / "config.json").write_text(json.dumps(config))
    return root


def multipart(fields: dict) -> tuple[bytes, str]:
    """A multipart/form-data body: values are str (text parts) or bytes (file parts). Returns (body, content type)."""
    import uuid
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in fields.items():
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, bytes):
            out += (f'Content-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n").encode()
            out += value
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def post_form(server: Server, path: str, fields: dict, key: str) -> tuple[int, object]:
    body, content_type = multipart(fields)
    req = urllib.request.Request(f"http://127.0.0.1:{server.http_port}{path}", data=body, method="POST",
                                 headers={"Content-Type": content_type, "X-API-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
