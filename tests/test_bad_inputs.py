"""The reliability battery: every bad input gets one clear line naming what and where, a non-zero exit,
before expensive work, and leaves no output that looks complete.

Each case writes its own inputs under tmp (params.yaml, a workload CSV, a ratings export, reference
photos, a weights file) and runs the real command line as a user would (`sentinel plan --params`,
`sentinel compose`, `sentinel fetch verify`, `stages/score.py`). Every path in the params is absolute
under the case's folder or at the repository's inputs, never relative (a relative output path
resolves against the checkout). The commands run concurrently in one module-scoped fixture so the
whole battery takes well under two minutes; each case is then its own test.
"""
from __future__ import annotations

import copy
import csv
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

BIN = Path(sys.executable).parent
TIMEOUT_S = 300
HS = "corporate_headshot"


@dataclass(frozen=True)
class Case:
    id: str
    command: str  # plan | compose | fetch | score
    setup: Callable[[dict, Path, Path], list[str] | None]  # (params, case dir, repo root) -> extra argv
    expect: tuple[str, ...]  # every one of these appears in the message ("{dir}" is the case folder)


# --- inputs ------------------------------------------------------------------------------------------

def _set(section: str, key: str, value):
    def setup(p, d, root):
        node = p
        *parents, last = [section, *key.split(".")]
        for k in parents:
            node = node[k]
        node[last] = value
    return setup


def _csv(edit: Callable[[list[str]], list[str]] | None = None, raw: bytes | None = None):
    """A workload CSV under the case folder: the smoke workload edited line by line, or raw bytes."""
    def setup(p, d, root):
        path = d / "jobs.csv"
        if raw is not None:
            path.write_bytes(raw)
        else:
            lines = (root / "workloads/smoke.csv").read_text(encoding="utf-8").splitlines()
            path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
        p["workload"]["jobs"] = str(path)
    return setup


