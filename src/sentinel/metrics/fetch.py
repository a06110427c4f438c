"""Fetch and verify the weights files a suite needs, each pinned by sha256.

A manifest (YAML) lists the files:

    files:
      - name: inception-2015-12-05.pt       # file name under --dir
        url: https://.../weights-inception-2015-12-05-6726825d.pth
        sha256: <64 hex digits>

    sentinel fetch --manifest weights.yaml --dir weights/          # download what is missing or wrong
    sentinel fetch verify --manifest weights.yaml --dir weights/   # check what is there

`fetch` downloads only files that are missing or whose content differs, streams each into a temp
file beside the target while hashing it, and renames it into place only when the sha256 matches; a
wrong hash is an error naming the file, the URL and both hashes, and leaves nothing behind.
`verify` checks what is there. Both exit non-zero on any problem. Checkpoints are read with
`torch.load(weights_only=True)` (`load_state_dict`), which refuses pickled code.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from sentinel.errors import WeightsError  # noqa: F401 (re-exported: importable here as before)
from sentinel.provenance import sha256_file


@dataclass(frozen=True)
class WeightsEntry:
    name: str
    url: str
    sha256: str


def read_manifest(path: str | Path) -> list[WeightsEntry]:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights manifest not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not files:
        raise WeightsError(f"{path}: expected a non-empty `files:` list of {{name, url, sha256}}")
    out = []
    for i, item in enumerate(files):
        where = f"{path}: files[{i}]"
        if not isinstance(item, dict) or set(item) != {"name", "url", "sha256"}:
            raise WeightsError(f"{where}: expected exactly the keys name, url, sha256, got {item!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", str(item["sha256"])):
            raise WeightsError(f"{where} ({item['name']}): sha256 must be 64 lowercase hex digits")
        if Path(item["name"]).name != item["name"]:
            raise WeightsError(f"{where}: name {item['name']!r} must be a plain file name")
        out.append(WeightsEntry(str(item["name"]), str(item["url"]), str(item["sha256"])))
    return out


def _download(entry: WeightsEntry, target: Path, timeout_s: float) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(entry.url, timeout=timeout_s) as resp:
            while block := resp.read(1 << 20):
                h.update(block)
                out.write(block)
        if h.hexdigest() != entry.sha256:
            raise WeightsError(f"{entry.name}: sha256 mismatch for the download from {entry.url}: "
                               f"expected {entry.sha256}, got {h.hexdigest()}; nothing was written")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch(entries: list[WeightsEntry], folder: str | Path, timeout_s: float = 60.0) -> list[tuple[str, str]]:
    """Download what is missing or wrong; [(name, "present" | "downloaded")]. Raises on the first bad hash."""
    results = []
    for entry in entries:
        target = Path(folder) / entry.name
        if target.is_file() and sha256_file(target) == entry.sha256:
            results.append((entry.name, "present"))
            continue
        try:
            _download(entry, target, timeout_s)
        except OSError as err:
            raise WeightsError(f"{entry.name}: download from {entry.url} failed: {err}") from err
        results.append((entry.name, "downloaded"))
    return results


def verify(entries: list[WeightsEntry], folder: str | Path) -> list[str]:
    """Problems found (empty when every file is present with its pinned sha256)."""
    problems = []
    for entry in entries:
        target = Path(folder) / entry.name
        if not target.is_file():
            problems.append(f"{target}: missing (run `sentinel fetch --manifest <manifest> --dir {folder}`)")
        elif (got := sha256_file(target)) != entry.sha256:
            problems.append(f"{target}: sha256 {got} differs from the pinned {entry.sha256}")
    return problems


def load_state_dict(path: str | Path, sha256: str | None = None) -> dict:
    """A checkpoint's tensors via torch.load(weights_only=True), after checking the pinned sha256."""
    import torch

    if sha256 is not None and (got := sha256_file(path)) != sha256:
        raise WeightsError(f"{path}: sha256 {got} differs from the pinned {sha256}")
    return torch.load(path, map_location="cpu", weights_only=True)


def main(argv: list[str] | None = None, prog: str = "sentinel fetch") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", default="fetch", choices=("fetch", "verify"),
                        help="fetch (default): download what is missing or wrong; verify: only check")
    parser.add_argument("--manifest", required=True, help="YAML with files: [{name, url, sha256}]")
    parser.add_argument("--dir", required=True, help="folder for the weights files, e.g. weights/")
    parser.add_argument("--timeout-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    try:
        entries = read_manifest(args.manifest)
        if args.command == "fetch":
            for name, action in fetch(entries, args.dir, args.timeout_s):
                print(f"{name}: {action}")  # the per-file result is this command's output
            return 0
        problems = verify(entries, args.dir)
    except WeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if not problems:
        print(f"{len(entries)} weights files verified in {args.dir}")
    return 1 if problems else 0


if __name__ == "__main__":
    from sentinel.console import run_main

    sys.exit(run_main("fetch", main))
