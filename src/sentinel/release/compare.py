"""Compare a published output with its re-run, number by number, under the declared tolerances.

Output schemas grow: a key that only the re-run has is new and ignored; a key the release published
but the re-run lacks is reported as `absent` (that number was not reproduced). Lists of dicts that
carry a `model` key are matched by model, other lists by position.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

from sentinel.release.tolerances import Context, tolerance_for

FAILING = ("mismatch", "absent", "edited after cut", "missing")
# Keys published before intervals were named level-neutrally (`*_ci95` -> `*_ci`, with `ci_level`
# beside them): a release keeps its old names and is compared with the re-run's new ones.
RENAMED = {"kid_ci95": "kid_ci"}
# Before 2026-12 the full unbiased KID was `kid_full` and a leaderboard's `kid` was the subset mean; today
# `kid` is the full estimate and the subset mean `kid_subsets_mean`. A published file with a `kid_full`
# key anywhere is of the old schema: its KID keys are compared with today's keys of the same meaning.
LEGACY_KID = {"kid": "kid_subsets_mean", "kid_std": "kid_subsets_std", "kid_mean": "kid_subsets_mean",
              "kid_full": "kid", "kid_full_ci": "kid_ci", "kid_full_ci95": "kid_ci"}


def current_name(key: str) -> str:
    """Today's name for a key a release published (unchanged for keys that were not renamed)."""
    return RENAMED.get(key, key[: -len("95")] if str(key).endswith("_ci95") else key)


@dataclass(frozen=True)
class Check:
    address: str  # <file>:<dotted key>
    published: Any
    current: Any
    tolerance: str
    status: str  # ok | mismatch | absent | skipped

    @property
    def failed(self) -> bool:
        return self.status in FAILING


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _keyed(items: list) -> dict[str, Any] | None:
    if items and all(isinstance(i, dict) and isinstance(i.get("model"), str) for i in items):
        keyed = {i["model"]: i for i in items}
        return keyed if len(keyed) == len(items) else None
    return None


def _has_key(obj: Any, name: str) -> bool:
    if isinstance(obj, dict):
        return name in obj or any(_has_key(v, name) for v in obj.values())
    return isinstance(obj, list) and any(_has_key(v, name) for v in obj)


def compare_tree(file: str, published: Any, current: Any, ctx: Context, key: str = "",
                 legacy: bool | None = None) -> Iterator[Check]:
    if legacy is None:  # decided once per published file
        legacy = _has_key(published, "kid_full")
    address = f"{file}:{key}"
    tol = tolerance_for(address, ctx)
    if tol.kind == "skip":
        return
    if isinstance(published, dict):
        if not isinstance(current, dict):
            yield Check(address, "{...}", _short(current), "structure", "mismatch")
            return
        names = LEGACY_KID if legacy else {}
        for k, v in published.items():
            child = f"{key}.{k}" if key else str(k)
            if k in names:
                k = names[k]
            elif k not in current and current_name(k) in current:
                k = current_name(k)
            if k not in current:
                if tolerance_for(f"{file}:{child}", ctx).kind != "skip":
                    yield Check(f"{file}:{child}", _short(v), None, "present", "absent")
                continue
            yield from compare_tree(file, v, current[k], ctx, child, legacy)
        return
    if isinstance(published, list):
        yield from _compare_list(file, published, current, ctx, key, tol.kind, legacy)
        return
    yield _compare_leaf(address, published, current, tol)


def _compare_list(file: str, published: list, current: Any, ctx: Context, key: str, kind: str,
                  legacy: bool = False) -> Iterator[Check]:
    address = f"{file}:{key}"
    if not isinstance(current, list):
        yield Check(address, f"[{len(published)} items]", _short(current), "structure", "mismatch")
        return
    if kind == "length" or len(published) != len(current):
        ok = len(published) == len(current)
        yield Check(address + ".length", len(published), len(current), "exact", "ok" if ok else "mismatch")
        if kind == "length":
            return
    pub, cur = _keyed(published), _keyed(current)
    if pub is not None:
        yield from compare_tree(file, pub, cur if cur is not None else {}, ctx, key, legacy)
        return
    for i, (a, b) in enumerate(zip(published, current)):
        yield from compare_tree(file, a, b, ctx, f"{key}.{i}" if key else str(i), legacy)


def _compare_leaf(address: str, published: Any, current: Any, tol) -> Check:
    if _is_number(published) and _is_number(current):
        ok = tol.accepts(float(published), float(current))
        return Check(address, published, current, tol.describe(), "ok" if ok else "mismatch")
    if _is_number(published) and current is None or published is None and _is_number(current):
        return Check(address, published, current, tol.describe(), "mismatch")
    same = published == current or (_is_float_nan(published) and _is_float_nan(current))
    return Check(address, _short(published), _short(current), "exact", "ok" if same else "mismatch")


def _is_float_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _short(x: Any, limit: int = 120) -> Any:
    if isinstance(x, (dict, list)):
        text = repr(x)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    return x