def _row(line: int, column: str, value: str):
    """The smoke workload with one cell changed: `line` is the file's line number (the header is 1)."""
    def edit(lines):
        rows = list(csv.reader(io.StringIO("\n".join(lines) + "\n")))
        rows[line - 1][rows[0].index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue().splitlines()
    return _csv(edit)


def _ratings(rows: list[dict]):
    def setup(p, d, root):
        path = d / "ratings.jsonl"
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
        p["score"]["human"]["source"] = str(path)
    return setup


GOOD_VOTE = {"kind": "pairwise", "rater": "r1", "category": HS, "job_id": "hs-001", "model_a": "tiny-sd",
             "model_b": "tiny-sdxl", "outcome": "a", "rubric": "human-v2", "simulated": False}
GOOD_LIKERT = {"kind": "likert", "rater": "r1", "model": "tiny-sd", "job_id": "hs-001", "category": HS,
               "image_sha256": "0" * 64, "dimension": "overall", "likert": 4, "rubric": "human-v2"}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb() -> bytes:
    """A 60000 x 60000 PNG header over a few hundred bytes of IDAT: decoding it would take 10 GB."""
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100000, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _photos(bad_name: str | None = None, bad: bytes | None = None, empty: bool = False):
    """workload.reference.corporate_headshot -> a folder of the real photos plus one bad file."""
    def setup(p, d, root):
        folder = d / "refs"
        folder.mkdir()
        if not empty:
            for src in sorted((root / "data/reference" / HS).glob("*.png"))[:3]:
                shutil.copy(src, folder / src.name)
        if bad_name:
            (folder / bad_name).write_bytes(bad)
        p["workload"]["reference"] = {HS: str(folder)}
    return setup


def _truncated_png(root: Path) -> bytes:
    data = next((root / "data/reference" / HS).glob("*.png")).read_bytes()
    return data[: len(data) // 2]


class _Evil:
    """Unpickling this runs a shell command that leaves a marker file: weights must never do that."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _evil_weights(p, d, root):
    path = d / "inception-evil.pt"
    path.write_bytes(pickle.dumps(_Evil(d / "PWNED")))
    p["score"]["inception_weights"] = str(path)


def _wrong_sha_manifest(p, d, root):
    (d / "w").mkdir()
    (d / "w" / "inception.pt").write_bytes(b"not the pinned weights")
    (d / "manifest.yaml").write_text(yaml.safe_dump({"files": [
        {"name": "inception.pt", "url": "https://example.invalid/inception.pt", "sha256": "a" * 64}]}))
    return ["verify", "--manifest", str(d / "manifest.yaml"), "--dir", str(d / "w")]


def _yaml_error(p, d, root):
    return "YAML"  # marker: the runner writes a broken params.yaml instead


def _unknown_key(p, d, root):
    p["score"]["ci_levle"] = 0.9


def _model_named(name: str):
    def setup(p, d, root):
        p["model"] = {name: p["model"]["tiny-sd"]}
    return setup


CASES = [
    # params.yaml: syntax, keys, types, ranges (sentinel.config / sentinel.validate, at load)
    Case("yaml-syntax-error", "plan", _yaml_error, ("{dir}/params.yaml:4:", "YAML syntax error", "starts at line 3")),
    Case("unknown-config-key", "plan", _unknown_key, ("score.ci_levle",)),
    Case("wrong-type-batch-size", "plan", _set("score", "batch_size", "sixteen"), ("score.batch_size",)),
    Case("wrong-type-steps-list", "plan", _set("model", "tiny-sd.steps", [4]), ("model.tiny-sd.steps",)),
    Case("ci-level-above-1", "plan", _set("score", "ci_level", 1.5), ("score.ci_level",)),
    Case("ci-level-0", "plan", _set("score", "ci_level", 0.0), ("score.ci_level",)),
    Case("ci-level-nan", "plan", _set("score", "ci_level", float("nan")), ("score.ci_level",)),
    Case("bootstrap-samples-0", "plan", _set("score", "bootstrap_samples", 0), ("score.bootstrap_samples",)),
    Case("negative-latency-slo", "plan", _set("latency", "slo_s", -1.0), ("latency.slo_s",)),
    Case("unknown-arrival-process", "plan", _set("latency", "arrival", "poison"), ("latency.arrival", "poison")),
    Case("price-nan", "plan", _set("cost", "price_usd_per_hour", float("nan")), ("cost.price_usd_per_hour",)),
    Case("price-inf", "plan", _set("cost", "price_usd_per_hour", float("inf")), ("cost.price_usd_per_hour",)),
    Case("price-negative", "plan", _set("cost", "price_usd_per_hour", -5.04), ("cost.price_usd_per_hour",)),
    Case("platform-fee-500-percent", "plan", _set("cost", "platform_fee_fraction", 5.0),
         ("cost.platform_fee_fraction",)),
    Case("as-of-not-a-date", "plan", _set("cost", "as_of", "last tuesday"), ("cost.as_of", "last tuesday")),
    Case("utilisation-0", "plan", _set("cost", "utilisation", 0.0), ("cost.utilisation",)),
    Case("weights-sum-1.1", "plan", _set("report", "weights", {"fid": 0.5, "clip": 0.3, "human": 0.3}),
         ("report.weights",)),
    Case("unknown-composite-version", "plan", _set("report", "version", "composite-v9"), ("report.version",)),
    Case("unknown-model-name", "plan", _model_named("sdxl-turbo-typo"), ("model.sdxl-turbo-typo",)),
    Case("steps-0", "plan", _set("model", "tiny-sd.steps", 0), ("model.tiny-sd.steps",)),
    Case("dtype-float8", "plan", _set("model", "tiny-sd.dtype", "float8"), ("model.tiny-sd.dtype", "float8")),
    Case("unknown-executor", "plan", _set("generate", "executor", "slurm"), ("generate.executor", "slurm")),
    Case("unknown-rubric", "plan", _set("score", "human.rubric", "human-v99"), ("score.human.rubric",)),
    Case("human-source-not-jsonl", "plan", _set("score", "human.source", "ratings.csv"), ("score.human.source",)),
    Case("compose-unknown-override", "compose", lambda p, d, r: ["model=[no-such]"], ("model=[no-such]", "no-such")),
    # ratings exports (sentinel.ratings_export, at load)
    Case("ratings-missing-file", "plan", _set("score", "human.source", "/nonexistent/ratings.jsonl"),
         ("score.human.source", "/nonexistent/ratings.jsonl")),
    Case("ratings-correct-string-false", "plan", _ratings([GOOD_VOTE, {"kind": "gold", "rater": "r1",
         "correct": "false"}]), ("{dir}/ratings.jsonl:2:", "correct", "true or false")),
    Case("ratings-likert-bool", "plan", _ratings([{**GOOD_LIKERT, "likert": True}]),
         ("{dir}/ratings.jsonl:1:", "likert")),
    Case("ratings-likert-7", "plan", _ratings([{**GOOD_LIKERT, "likert": 7}]), ("{dir}/ratings.jsonl:1:", "likert 7")),
    Case("ratings-unknown-model", "plan", _ratings([GOOD_VOTE, {**GOOD_VOTE, "model_b": "dall-e-9"}]),
         ("{dir}/ratings.jsonl:2:", "model_b", "dall-e-9")),
    Case("ratings-unknown-image", "plan", _ratings([{**GOOD_LIKERT, "job_id": "zz-999"}]),
         ("{dir}/ratings.jsonl:1:", "job_id", "zz-999")),
    Case("ratings-not-json", "plan", _ratings([GOOD_VOTE, "{not json"]), ("{dir}/ratings.jsonl:2:", "not valid JSON")),
    Case("ratings-bad-outcome", "plan", _ratings([{**GOOD_VOTE, "outcome": "left"}]),
         ("{dir}/ratings.jsonl:1:", "outcome 'left'")),
    # workload CSVs (sentinel.workloads.jobs, when the plan reads the workload)
    Case("nul-byte-in-prompt", "plan", _row(3, "prompt", "a photo\x00 of a mug"), ("{dir}/jobs.csv:3:", "prompt", "U+0000")),
    Case("empty-prompt", "plan", _row(2, "prompt", ""), ("{dir}/jobs.csv:2:", "prompt: empty")),
    Case("width-not-multiple-of-8", "plan", _row(4, "width", "63"), ("{dir}/jobs.csv:4:", "multiples of 8")),
    Case("huge-width", "plan", _row(4, "width", "100000"), ("{dir}/jobs.csv:4:", "width")),
    Case("seed-not-an-int", "plan", _row(5, "seed", "lucky"), ("{dir}/jobs.csv:5:", "seed")),
    Case("unknown-category", "plan", _row(6, "category", "pet_portrait"), ("{dir}/jobs.csv:6:", "pet_portrait")),
    Case("duplicate-job-ids", "plan", _row(7, "id", "hs-001"), ("{dir}/jobs.csv:7:", "hs-001", "duplicates line 2")),
    Case("missing-workload-column", "plan",
         _csv(lambda ls: [",".join(c for j, c in enumerate(x.split(",")) if j != 7) for x in ls]),
         ("{dir}/jobs.csv:1:", "steps")),
    Case("bom-only-csv", "plan", _csv(raw=b"\xef\xbb\xbf"), ("{dir}/jobs.csv",)),
    Case("zero-byte-csv", "plan", _csv(raw=b""), ("{dir}/jobs.csv",)),
    Case("non-utf8-byte", "plan", _csv(lambda ls: ls), ("{dir}/jobs.csv:9:", "not UTF-8")),  # byte added by runner
    Case("workload-file-missing", "plan", _set("workload", "jobs", "/nonexistent/jobs.csv"),
         ("/nonexistent/jobs.csv", "not found")),
    # reference photos (sentinel.workloads.references, before any is decoded)
    Case("reference-zero-byte-png", "plan", _photos("zero.png", b""), ("{dir}/refs/zero.png", "cannot be read")),
    Case("reference-text-as-png", "plan", _photos("notes.png", b"these are my notes\n"), ("{dir}/refs/notes.png",)),
    Case("reference-truncated-png", "plan", _photos("half.png", None), ("{dir}/refs/half.png", "cannot be read")),
    Case("reference-decompression-bomb", "plan", _photos("bomb.png", _bomb()), ("{dir}/refs/bomb.png", "decompression bomb")),
    Case("reference-folder-missing", "plan", _set("workload", "reference", {HS: "/nonexistent/refs"}),
         (f"workload.reference.{HS}", "/nonexistent/refs")),
    Case("reference-folder-empty", "plan", _photos(empty=True), (f"workload.reference.{HS}", "no reference photos")),
    Case("reference-unknown-category", "plan", _set("workload", "reference", {"pets": "/tmp"}),
         ("workload.reference.pets",)),
    # weights files (the score stage, before any image is read; sentinel fetch)
    Case("weights-malicious-pickle", "score", _evil_weights, ("score.inception_weights", "{dir}/inception-evil.pt",
                                                             "tensors")),
    Case("weights-wrong-sha256", "fetch", _wrong_sha_manifest, ("{dir}/w/inception.pt", "sha256")),
]


# --- running -----------------------------------------------------------------------------------------

def _localise(params: dict, d: Path, root: Path) -> dict:
    p = copy.deepcopy(params)
    p["paths"] = {k: str(d / v) for k, v in p["paths"].items()}
    p["paths"]["data"] = str(root / "data")
    p["workload"]["jobs"] = str(root / p["workload"]["jobs"])
    for key, value in p["score"].items():  # metric weights: the repository's files, by absolute path
        if key.endswith("_weights") and value:
            p["score"][key] = str(root / value)
    p["score"]["cache_dir"] = str(d / "cache")
    p["score"]["preference_weights_dir"] = str(d / "preference")
    p["tracking"]["enabled"] = False
    return p


def _argv(case: Case, d: Path, root: Path, extra: list[str] | None) -> list[str]:
    params = str(d / "params.yaml")
    return {"plan": [str(BIN / "sentinel"), "plan", "--params", params],
            "compose": [str(BIN / "sentinel"), "compose", *(extra or []), "--out", params],
            "fetch": [str(BIN / "sentinel"), "fetch", *(extra or [])],
            "score": [sys.executable, str(root / "stages" / "score.py"), "tiny-sd"]}[case.command]


def _prepare(case: Case, params: dict, d: Path, root: Path) -> list[str]:
    p = _localise(params, d, root)
    if case.id == "reference-truncated-png":
        case = Case(case.id, case.command, _photos("half.png", _truncated_png(root)), case.expect)
    extra = case.setup(p, d, root)
    (d / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    if extra == "YAML":
        text = (d / "params.yaml").read_text().splitlines()
        text.insert(2, "oops: [unclosed, list")
        (d / "params.yaml").write_text("\n".join(text) + "\n")
        extra = None
    if case.id == "non-utf8-byte":
        lines = (d / "jobs.csv").read_bytes().split(b"\n")
        lines[8] = lines[8].replace(b"photo", b"ph\xffoto", 1) if b"photo" in lines[8] else lines[8] + b"\xff"
        (d / "jobs.csv").write_bytes(b"\n".join(lines))
    if case.command == "compose":
        (d / "params.yaml").unlink()
    return _argv(case, d, root, extra)


def _run(argv: list[str], d: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SENTINEL_DEBUG"}
    return subprocess.run(argv, cwd=d, env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
                          timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def results(root, smoke_params, tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Every case, run concurrently: {case id: (its folder, the finished process)}."""
    base = tmp_path_factory.mktemp("bad_inputs")
    jobs = {}
    for case in CASES:
        d = base / case.id
        d.mkdir()
        jobs[case.id] = (d, _prepare(case, smoke_params, d, root))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {cid: pool.submit(_run, argv, d) for cid, (d, argv) in jobs.items()}
        return {cid: (jobs[cid][0], f.result()) for cid, f in futures.items()}


def test_the_battery_holds_at_least_40_cases():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_clearly_naming_what_and_where(case, results):
    d, proc = results[case.id]
    message = proc.stderr + proc.stdout
    assert proc.returncode != 0, f"accepted: {message[-2000:]}"
    for part in case.expect:
        assert part.format(dir=d) in message, f"{part.format(dir=d)!r} not in: {message[-2000:]}"
    assert "Traceback" not in message, message[-3000:]
    assert proc.stderr.strip().count("\n") < 15, f"not one clear message: {proc.stderr[-3000:]}"
    written = [p for name in ("outputs", "reports") for p in (d / name).rglob("*") if p.is_file()]
    assert written == [], f"left output behind: {written}"
    assert not (d / "PWNED").exists(), "a weights file ran code"
