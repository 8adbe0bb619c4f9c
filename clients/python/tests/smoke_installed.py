"""Publish check: run by an interpreter that has only the installed package (not src/ on the path); imports it,
checks the type markers shipped, and scores once against the in-process fake server (offline)."""
import os
import sys

import inctrl.v1.scoring_pb2
import inctrl_client as ic
from fake_server import FakeInctrl, fake_png, start

src = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
for mod in (ic, inctrl.v1.scoring_pb2):
    assert not os.path.abspath(mod.__file__).startswith(src), f"{mod.__name__} came from the source tree"
for pkg in ("inctrl_client", "inctrl"):
    marker = os.path.join(os.path.dirname(sys.modules[pkg].__file__), "py.typed")
    assert os.path.exists(marker), f"{pkg} is installed without py.typed"

fake = FakeInctrl()
server, addr = start(fake)
try:
    with ic.connect(addr, "secret", timeout=10) as c:
        r = c.score(fake_png("q"), shots=[fake_png("s1"), fake_png("s2")], category="x")
        assert 0 <= r.score <= 1 and r.bundle_id == "fake", r
        assert c.list_models().default_model == "fake-model"   # the installed stubs are the current ones
        try:
            c.score(b"junk", shots=[fake_png("s1")])
            raise AssertionError("undecodable image was accepted")
        except ic.InvalidArgument:
            pass
    print(f"installed inctrl-client OK: {os.path.dirname(ic.__file__)} score {r.score:.3f}")
finally:
    server.stop(0)
