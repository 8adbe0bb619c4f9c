"""SHA256SUMS of a bundle directory (docs/bundle-format.md, "Checksums").

One line per regular file of the bundle, sorted by path, in the format of coreutils' `sha256sum`:
`<64 lowercase hex>  <path relative to the bundle, '/'-separated>`. The file does not list itself; symbolic links are
neither listed nor followed. The server verifies a bundle against it (every listed file matches, no file is unlisted)
and requires it for bundles synced from object storage.

Every export writes it last (after the manifest, fixtures and LICENSE). A bundle changed by hand afterwards (a file
added, e.g. a reduced-precision variant) needs it written again:

    python -m inctrl_export.checksums BUNDLE_DIR            # (re)write BUNDLE_DIR/SHA256SUMS
    python -m inctrl_export.checksums --check BUNDLE_DIR    # verify; exit 1 naming each problem
    (or: cd BUNDLE_DIR && sha256sum -c SHA256SUMS)
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

FILE_NAME = "SHA256SUMS"
_CHUNK = 1 << 20


class ChecksumError(Exception):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def bundle_files(bundle: str | Path) -> list[str]:
    """Relative '/'-separated paths of the regular files under `bundle` (not SHA256SUMS, no symlinks), sorted."""
    root = Path(bundle)
    out = []
    for dirpath, _dirnames, filenames in os.walk(root):  # os.walk does not descend into symlinked directories
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            if rel == FILE_NAME:
                continue
            if "\n" in rel or "\\" in rel:
                # sha256sum would escape such a name, and the server refuses escaped lines
                raise ChecksumError(f"file name {rel!r} holds a newline or backslash; rename it")
            out.append(rel)
    return sorted(out)


def compute(bundle: str | Path) -> dict[str, str]:
    root = Path(bundle)
    return {rel: sha256_file(root / rel) for rel in bundle_files(root)}


def format_sums(sums: dict[str, str]) -> str:
    return "".join(f"{digest}  {rel}\n" for rel, digest in sorted(sums.items()))


def write(bundle: str | Path, log=None) -> Path:
    """(Re)writes `bundle/SHA256SUMS` for the files now in the bundle; atomic (temporary file + rename)."""
    root = Path(bundle)
    sums = compute(root)
    if "manifest.json" not in sums:
        raise ChecksumError(f"{root} has no manifest.json: not a bundle")
    tmp = root / (FILE_NAME + ".tmp")
    tmp.write_text(format_sums(sums))
    os.replace(tmp, root / FILE_NAME)
    if log:
        log(f"wrote {root / FILE_NAME} ({len(sums)} files)")
    return root / FILE_NAME


def parse(text: str) -> dict[str, str]:
    sums = {}
    for i, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        digest, sep, rel = line[:64], line[64:66], line[66:]
        if len(line) < 67 or sep not in ("  ", " *") or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise ChecksumError(f"{FILE_NAME} line {i}: expected '<64 hex digits>  <relative path>'")
        if rel in sums:
            raise ChecksumError(f"{FILE_NAME} lists {rel!r} twice")
        sums[rel] = digest.lower()
    return sums


def verify(bundle: str | Path) -> list[str]:
    """Problems of `bundle` against its SHA256SUMS (empty: it verifies), in the server's words."""
    root = Path(bundle)
    path = root / FILE_NAME
    if not path.is_file():
        return [f"no {FILE_NAME}"]
    try:
        listed = parse(path.read_text())
    except ChecksumError as e:
        return [str(e)]
    problems = []
    for rel, digest in listed.items():
        p = root / rel
        if rel.startswith("/") or any(s in ("", ".", "..") for s in rel.split("/")):
            problems.append(f"{FILE_NAME} lists {rel!r}, which escapes or is not inside the bundle")
        elif not p.is_file():
            problems.append(f"{FILE_NAME} lists '{rel}' but the file is missing")
        elif sha256_file(p) != digest:
            problems.append(f"checksum mismatch on {rel}")
    problems += [f"file {rel} is not listed in {FILE_NAME}" for rel in bundle_files(root) if rel not in listed]
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m inctrl_export.checksums", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bundle", help="bundle directory (holds manifest.json)")
    p.add_argument("--check", action="store_true", help="verify instead of writing")
    args = p.parse_args(argv)
    root = Path(args.bundle)
    try:
        if args.check:
            problems = verify(root)
            for problem in problems:
                print(f"{root}: {problem}", file=sys.stderr)
            if not problems:
                print(f"{root}: {FILE_NAME} OK ({len(bundle_files(root))} files)")
            return 1 if problems else 0
        write(root, log=print)
        return 0
    except ChecksumError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
