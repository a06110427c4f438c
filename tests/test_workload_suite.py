"""The quarterly suite composes (also under `dvc exp run`), can be planned, and reference sets are configurable."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from sentinel import config
from sentinel.compose import compose
from sentinel.workloads.references import ReferenceSetError, check_reference, reference_dir, reference_images

SEED_MODELS = ["flux2-dev", "flux2-schnell", "sdxl-lightning", "sdxl-turbo", "proprietary-a", "proprietary-b"]


def _load(tmp_path, params):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return config.load(path)


def test_quarterly_suite_composes_six_models_12000_jobs_a100_card(tmp_path):
    cfg = _load(tmp_path, compose(["suite=2026-q4"]))
    assert cfg["suite"].name == "2026-q4" and not cfg["suite"].plumbing
    assert list(cfg["model"]) == SEED_MODELS
    assert cfg["workload"].jobs == "workloads/2026-q4.csv" and cfg["cost"].card == "a100-80gb-replicate-2025"
    assert cfg["cost"].gpu == "A100 80GB"


def test_later_overrides_win_over_the_suite(tmp_path):
    cfg = _load(tmp_path, compose(["suite=2026-q4", "model=flux2-dev"]))
    assert list(cfg["model"]) == ["flux2-dev"] and cfg["workload"].name == "2026-q4"
    cfg = _load(tmp_path, compose(["suite=2026-q4", "model=[tiny-sd]", "workload=smoke"]))
    assert list(cfg["model"]) == ["tiny-sd"] and cfg["workload"].name == "smoke" and cfg["suite"].name == "2026-q4"


def test_plan_lists_images_and_cost(root):
    proc = subprocess.run([sys.executable, "-m", "sentinel.cost.planner", "suite=2026-q4"], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "12,000 jobs x 6 models = 72,000 images" in out and "a100-80gb-replicate-2025" in out
    for model in SEED_MODELS:
        assert f"| {model} | 12,000 |" in out
    assert "| **total** | 72,000 |" in out and "2 unpriced" in out  # vendor list prices are not set yet


def test_plan_refuses_a_bad_override(root):
    proc = subprocess.run([sys.executable, "-m", "sentinel.cost.planner", "model=no-such-model"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "model/no-such-model" in proc.stderr


def test_a_category_can_point_at_its_own_reference_folder(tmp_path):
    params = compose(["+workload.reference.corporate_headshot=" + str(tmp_path / "mine")])
    (tmp_path / "mine").mkdir()  # config.load refuses a reference folder that is missing or empty
    with pytest.raises(config.ConfigError, match=r"workload.reference.corporate_headshot: folder .*mine' holds no "
                                          r"reference photos"):
        _load(tmp_path, params)
    mine = {"corporate_headshot": str(tmp_path / "mine")}
    with pytest.raises(ReferenceSetError, match=r"mine: no reference photos for corporate_headshot "
                                                r"\(from workload.reference.corporate_headshot\)"):
        reference_images("data", "corporate_headshot", mine)
    (tmp_path / "mine" / "a.png").write_bytes(b"")
    ref = _load(tmp_path, params)["workload"].reference
    assert reference_dir("data", "corporate_headshot", ref) == tmp_path / "mine"
    assert str(reference_dir("data", "ecommerce_product", ref)) == "data/reference/ecommerce_product"
    assert reference_images("data", "corporate_headshot", ref) == [tmp_path / "mine" / "a.png"]
    with pytest.raises(ReferenceSetError, match=r"workload.reference.weddings: not a workload category"):
        check_reference({"weddings": "x"}, ("corporate_headshot",))


def test_pinned_reference_sets_are_found_by_default(root):
    for cat in ("corporate_headshot", "ecommerce_product", "creative_portrait"):
        assert len(reference_images(root / "data", cat)) == 16


@pytest.mark.slow
def test_dvc_exp_run_composes_the_quarterly_suite(root, tmp_path):
    """A real `dvc exp run -S suite=2026-q4` in a copy of the project: params.yaml is composed from the suite
    and `generate` starts on the six models, then stops because no checkpoint revision is pinned here."""
    from dvc_project import copy_project, project_env

    env = project_env()
    proj = copy_project(root, tmp_path / "proj", env)
    proc = subprocess.run(["dvc", "exp", "run", "-S", "suite=2026-q4"], cwd=proj, env=env, capture_output=True,
                          text=True, timeout=600)
    params = yaml.safe_load((proj / "params.yaml").read_text())
    assert params["suite"]["name"] == "2026-q4" and list(params["model"]) == SEED_MODELS
    assert params["workload"]["jobs"] == "workloads/2026-q4.csv"
    assert "Running stage 'generate@flux2-dev'" in proc.stdout + proc.stderr  # one generate stage per model
    assert proc.returncode != 0 and "model.flux2-dev.revision" in proc.stdout + proc.stderr, proc.stderr[-3000:]
