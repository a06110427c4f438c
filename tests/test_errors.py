"""Bad input: one clear line naming what and where, a non-zero exit, and no output that looks complete."""
from __future__ import annotations

import copy
import subprocess
import sys

import yaml

STAGE_TIMEOUT_S = 300


def _run_stage(root, workdir, stage, params):
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    return subprocess.run([sys.executable, str(root / "stages" / f"{stage}.py")], cwd=workdir,
                          capture_output=True, text=True, timeout=STAGE_TIMEOUT_S)


def _localise(params, workdir, root):
    """Point every output path into workdir and inputs at the repository's files."""
    p = copy.deepcopy(params)
    p["paths"] = {k: str(workdir / v) for k, v in p["paths"].items()}
    p["paths"]["data"] = str(root / "data")
    p["workload"]["jobs"] = str(root / p["workload"]["jobs"])
    return p


def test_unknown_model_in_params_lists_valid_models(root, tmp_path, smoke_params):
    params = _localise(smoke_params, tmp_path, root)
    params["model"] = {"sdxl-turbo-typo": params["model"]["tiny-sd"]}
    proc = _run_stage(root, tmp_path, "generate", params)
    assert proc.returncode != 0
    assert "model.sdxl-turbo-typo: unknown model (valid:" in proc.stderr and "tiny-sd" in proc.stderr
    assert not (tmp_path / "outputs").exists()


def test_malformed_workload_row_names_file_and_line_and_writes_nothing(root, tmp_path, smoke_params):
    lines = (root / "workloads/smoke.csv").read_text().splitlines()
    lines[5] = lines[5].replace(",64,64,", ",64,sixty-four,")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    params = _localise(smoke_params, tmp_path, root)
    params["workload"]["jobs"] = str(bad)
    proc = _run_stage(root, tmp_path, "generate", params)
    assert proc.returncode != 0
    assert f"{bad}:6: height: expected int, got 'sixty-four'" in proc.stderr
    assert not (tmp_path / "outputs").exists()


def test_failure_mid_generation_leaves_no_images_or_records(root, tmp_path, smoke_params):
    params = _localise(smoke_params, tmp_path, root)
    params["model"]["tiny-sdxl"]["scheduler"]["class"] = "NoSuchScheduler"  # second model fails to build
    proc = _run_stage(root, tmp_path, "generate", params)
    assert proc.returncode != 0 and "scheduler.class: 'NoSuchScheduler'" in proc.stderr
    out = tmp_path / "outputs" / "generate"
    assert not (out / "images").exists() and not (out / "records.jsonl").exists()
    # only the executor's resume store (per-job PNG + sidecar, never a records file) may remain
    stray = [p for p in out.rglob("*") if p.is_file() and "work" not in p.relative_to(out).parts]
    assert stray == []


def test_missing_weights_file_names_path_and_how_to_get_it(root, tmp_path, smoke_params):
    params = _localise(smoke_params, tmp_path, root)
    params["score"]["inception_weights"] = str(tmp_path / "nowhere" / "inception.pt")
    proc = _run_stage(root, tmp_path, "score", params)
    assert proc.returncode != 0
    assert str(tmp_path / "nowhere" / "inception.pt") in proc.stderr
    assert "python -m sentinel.metrics.weights" in proc.stderr
    assert not (tmp_path / "outputs" / "score").exists()


def test_out_of_range_values_stop_the_stage_at_load_all_in_one_message(root, tmp_path, smoke_params):
    """Validation happens at load: the generate stage names every bad key of what it reads, and the
    file, before building any model; a value it does not read (latency) does not stop it."""
    params = _localise(smoke_params, tmp_path, root)
    params["generate"]["executor"] = "slurm"
    params["model"]["tiny-sd"]["dtype"] = "float8"
    params["model"]["tiny-sdxl"]["steps"] = 0
    proc = _run_stage(root, tmp_path, "generate", params)
    assert proc.returncode == 2, proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first == "sentinel generate: error: params.yaml: 3 config problems (all of them; fix and run again):"
    for key in ("generate.executor: unknown 'slurm' (valid: local, ray)", "model.tiny-sd.dtype: unknown 'float8'",
                "model.tiny-sdxl.steps: must be >= 1"):
        assert f"  - {key}" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "outputs").exists()
