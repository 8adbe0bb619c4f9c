"""SHA256SUMS of bundles (inctrl_export.checksums): coreutils' format, what verify reports, the runnable module, and
that an export writes it last (after fixtures)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from inctrl_export import checksums

EXPORT_DIR = Path(__file__).resolve().parents[1]


def make_bundle(root: Path) -> Path:
    (root / "fixtures" / "cases").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"format_version": 1}))
    (root / "vision.pt").write_bytes(bytes(range(256)) * 300)
    (root / "fixtures" / "cases" / "a b.npz").write_bytes(b"\x00" * 10)
    (root / "LICENSE").write_text("MIT\n")
    return root


def test_written_file_is_what_sha256sum_writes_and_checks(tmp_path):
    b = make_bundle(tmp_path / "b")
    checksums.write(b)
    files = checksums.bundle_files(b)
    assert files == ["LICENSE", "fixtures/cases/a b.npz", "manifest.json", "vision.pt"]
    coreutils = subprocess.run(["sha256sum", "--", *files], cwd=b, check=True, capture_output=True, text=True).stdout
    assert (b / "SHA256SUMS").read_text() == coreutils
    subprocess.run(["sha256sum", "--check", "--strict", "--quiet", "SHA256SUMS"], cwd=b, check=True)
    assert checksums.verify(b) == []


def test_verify_names_every_problem(tmp_path):
    b = make_bundle(tmp_path / "b")
    checksums.write(b)
    data = bytearray((b / "vision.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte differs
    (b / "vision.pt").write_bytes(bytes(data))
    (b / "LICENSE").unlink()
    (b / "vision.bf16.pt").write_bytes(b"new variant")
    assert checksums.verify(b) == ["SHA256SUMS lists 'LICENSE' but the file is missing",
                                   "checksum mismatch on vision.pt",
                                   "file vision.bf16.pt is not listed in SHA256SUMS"]
    (b / "SHA256SUMS").unlink()
    assert checksums.verify(b) == ["no SHA256SUMS"]


def test_parse_refuses_malformed_lines():
    with pytest.raises(checksums.ChecksumError, match="line 2"):
        checksums.parse("a" * 64 + "  x\n" + "zz  y\n")
    with pytest.raises(checksums.ChecksumError, match="twice"):
        checksums.parse(("a" * 64 + "  x\n") * 2)
    assert checksums.parse("A" * 64 + " *x\n") == {"x": "a" * 64}


def run_module(*args):
    return subprocess.run([sys.executable, "-m", "inctrl_export.checksums", *map(str, args)], cwd=EXPORT_DIR,
                          capture_output=True, text=True)


def test_runnable_module_rewrites_after_a_file_is_added_and_checks(tmp_path):
    b = make_bundle(tmp_path / "b")
    checksums.write(b)
    (b / "vision.int8.pt").write_bytes(b"variant added later by another tool")
    r = run_module("--check", b)
    assert r.returncode == 1 and "file vision.int8.pt is not listed in SHA256SUMS" in r.stderr
    r = run_module(b)
    assert r.returncode == 0 and "5 files" in r.stdout
    r = run_module("--check", b)
    assert r.returncode == 0, r.stderr
    assert "vision.int8.pt" in (b / "SHA256SUMS").read_text()
    r = run_module(tmp_path / "not-a-bundle")
    assert r.returncode == 2 and "no manifest.json" in r.stderr


def test_export_writes_checksums_last(tiny_bundle):
    """The CLI export (bundle + fixtures) ends with a SHA256SUMS that covers every file, fixtures included."""
    assert checksums.verify(tiny_bundle) == []
    listed = checksums.parse((tiny_bundle / "SHA256SUMS").read_text())
    assert {"manifest.json", "vision.pt", "text.pt", "tokenizer.json"} <= set(listed)
    assert any(rel.startswith("fixtures/") for rel in listed)
