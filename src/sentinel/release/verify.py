"""`python -m sentinel.release verify <release-dir> [--rescore | --regenerate]`.

Re-derives every published number (re-scoring the published images, or regenerating them), compares
each with its declared tolerance (tolerances.py), compares the release's fingerprint with this
checkout's and machine's field by field, and writes `verification.json` plus a Markdown report;
on a mismatch, `discrepancy.md`, ready to paste into a GitHub issue. Passing means: no number
outside its tolerance, no strict fingerprint field different, and every stage ran.

A release with media models (release/media.py) is verified family by family in the same run: its
clips / results are fetched by md5 and checked (`video.clips:<model>/<job>.png`), its stages re-run
after the image ones, and its files compared as `video.scores:<model>.<key>`,
`video.leaderboard:<key>`, `video.metrics:<key>` (and with --regenerate `video.latency:<model>.<key>`,
`video.records:<model>/<job>.<field>`).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sentinel.provenance import atomic_write_text, read_jsonl, sha256_file, write_json
from sentinel.release import fingerprint as fp
from sentinel.release import media
from sentinel.release.compare import Check, compare_tree
from sentinel.release.layout import ReleaseError, load_release
from sentinel.release.rerun import (STAGES, fetch_images, fetch_media, run_stages, scratch_params, stage_plan,
                                    write_params)
from sentinel.release.tolerances import Context

COMPARED = (("score", "metrics.json"), ("cost", "cost.json"), ("latency", "latency.json"),
            ("leaderboard", "leaderboard.json"))


@dataclass
class Outcome:
    release: str
    mode: str
    command: str
    same_platform: bool
    checks: list[Check] = field(default_factory=list)
    differences: list[fp.Difference] = field(default_factory=list)
    stage_error: str | None = None
    notes: list[str] = field(default_factory=list)
    published_env: dict = field(default_factory=dict)
    current_env: dict = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if c.failed]

    @property
    def strict_differences(self) -> list[fp.Difference]:
        return [d for d in self.differences if d.cls == "strict"]

    @property
    def first_difference(self) -> fp.Difference | None:
        return fp.first_difference(self.differences)

    @property
    def passed(self) -> bool:
        return not (self.failed_checks or self.strict_differences or self.stage_error)


def same_platform(published_fp: dict, current_env: dict) -> bool:
    """Same device, CPU, CUDA, driver, thread count, python and OS: quality must then be bit-exact."""
    pub = {**fp.dotted_fields({"hardware": published_fp.get("hardware", {})}),
           **fp.dotted_fields({"libraries": published_fp.get("libraries", {})})}
    cur = {**fp.dotted_fields({"hardware": current_env["hardware"]}), **fp.dotted_fields({"libraries": current_env["libraries"]})}
    keys = [k for k in {*pub, *cur} if fp.field_class(k) == "platform"]
    return all(pub.get(k) == cur.get(k) for k in keys)


def manifest_checks(release_dir: Path, manifest: dict) -> list[Check]:
    """Each frozen file against the sha256 that `release cut` wrote into manifest.json.

    A mismatch means the file was edited after the cut: every number read from it is suspect, so
    these checks come first and the discrepancy report names them before any re-derived number."""
    checks = []
    for name, digest in sorted(manifest.get("files", {}).items()):
        path = release_dir / name
        current = sha256_file(path) if path.is_file() else "(missing)"
        status = "ok" if current == digest else ("missing" if current == "(missing)" else "edited after cut")
        checks.append(Check(f"manifest:{name}", digest, current, "exact", status))
    return checks


def _images_dir(root: Path, rel: dict, images: str, tmp: Path) -> Path:
    if images == "dvc":
        return fetch_images(root, rel["manifest"].get("images", {}), tmp)
    if images == "workspace":
        return root / rel["params"]["paths"]["images"]
    path = Path(images)
    if not path.is_dir():
        raise ReleaseError(f"--images {images}: not a directory (use dvc, workspace or a folder of images)")
    return path


def _media_dirs(root: Path, rel: dict, images: str, tmp: Path) -> dict[str, Path]:
    """rescore's media inputs: fetched by md5 (or, with --images workspace, the workspace's own)."""
    if images == "workspace":
        return {f: root / rel["params"][f]["paths"][media.FAMILIES[f].outputs] for f in rel["media"]}
    return fetch_media(root, rel["manifest"], rel["params"], tmp)


def _compare_outputs(rel: dict, new_paths: dict, mode: str, ctx: Context, done: list[str]) -> list[Check]:
    checks = []
    for key, name in COMPARED:
        stage = "report" if key == "leaderboard" else key
        if stage not in done:
            continue
        new_file = Path(new_paths[key]) if key in new_paths else None
        if new_file is None or not new_file.is_file():
            checks.append(Check(f"{key}:", name, None, "present", "absent"))
            continue
        checks += compare_tree(key, rel[name], json.loads(new_file.read_text()), ctx)
    if mode == "regenerate" and "generate" in done:
        by_job = lambda rows: {f"{r['model']}/{r['job_id']}": r for r in rows}  # noqa: E731
        checks += compare_tree("records", by_job(rel["records"]), by_job(read_jsonl(new_paths["records"])), ctx)
    return checks


def verify(root: Path, release_dir: Path, mode: str = "rescore", images: str = "dvc", out: Path | None = None,
           lenient_libraries: bool = False, command: str = "", keep_going: bool = False) -> Outcome:
    if mode not in STAGES:
        raise ReleaseError(f"unknown mode {mode!r} (valid: {', '.join(STAGES)})")
    root, rel = root.resolve(), load_release(release_dir)
    release_id = rel["manifest"].get("release", release_dir.name)
    work = (out or root / ".cache" / "sentinel-verify" / release_id).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = fp.environment_groups()
    ctx = Context(same_platform(rel["fingerprint"], env), remeasured=mode == "regenerate")
    outcome = Outcome(release_id, mode, command, ctx.same_platform, published_env={
        k: rel["fingerprint"].get(k, {}) for k in ("libraries", "hardware")}, current_env=env)
    done: list[str] = []
    outcome.checks += manifest_checks(release_dir, rel["manifest"])
    edited = [c.address.split(":", 1)[1] for c in outcome.checks if c.failed]
    if edited:
        outcome.notes.append(f"edited after cut: {', '.join(edited)} no longer match the sha256 in manifest.json; "
                             "numbers read from them are not the published ones")
    with tempfile.TemporaryDirectory(prefix="sentinel-verify-") as tmp:
        images_dir = _images_dir(root, rel, images, Path(tmp)) if mode == "rescore" else None
        media_dirs = _media_dirs(root, rel, images, Path(tmp)) if mode == "rescore" and rel["media"] else {}
        params = scratch_params(rel["params"], work, mode, release_dir, images_dir, media_dirs)
        params_path = write_params(params, work / "params.yaml")
        used = fp.images_on_disk(rel["records"], images_dir) if images_dir else None
        media_used = {f: media.outputs_on_disk(rel["media"][f]["records"], f, d) for f, d in media_dirs.items()}
        current = fp.collect(root, rel["params"], used or {}, None, media=media_used)
        if used is None:
            current.pop("images")  # regenerated images are outputs, checked as records:*.sha256
        else:
            outcome.checks += compare_tree("images", fp.image_hashes(rel["records"]), used, ctx)
        for family, on_disk in media_used.items():
            outcome.checks += compare_tree(f"{family}.{media.FAMILIES[family].outputs}",
                                           media.output_hashes(rel["media"][family]["records"], family), on_disk, ctx)
        blocking = [d for d in fp.differences(rel["fingerprint"], current, lenient_libraries) if d.cls == "strict"]
        if blocking and not keep_going:
            outcome.notes.append(f"stages not re-run: `{blocking[0].field}` differs from the release, so a re-run "
                                 "cannot reproduce it; make it match (or pass --keep-going to re-run anyway)")
        else:
            done, outcome.stage_error = run_stages(root, mode, params_path, work / "logs",
                                                   stage_plan(rel["params"], mode))
    if mode == "rescore":
        outcome.notes.append("latency.json" + (" and each media model's latency.json" if rel["media"] else "")
                             + ": not re-measured in --rescore mode (the published timings are "
                             "the input); run --regenerate to re-measure latency and cost")
    outcome.checks += _compare_outputs(rel, params["paths"], mode, ctx, done)
    outcome.checks += list(media.compare(rel["media"], params, mode, ctx, done))
    if "score" in done:
        current["convention"] = json.loads(Path(params["paths"]["score"]).read_text()).get("convention")
    outcome.differences = fp.differences(rel["fingerprint"], current, lenient_libraries)
    write_json(work / "fingerprint.json", current)
    _write_reports(outcome, work)
    return outcome


def _write_reports(outcome: Outcome, work: Path) -> None:
    from sentinel.release.discrepancy import render

    data = {"release": outcome.release, "mode": outcome.mode, "passed": outcome.passed,
            "same_platform": outcome.same_platform, "stage_error": outcome.stage_error, "notes": outcome.notes,
            "first_difference": asdict(outcome.first_difference) if outcome.first_difference else None,
            "differences": [asdict(d) for d in outcome.differences],
            "checks": [asdict(c) for c in outcome.checks]}
    write_json(work / "verification.json", json.loads(json.dumps(data, default=str)))
    text = render(outcome)
    atomic_write_text(work / "verification.md", text)
    if not outcome.passed:
        atomic_write_text(work / "discrepancy.md", text)
