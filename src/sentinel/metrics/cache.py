"""Feature cache: in memory, and optionally on disk under `score.cache_dir`.

Rows are keyed by (namespace, key). The namespace names the extractor and everything that changes
its output (network id, weights sha256, resize, layer, device); the key is the image's sha256 (or
the prompt's sha256 for text). Rows are stored losslessly (float32), so a cache hit returns exactly
the bytes a fresh computation stored: the cache can never change an output value.

Writes are batched: `put` keeps a row in memory and queues it; `flush` (extract.py calls it after
each network batch) writes every queued row of a namespace as ONE segment file, atomically (temp
file, one fsync, rename). One fsync per batch instead of one per row (6.35 ms a row measured), and
still crash-safe: a kill leaves either a whole segment or a stray temp file, never a half segment
under a real name; a segment that fails to load (truncated, bad zip CRC, wrong shapes) is ignored
and its rows recomputed, never read as valid.

Blobs (`get_arrays`/`put_arrays`) hold derived data such as reference statistics, keyed by the
content hash of everything that changes them (see compute.reference_features).

Layout:  <cache_dir>/features/<namespace id>/<sha256 of the segment's keys>.npz  (keys, rows)
         <cache_dir>/stats/<blob key>.npz
Counters (`computed`, `disk_hits`, `memory_hits`, `stats_hits`) say what a pass recomputed; they
never go into metrics.json.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np

from sentinel.provenance import atomic_write_bytes

log = logging.getLogger(__name__)


def digest(obj) -> str:
    """sha256 of a JSON-able object (tuples become lists), used for namespace and blob ids."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def segment_bytes(keys: Sequence[str], rows: Sequence[np.ndarray]) -> bytes:
    """One segment: the keys and their rows stacked (float32 as computed), as an uncompressed .npz."""
    buf = io.BytesIO()
    np.savez(buf, keys=np.asarray(list(keys), dtype=str), rows=np.stack([np.ascontiguousarray(r) for r in rows]))
    return buf.getvalue()


def read_segment(path: Path) -> dict[str, np.ndarray] | None:
    """{key: row} of a segment, or None when it is not a whole, consistent segment (logged, ignored)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, rows = z["keys"], z["rows"]
        if keys.ndim != 1 or rows.ndim < 1 or len(keys) != len(rows):
            raise ValueError(f"{len(keys)} keys for {len(rows)} rows")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        log.warning("feature cache: ignoring unreadable segment %s (%s); its rows will be recomputed", path, e)
        return None
    return {str(k): rows[i] for i, k in enumerate(keys)}


class FeatureCache:
    """Feature rows keyed by (namespace, key); on disk too when `cache_dir` is given."""

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._rows: dict[tuple[Hashable, Hashable], np.ndarray] = {}
        self._on_disk: dict[Hashable, dict[str, Path]] = {}  # namespace -> key -> segment not yet read
        self._loaded: dict[Hashable, dict[str, np.ndarray]] = {}  # read from a segment, not yet asked for
        self._pending: dict[Hashable, dict[str, np.ndarray]] = {}  # put but not yet flushed to disk
        self.computed = 0      # rows computed by a network
        self.disk_hits = 0     # rows read from cache_dir
        self.memory_hits = 0   # rows already in memory
        self.stats_hits = 0    # blobs (reference statistics) read instead of recomputed
        self.decoded = 0       # images decoded (set by compute.extract)
        self.segments_written = 0  # flushed segment files (one fsync each)

    def counters(self) -> dict[str, int]:
        return {"computed": self.computed, "disk_hits": self.disk_hits, "memory_hits": self.memory_hits,
                "stats_hits": self.stats_hits, "decoded": self.decoded}

    def _ns_dir(self, namespace: Hashable) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / "features" / digest(namespace)[:32]

    def _index(self, namespace: Hashable) -> dict[str, Path]:
        """key -> segment file for a namespace, from the segments' key lists (scanned once per namespace)."""
        if namespace not in self._on_disk:
            index: dict[str, Path] = {}
            folder = self._ns_dir(namespace)
            for path in sorted(folder.glob("*.npz")) if folder is not None and folder.is_dir() else ():
                try:
                    with np.load(path, allow_pickle=False) as z:
                        keys = z["keys"]
                except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
                    log.warning("feature cache: ignoring unreadable segment %s (%s)", path, e)
                    continue
                for k in keys:
                    index.setdefault(str(k), path)
            self._on_disk[namespace] = index
        return self._on_disk[namespace]

    def _from_disk(self, namespace: Hashable, key: str) -> np.ndarray | None:
        """The row from its segment; the segment's other rows wait in `_loaded` (a batch is usually
        needed together). A segment that does not load is dropped from the index: recomputed."""
        loaded = self._loaded.setdefault(namespace, {})
        if key not in loaded:
            path = self._index(namespace).get(key)
            if path is None:
                return None
            rows = read_segment(path) or {}
            index = self._index(namespace)
            for k in [k for k, p in index.items() if p == path]:
                del index[k]
                if k in rows and (namespace, k) not in self._rows:
                    loaded[k] = rows[k]
        return loaded.pop(key, None)

    def get(self, namespace: Hashable, key: str) -> np.ndarray | None:
        row = self._rows.get((namespace, key))
        if row is not None:
            self.memory_hits += 1
            return row
        if self.cache_dir is None or (row := self._from_disk(namespace, key)) is None:
            return None
        self._rows[(namespace, key)] = row
        self.disk_hits += 1
        return row

    def put(self, namespace: Hashable, key: str, row: np.ndarray) -> None:
        """Keep `row` in memory and queue it for the next `flush` (nothing is written before that)."""
        self._rows[(namespace, key)] = row
        self.computed += 1
        if self.cache_dir is not None:
            self._pending.setdefault(namespace, {})[key] = row

    def flush(self) -> None:
        """Write each namespace's queued rows as one segment: one atomic write (one fsync) per namespace."""
        for namespace, rows in list(self._pending.items()):
            if rows:
                keys = sorted(rows)
                folder = self._ns_dir(namespace)
                atomic_write_bytes(folder / f"{digest(keys)[:40]}.npz", segment_bytes(keys, [rows[k] for k in keys]))
                self.segments_written += 1
            del self._pending[namespace]

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
            self.flush()
        return self.stack(namespace, keys)

    # ---- blobs: reference statistics -----------------------------------------------------------
    def _blob_path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / "stats" / f"{key}.npz"

    def get_arrays(self, key: str) -> dict[str, np.ndarray] | None:
        blob = self._rows.get(("blob", key))
        if blob is None and (path := self._blob_path(key)) is not None and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    blob = {name: z[name] for name in z.files}
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
                log.warning("feature cache: ignoring unreadable blob %s (%s); recomputing it", path, e)
                return None
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
