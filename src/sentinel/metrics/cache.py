"""Feature cache: in memory, and optionally on disk under `score.cache_dir`.

Rows are keyed by (namespace, key). The namespace names the extractor and everything that changes
its output (network id, weights sha256, resize, layer, device); the key is the image's sha256 (or
the prompt's sha256 for text). Rows are stored losslessly (float32 `.npy`), so a cache hit returns
exactly the bytes a fresh computation stored: the cache can never change an output value.

Blobs (`get_arrays`/`put_arrays`) hold derived data such as reference statistics, keyed by the
content hash of everything that changes them (see compute.reference_features).

Layout:  <cache_dir>/features/<namespace id>/<key[:2]>/<key>.npy
         <cache_dir>/stats/<blob key>.npz
Counters (`computed`, `disk_hits`, `memory_hits`, `stats_hits`) say what a pass recomputed; they
never go into metrics.json.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np

from sentinel.provenance import atomic_write_bytes


def digest(obj) -> str:
    """sha256 of a JSON-able object (tuples become lists), used for namespace and blob ids."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


class FeatureCache:
    """Feature rows keyed by (namespace, key); on disk too when `cache_dir` is given."""

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._rows: dict[tuple[Hashable, Hashable], np.ndarray] = {}
        self.computed = 0      # rows computed by a network
        self.disk_hits = 0     # rows read from cache_dir
        self.memory_hits = 0   # rows already in memory
        self.stats_hits = 0    # blobs (reference statistics) read instead of recomputed
        self.decoded = 0       # images decoded (set by compute.extract)

    def counters(self) -> dict[str, int]:
        return {"computed": self.computed, "disk_hits": self.disk_hits, "memory_hits": self.memory_hits,
                "stats_hits": self.stats_hits, "decoded": self.decoded}

    def _row_path(self, namespace: Hashable, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / "features" / digest(namespace)[:32] / key[:2] / f"{key}.npy"

    def get(self, namespace: Hashable, key: str) -> np.ndarray | None:
        row = self._rows.get((namespace, key))
        if row is not None:
            self.memory_hits += 1
            return row
        path = self._row_path(namespace, key)
        if path is not None and path.is_file():
            row = np.load(path, allow_pickle=False)
            self._rows[(namespace, key)] = row
            self.disk_hits += 1
            return row
        return None

    def put(self, namespace: Hashable, key: str, row: np.ndarray) -> None:
        self._rows[(namespace, key)] = row
        self.computed += 1
        path = self._row_path(namespace, key)
        if path is not None:
            atomic_write_bytes(path, _npy_bytes(row))

    def missing(self, namespace: Hashable, keys: Sequence[str]) -> list[str]:
        """Distinct keys (in first-seen order) with no row in memory or on disk."""
        out: dict[str, None] = {}
        for key in keys:
            if key not in out and self.get(namespace, key) is None:
                out[key] = None
        return list(out)

    def stack(self, namespace: Hashable, keys: Sequence[str]) -> np.ndarray:
        rows = [self._rows[(namespace, k)] for k in keys]
        return np.stack(rows) if rows else np.zeros((0, 0), np.float32)

    def rows(self, namespace: Hashable, keys: Sequence[str],
             compute: Callable[[list[int]], np.ndarray]) -> np.ndarray:
        """Rows for `keys`; `compute(indices)` runs once, for the first index of each missing key."""
        missing = set(self.missing(namespace, keys))
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key in missing:
                first.setdefault(key, i)
        if first:
            for key, row in zip(first, compute(list(first.values())), strict=True):
                self.put(namespace, key, row)
        return self.stack(namespace, keys)

    # ---- blobs: reference statistics -----------------------------------------------------------
    def _blob_path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / "stats" / f"{key}.npz"

    def get_arrays(self, key: str) -> dict[str, np.ndarray] | None:
        blob = self._rows.get(("blob", key))
        if blob is None and (path := self._blob_path(key)) is not None and path.is_file():
            with np.load(path, allow_pickle=False) as z:
                blob = {name: z[name] for name in z.files}
            self._rows[("blob", key)] = blob
        if blob is not None:
            self.stats_hits += 1
        return blob

    def put_arrays(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        self._rows[("blob", key)] = arrays
        if (path := self._blob_path(key)) is not None:
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            atomic_write_bytes(path, buf.getvalue())
