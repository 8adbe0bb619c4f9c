"""Soak: 4 streams against registered prompt sets for INCTRL_SOAK_SECONDS (default 600): every request answered
exactly once and the live heap after a full GC flat between the start and the end of the run."""
import collections
import os
import subprocess
import threading
import time

import pytest

from conftest import QUERIES, channel, image, meta, pb, pb_grpc, register

SECONDS = float(os.environ.get("INCTRL_SOAK_SECONDS", "600"))


def heap_after_gc(s) -> float:
    subprocess.run(["jcmd", str(s.proc.pid), "GC.run"], check=True, capture_output=True, timeout=60)
    time.sleep(0.5)
    text = s.http("GET", "/q/metrics", mgmt=True)[1].decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("jvm_memory_used_bytes") and 'area="heap"' in line)


@pytest.mark.slow
def test_soak_four_streams_no_loss_no_duplicates_flat_heap(servers):
    s = servers("-Xmx1g").start()
    sets = [register(s, name=f"soak{i}") for i in range(2)]
    stub = pb_grpc.ScorerStub(channel(s.grpc))
    images = [image(q) for q in QUERIES]
    answers = collections.Counter()
    sent = collections.Counter()
    failures = []
    stop = time.monotonic() + SECONDS
    lock = threading.Lock()

    def stream(n: int) -> None:
        window = threading.Semaphore(16)

        def gen():
            i = 0
            while time.monotonic() < stop:
                window.acquire()
                rid = f"{n}-{i}"
                with lock:
                    sent[rid] += 1
                yield pb.ScoreRequest(request_id=rid, image=images[i % len(images)],
                                      prompt_set_id=sets[n % len(sets)], omit_map=(i % 2 == 0))
                i += 1
        try:
            for r in stub.ScoreStream(gen(), metadata=meta(s.tenant_key), timeout=SECONDS + 300):
                window.release()
                with lock:
                    answers[r.request_id] += 1
                if r.HasField("error"):
                    failures.append((r.request_id, r.error.code, r.error.message))
        except Exception as e:  # noqa: BLE001 - any transport failure fails the soak
            failures.append(("stream", n, repr(e)))

    threads = [threading.Thread(target=stream, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(min(60.0, SECONDS / 5))
    heap_start = heap_after_gc(s)
    for t in threads:
        t.join(SECONDS + 360)
    heap_end = heap_after_gc(s)
    lost = [rid for rid in sent if answers[rid] == 0]
    duplicated = [rid for rid, c in answers.items() if c > 1]
    print(f"soak {SECONDS:.0f} s: sent {sum(sent.values())}, answered {sum(answers.values())}, lost {len(lost)}, "
          f"duplicated {len(duplicated)}, errors {len(failures)}, heap after GC {heap_start / 2**20:.1f} -> "
          f"{heap_end / 2**20:.1f} MiB")
    assert not failures, failures[:5]
    assert not lost and not duplicated
    assert heap_end <= heap_start * 1.25 + (16 << 20), f"heap grew {heap_start:.0f} -> {heap_end:.0f}"
