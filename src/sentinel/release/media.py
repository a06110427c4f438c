"""The media families in a release (video: issue 18, try-on: issue 19): what is frozen, how verify re-runs it.

A family is in a release when the release's params name at least one of its models (`video.models`,
`tryon.models`); a release without media models is cut and verified exactly as before. Its files go
under `releases/<id>/<family>/`, mirroring the family's `paths`:

    <family>/leaderboard.json  metrics.json  report.md  [report.html]
    <family>/scores/<model>.json   records/<model>.jsonl   timings/<model>.jsonl
    <family>/latency/<model>/latency.json   [latency/<model>/requests.jsonl]

each hashed in manifest.json like the image files. The clips (video) and results (try-on) are too big
to freeze: manifest.json's `media.<family>` block records each model's output folder by its DVC md5
(the `outs` of `<family>_generate@<model>` in dvc.lock), as `images` does for the still images, so
verify fetches exactly those bytes.

verify --rescore: the fetched outputs, the frozen records, timings and latency.json are the inputs;
the family's scoring and report stages re-run. --regenerate: every stage of the family re-runs.
Checks are addressed `<family>.<file>:<key>`: `video.scores:tiny-wan.fvd`,
`video.leaderboard:models.tiny-wan.latency_p95_s`, `video.clips:tiny-wan/vs-001.png`,
`tryon.records:tiny-tryon/to-001.sha256`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sentinel.provenance import read_jsonl, sha256_file
from sentinel.release.layout import ReleaseError, load_json, lock_out


@dataclass(frozen=True)
class Family:
    name: str
    outputs: str  # the `paths` key of the per-model output folders (the DVC outs of <name>_generate@<m>)
    file_key: str  # the record field naming an output file, relative to that folder
    rescore: tuple[tuple[str, bool], ...]  # (cli stage, once per model?) in order
    regenerate: tuple[tuple[str, bool], ...]


FAMILIES: dict[str, Family] = {
    "video": Family("video", "clips", "clip",
                    rescore=(("video-reference", False), ("video-score", True), ("video-report", False)),
                    regenerate=(("video-reference", False), ("video-generate", True), ("video-score", True),
                                ("video-latency", True), ("video-report", False))),
    "tryon": Family("tryon", "results", "result",
                    rescore=(("tryon-score", True), ("tryon-report", False)),
                    regenerate=(("tryon-generate", True), ("tryon-score", True), ("tryon-latency", True),
                                ("tryon-report", False))),
}
# release file (under <family>/) -> (the family's `paths` key, required)
FROZEN_ONCE: dict[str, tuple[str, bool]] = {
    "leaderboard.json": ("leaderboard", True),
    "metrics.json": ("metrics", False),
    "report.md": ("report", True),
    "report.html": ("report_html", False),
}
# per model: (the `paths` key, the file under it, required); frozen as <family>/<key>/<file>
FROZEN_PER_MODEL: tuple[tuple[str, str, bool], ...] = (
    ("scores", "{m}.json", True),
    ("records", "{m}.jsonl", True),
    ("timings", "{m}.jsonl", True),
    ("latency", "{m}/latency.json", True),
    ("latency", "{m}/requests.jsonl", False),
)
# In rescore mode these paths point at the release's frozen copies instead of being re-made.
PUBLISHED_INPUTS = ("records", "timings", "latency")


def families(params: dict) -> list[str]:
    """The media families the params name models for, in a fixed order."""
    return [f for f in FAMILIES if isinstance(params.get(f), dict) and params[f].get("models")]


def models(params: dict, family: str) -> list[str]:
    return list(params[family]["models"])


def _paths(params: dict, family: str) -> dict:
    paths = params[family].get("paths")
    if not isinstance(paths, dict):
        raise ReleaseError(f"params.yaml: {family}.paths: missing (the family names models but not where its "
                           "outputs are)")
    return paths


def sources(root: Path, params: dict) -> dict[str, Path]:
    """{release-relative name: workspace file} of every media file a cut freezes."""
    files: dict[str, Path] = {}
    for family in families(params):
        paths = _paths(params, family)
        wanted = [(name, key, paths.get(key), required) for name, (key, required) in FROZEN_ONCE.items()]
        for m in models(params, family):
            for key, rel, required in FROZEN_PER_MODEL:
                rel = rel.format(m=m)
                wanted.append((f"{key}/{rel}", key, f"{paths[key]}/{rel}" if key in paths else None, required))
        for name, key, src, required in wanted:
            if src is not None and (root / src).is_file():
                files[f"{family}/{name}"] = root / src
            elif required:
                raise ReleaseError(f"refusing to cut a release: {src or f'{family}.paths.{key}'} (frozen as "
                                   f"{family}/{name}) does not exist; run `dvc repro` first")
    return files


def read_records(records_dir: Path, family: str, names: list[str]) -> list[dict]:
    """Every model's records (`<records_dir>/<model>.jsonl`), model by model."""
    rows: list[dict] = []
    for m in names:
        path = records_dir / f"{m}.jsonl"
        if not path.is_file():
            raise ReleaseError(f"{path}: missing ({family} records of model {m})")
        rows += read_jsonl(path)
    return rows


def output_hashes(records: list[dict], family: str) -> dict[str, str]:
    """{`<model>/<job>.png`: sha256} of every delivered output (failed jobs have none)."""
    key = FAMILIES[family].file_key
    return {r[key]: r["sha256"] for r in records if r.get(key) and r.get("sha256")}


def outputs_on_disk(records: list[dict], family: str, folder: Path) -> dict[str, str]:
    return {name: sha256_file(folder / name) if (folder / name).is_file() else "(missing)"
            for name in output_hashes(records, family)}


