"""`sentinel workload init <folder>`: your own data from one folder -> a workload the suite can run.

    my-interiors/
      prompts.txt            one prompt per line (blank lines and lines starting with # are skipped)
        or prompts.csv       a `prompt` column; optional `category`, `negative_prompt`, `seed`, `attributes`
      reference/             the reference photos (PNG, JPEG or WebP): directly here for one category,
                             or reference/<category>/ per category

    sentinel workload init my-interiors --name interiors --size 1024 --steps 30 --guidance 5
      -> my-interiors/jobs.csv             the workload CSV (sentinel.workloads.jobs columns)
      -> my-interiors/DATACARD.md          jobs per category, sizes, reference sets with their sha256
      -> conf/workload/interiors.yaml      name, jobs, categories, reference folders

then `sentinel plan workload=interiors` and `dvc exp run -S workload=interiors`. The category is
the workload's name (or `--category`) unless prompts.csv names one per row. Each job's seed is
derived from the workload name and the job id (sha256), so re-running init gives the same file.
Nothing is overwritten unless `--force`; the CSV is read back with the suite's own reader first.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
from pathlib import Path

from sentinel.errors import WorkloadError
from sentinel.provenance import atomic_write_text
from sentinel.workloads.jobs import COLUMNS, load_workload
from sentinel.workloads.references import folder_fingerprint, photo_files

SLUG = re.compile(r"[^a-z0-9_]+")


def slug(text: str) -> str:
    """A category or workload name from a folder name: lowercase snake_case."""
    out = SLUG.sub("_", text.strip().lower()).strip("_")
    if not out or not out[0].isalpha():
        raise WorkloadError(f"{text!r}: cannot make a name from it; pass --name / --category")
    return out


def read_prompts(folder: Path, category: str) -> list[dict]:
    """Rows {prompt, category, negative_prompt, seed?, attributes} from prompts.csv or prompts.txt."""
    csv_path, txt_path = folder / "prompts.csv", folder / "prompts.txt"
    if csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or ()]
            if "prompt" not in header:
                raise WorkloadError(f"{csv_path}:1: prompt: missing column (got {','.join(header) or '(empty)'})")
            reader.fieldnames = header
            rows = [{k: (v or "").strip() for k, v in r.items() if k} for r in reader]
        rows = [r for r in rows if r.get("prompt")]
    elif txt_path.is_file():
        lines = txt_path.read_text(encoding="utf-8-sig").splitlines()
        rows = [{"prompt": line.strip()} for line in lines if line.strip() and not line.lstrip().startswith("#")]
    else:
        raise WorkloadError(f"{folder}: no prompts.txt or prompts.csv")
    if not rows:
        raise WorkloadError(f"{csv_path if csv_path.is_file() else txt_path}: no prompts")
    return [{**r, "category": slug(r["category"]) if r.get("category") else category} for r in rows]


def reference_folders(folder: Path, categories: list[str]) -> dict[str, Path]:
    """category -> its photo folder: reference/<category>/, or reference/ itself for a single category."""
    ref = folder / "reference"
    out, missing = {}, []
    for cat in categories:
        candidates = [ref / cat] + ([ref] if len(categories) == 1 else [])
        found = next((c for c in candidates if photo_files(c)), None)
        if found is None:
            missing.append(f"{cat} (looked in {', '.join(str(c) for c in candidates)})")
        else:
            out[cat] = found
    if missing:
        raise WorkloadError(f"{folder}: no reference photos (PNG, JPEG or WebP) for {'; '.join(missing)}")
    return out


def job_rows(name: str, prompts: list[dict], width: int, height: int, steps: int, guidance: float) -> list[dict]:
    rows = []
    for i, p in enumerate(prompts, 1):
        job_id = f"{p['category'][:12]}-{i:04d}"
        seed = p.get("seed") or str(int(hashlib.sha256(f"{name}:{job_id}".encode()).hexdigest()[:8], 16))
        rows.append({"id": job_id, "category": p["category"], "prompt": p["prompt"],
                     "negative_prompt": p.get("negative_prompt", ""), "seed": seed, "width": width,
                     "height": height, "steps": steps, "guidance": guidance, "attributes": p.get("attributes", "")})
    return rows


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*COLUMNS, "attributes"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def data_card(name: str, jobs: Path, rows: list[dict], refs: dict[str, Path]) -> str:
    counts = {c: sum(r["category"] == c for r in rows) for c in refs}
    lines = [f"# Data card: workload `{name}`", "", f"Built by `sentinel workload init` from `{jobs.parent}`.", "",
             f"- Jobs: {len(rows)} (`{jobs.name}`), {rows[0]['width']}x{rows[0]['height']} px, "
             f"{rows[0]['steps']} steps, guidance {rows[0]['guidance']} (a model's pinned recipe overrides these).",
             "- Seeds: sha256 of `<workload>:<job id>` (first 32 bits), unless prompts.csv gave one.", "",
             "| category | jobs | reference folder | photos | sha256 of the photos |", "|---|---|---|---|---|"]
    for cat, folder in refs.items():
        n, digest = folder_fingerprint(folder)
        lines.append(f"| {cat} | {counts[cat]} | `{folder}` | {n} | `{digest}` |")
    return "\n".join([*lines, "", "Licence and consent of the photos and prompts: state them here before a release.", ""])


def workload_yaml(name: str, jobs: Path, refs: dict[str, Path]) -> str:
    ref = ", ".join(f"{c}: {p.as_posix()}" for c, p in refs.items())
    return (f"# Built by `sentinel workload init` (data card: {jobs.parent.as_posix()}/DATACARD.md).\n"
            f"name: {name}\njobs: {jobs.as_posix()}\ncategories: [{', '.join(refs)}]\nreference: {{{ref}}}\n")


def init(folder: Path, name: str | None, category: str | None, conf_dir: Path, size: tuple[int, int], steps: int,
         guidance: float, force: bool = False) -> dict[str, Path]:
    """Write jobs.csv, DATACARD.md and conf/workload/<name>.yaml; return their paths."""
    if not folder.is_dir():
        raise WorkloadError(f"{folder}: folder not found")
    name = slug(name or folder.resolve().name)
    prompts = read_prompts(folder, slug(category or name))
    categories = list(dict.fromkeys(p["category"] for p in prompts))
    refs = reference_folders(folder, categories)
    out = {"jobs": folder / "jobs.csv", "card": folder / "DATACARD.md", "conf": conf_dir / f"{name}.yaml"}
    existing = [str(p) for p in out.values() if p.exists()]
    if existing and not force:
        raise WorkloadError(f"{', '.join(existing)}: already exist(s); pass --force to overwrite")
    rows = job_rows(name, prompts, *size, steps, guidance)
    atomic_write_text(out["jobs"], to_csv(rows))
    load_workload(out["jobs"], tuple(categories))  # the suite's own reader accepts what was written
    atomic_write_text(out["card"], data_card(name, out["jobs"], rows, refs))
    atomic_write_text(out["conf"], workload_yaml(name, out["jobs"], refs))
    return out


def add_parser(sub) -> None:
    p = sub.add_parser("init", help="build a workload CSV, its data card and conf/workload/<name>.yaml from a folder "
                                    "of prompts (prompts.txt or prompts.csv) and reference photos")
    p.add_argument("folder", type=Path)
    p.add_argument("--name", help="workload name (default: the folder's name)")
    p.add_argument("--category", help="category of prompts without one (default: the workload name)")
    p.add_argument("--size", type=int, nargs=2, default=(1024, 1024), metavar=("WIDTH", "HEIGHT"))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--guidance", type=float, default=5.0)
    p.add_argument("--conf-dir", type=Path, default=None, help="default: conf/workload of this checkout")
    p.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args) -> dict[str, Path]:
    from sentinel.config import CONF_DIR

    return init(args.folder, args.name, args.category, args.conf_dir or CONF_DIR / "workload", tuple(args.size),
                args.steps, args.guidance, args.force)
