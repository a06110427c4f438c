"""Published garment-person pair lists, pinned by sha256, so "the test pairs" means one file.

Reproductions of try-on papers disagree partly because the pair lists are unclear (which person
with which garment, paired or unpaired). A pair list here is a CSV with the header `person,garment`
and one pair per row (file names as the dataset publishes them). A manifest (JSON) beside the lists
names each list with its protocol, dataset, source and row count, and its sha256:

    {"format": "sentinel-tryon-pairs-v1",
     "lists": [{"file": "vitonhd-test-unpaired.csv", "protocol": "unpaired", "dataset": "VITON-HD",
                "source": "<where it was published, with its commit>", "rows": 2032, "sha256": "<hex>"}]}

`verify_manifest` checks every listed file before any work starts and names the first that differs;
`manifest_entry` computes the entry for a new list (its hash is of the file as committed, so a
converted list records its own hash, and `source` says what it was converted from).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from sentinel.errors import SentinelError
from sentinel.provenance import sha256_file, write_json

FORMAT = "sentinel-tryon-pairs-v1"
HEADER = ("person", "garment")
PROTOCOLS = ("paired", "unpaired")
ENTRY_KEYS = ("file", "protocol", "dataset", "source", "rows", "sha256")


class PairListError(SentinelError, ValueError):
    """A pair list or its manifest is missing, malformed, or differs from its pinned hash."""


@dataclass(frozen=True)
class PairList:
    path: Path
    protocol: str
    dataset: str
    pairs: list[tuple[str, str]]


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """The (person, garment) rows of a pair-list CSV; a bad row fails with `<file>:<line>: ...`."""
    path = Path(path)
    if not path.is_file():
        raise PairListError(f"{path}: pair list not found")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, strict=True))
    if not rows or tuple(rows[0]) != HEADER:
        got = ",".join(rows[0]) if rows else "(empty)"
        raise PairListError(f"{path}:1: header must be {','.join(HEADER)}; got {got}")
    pairs = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not all(c.strip() for c in row):
            raise PairListError(f"{path}:{line}: expected two non-empty columns person,garment; got {row!r}")
        pairs.append((row[0].strip(), row[1].strip()))
    if not pairs:
        raise PairListError(f"{path}: no pairs")
    return pairs


def manifest_entry(path: str | Path, protocol: str, dataset: str, source: str, manifest_dir: str | Path) -> dict:
    """The manifest entry for the list at `path` (its file name relative to `manifest_dir`)."""
    if protocol not in PROTOCOLS:
        raise PairListError(f"protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    path, manifest_dir = Path(path), Path(manifest_dir)
    if not path.resolve().is_relative_to(manifest_dir.resolve()):
        raise PairListError(f"{path}: a pair list must lie under its manifest's folder {manifest_dir}")
    return {"file": path.resolve().relative_to(manifest_dir.resolve()).as_posix(), "protocol": protocol,
            "dataset": dataset, "source": source, "rows": len(read_pairs(path)), "sha256": sha256_file(path)}


def write_manifest(path: str | Path, entries: list[dict]) -> None:
    write_json(path, {"format": FORMAT, "lists": sorted(entries, key=lambda e: e["file"])})


def _entries(manifest: Path) -> list[dict]:
    if not manifest.is_file():
        raise PairListError(f"{manifest}: pair-list manifest not found")
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise PairListError(f"{manifest}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("lists"), list):
        raise PairListError(f"{manifest}: expected {{\"format\": \"{FORMAT}\", \"lists\": [...]}}")
    for i, e in enumerate(data["lists"]):
        if not isinstance(e, dict) or set(e) != set(ENTRY_KEYS):
            raise PairListError(f"{manifest}: lists[{i}]: keys must be {', '.join(ENTRY_KEYS)}")
        if e["protocol"] not in PROTOCOLS:
            raise PairListError(f"{manifest}: lists[{i}]: protocol {e['protocol']!r} is not one of "
                                f"{', '.join(PROTOCOLS)}")
    return data["lists"]


def verify_manifest(manifest: str | Path) -> list[PairList]:
    """Every list of the manifest, each checked against its sha256 and row count (first mismatch raises)."""
    manifest = Path(manifest)
    out = []
    for e in _entries(manifest):
        path = manifest.parent / e["file"]
        if not path.is_file():
            raise PairListError(f"{path}: pair list named in {manifest} not found")
        actual = sha256_file(path)
        if actual != e["sha256"]:
            raise PairListError(f"{path}: sha256 {actual} differs from {e['sha256']} pinned in {manifest}; "
                                "the pair list was changed (restore it, or publish a new list under a new name)")
        pairs = read_pairs(path)
        if len(pairs) != e["rows"]:
            raise PairListError(f"{path}: {len(pairs)} pairs, {manifest} says {e['rows']}")
        out.append(PairList(path=path, protocol=e["protocol"], dataset=e["dataset"], pairs=pairs))
    return out