def check_outputs(root: Path, params: dict) -> None:
    """Refuse a cut whose clips / results do not match their records' sha256."""
    for family in families(params):
        paths = _paths(params, family)
        records = read_records(root / paths["records"], family, models(params, family))
        folder = root / paths[FAMILIES[family].outputs]
        on_disk = outputs_on_disk(records, family, folder)
        bad = [n for n, sha in output_hashes(records, family).items() if on_disk[n] != sha]
        if bad:
            raise ReleaseError(f"refusing to cut a release: {len(bad)} {family} output(s) under {folder} do not "
                               f"match their records' sha256 (first: {bad[0]}). Run `dvc checkout` or `dvc repro`.")


def push_targets(params: dict) -> list[str]:
    """The per-model output folders (DVC outs) a cut pushes to the remote."""
    return [f"{_paths(params, f)[FAMILIES[f].outputs]}/{m}" for f in families(params) for m in models(params, f)]


def manifest_block(params: dict, lock: dict, remote: tuple[str, str] | None) -> dict:
    """manifest.json's `media`: per family, the output folder and each model's DVC md5 (as `images`)."""
    block = {}
    for family in families(params):
        path = _paths(params, family)[FAMILIES[family].outputs]
        outs = {m: lock_out(lock, f"{path}/{m}") or {} for m in models(params, family)}
        block[family] = {"path": path, "nfiles": sum(o.get("nfiles") or 0 for o in outs.values()),
                         "models": {m: {"md5": o.get("md5"), "nfiles": o.get("nfiles")} for m, o in outs.items()},
                         "remote": remote[0] if remote else None}
    return block


def fingerprint_hashes(root: Path, params: dict) -> dict:
    """The fingerprint's `media` group at cut time: per family, every output's sha256 (its records')."""
    return {f: output_hashes(read_records(root / _paths(params, f)["records"], f, models(params, f)), f)
            for f in families(params)}


def load(release_dir: Path, params: dict) -> dict[str, dict]:
    """The frozen media files of a release, per family (empty when it has no media models)."""
    out = {}
    for family in families(params):
        base, names = release_dir / family, models(params, family)
        fam: dict[str, Any] = {"models": names, "records": read_records(base / "records", family, names),
                               "scores": {m: load_json(base / "scores" / f"{m}.json") for m in names},
                               "latency": {m: load_json(base / "latency" / m / "latency.json") for m in names}}
        for name in ("leaderboard.json", "metrics.json"):
            if (base / name).is_file() or FROZEN_ONCE[name][1]:
                fam[name] = load_json(base / name)
        out[family] = fam
    return out


def scratch_paths(out: dict, work: Path, mode: str, release_dir: Path, fetched: dict[str, Path]) -> None:
    """Move every family's `paths` under the scratch folder (in place); in rescore mode the fetched
    outputs and the frozen records, timings and latency folders are the inputs instead."""
    for family in FAMILIES:
        paths = (out.get(family) or {}).get("paths") if isinstance(out.get(family), dict) else None
        if not isinstance(paths, dict):
            continue
        for key, value in paths.items():
            if isinstance(value, str):
                paths[key] = str(work / "outputs" / value)
        if mode == "rescore" and family in families(out):
            paths[FAMILIES[family].outputs] = str(fetched[family])
            for key in PUBLISHED_INPUTS:
                paths[key] = str(release_dir.resolve() / family / key)


def plan(params: dict, mode: str) -> list[tuple[str, str | None]]:
    """(cli stage, model or None) of every media stage the mode re-runs, family by family."""
    steps: list[tuple[str, str | None]] = []
    for family in families(params):
        for name, per_model in getattr(FAMILIES[family], mode):
            steps += [(name, m) for m in models(params, family)] if per_model else [(name, None)]
    return steps


def step_name(name: str, model: str | None) -> str:
    """How a stage run is named in logs and in verify's list of stages done: `video-score@tiny-wan`."""
    return f"{name}@{model}" if model else name


def compare(published: dict[str, dict], params: dict, mode: str, ctx, done: list[str]) -> Iterator:
    """Every re-derived media number against the release's, under the declared tolerances."""
    from sentinel.release.compare import Check, compare_tree

    def current(path: Path, address: str):
        if not path.is_file():
            return None, Check(address, path.name, None, "present", "absent")
        return (read_jsonl(path) if path.suffix == ".jsonl" else json.loads(path.read_text())), None

    for family, pub in published.items():
        paths, names = params[family]["paths"], pub["models"]
        for stage, what, rel in (("score", "scores", "{m}.json"), ("latency", "latency", "{m}/latency.json")):
            if what == "latency" and mode != "regenerate":
                continue  # the published latency.json is the input in rescore mode
            for m in names:
                if step_name(f"{family}-{stage}", m) not in done:
                    continue
                cur, missing = current(Path(paths[what]) / rel.format(m=m), f"{family}.{what}:{m}")
                if missing:
                    yield missing
                else:
                    yield from compare_tree(f"{family}.{what}", {m: pub[what][m]}, {m: cur}, ctx)
        if f"{family}-report" in done:
            for name, key in (("leaderboard.json", "leaderboard"), ("metrics.json", "metrics")):
                if name not in pub:
                    continue
                cur, missing = current(Path(paths[key]), f"{family}.{key}:")
                if missing:
                    yield missing
                else:
                    yield from compare_tree(f"{family}.{key}", pub[name], cur, ctx)
        if mode == "regenerate" and all(step_name(f"{family}-generate", m) in done for m in names):
            by_job = lambda rows: {f"{r['model']}/{r['job_id']}": r for r in rows}  # noqa: E731
            new = read_records(Path(paths["records"]), family, names)
            yield from compare_tree(f"{family}.records", by_job(pub["records"]), by_job(new), ctx)

