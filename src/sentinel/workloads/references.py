"""Where each category's reference photos live: the pinned set, or a folder the config names.

    workload:
      reference: {corporate_headshot: /data/my-headshots}   # any category left out: <paths.data>/reference/<category>

`dvc exp run -S 'workload.reference.corporate_headshot=/data/my-headshots'` points one category at a
user's own folder of PNGs without a code change. The pinned default (data.dvc) stays untouched.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sentinel.errors import ReferenceSetError  # noqa: F401 (re-exported: importable here as before)


def check_reference(reference: Mapping[str, str], categories: tuple[str, ...]) -> None:
    unknown = sorted(set(reference) - set(categories))
    if unknown:
        raise ReferenceSetError(f"workload.reference.{unknown[0]}: not a workload category "
                             f"(valid: {', '.join(categories)})")


def reference_dir(data_dir: str | Path, category: str, reference: Mapping[str, str] | None = None) -> Path:
    """The folder of `category`'s reference PNGs."""
    reference = reference or {}
    return Path(reference[category]) if category in reference else Path(data_dir) / "reference" / category


def reference_images(data_dir: str | Path, category: str, reference: Mapping[str, str] | None = None) -> list[Path]:
    """Sorted PNGs of `category`'s reference folder; an empty or missing folder is an error naming it and the key."""
    folder = reference_dir(data_dir, category, reference)
    files = sorted(folder.glob("*.png"))
    if not files:
        where = f"workload.reference.{category}" if reference and category in reference else "data.dvc"
        hint = ("put PNG files there or fix the path" if where != "data.dvc" else
                "run `dvc pull data.dvc` (or `python -m sentinel.workloads.photos prepare --out data` to rebuild them)")
        raise ReferenceSetError(f"{folder}: no reference photos for {category} (from {where}); {hint}")
    return files
