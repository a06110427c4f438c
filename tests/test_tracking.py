"""MLflow logging (default store, secrets refused)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sentinel import tracking


def test_flatten_nested_params():
    assert tracking.flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x"}) == {"a.b": 1, "a.c.d": [1, 2], "e": "x"}


def test_secret_like_params_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="looks like a secret"):
        tracking.log_run("t", {"vendor": {"api_key": "sk-123"}}, {}, [], {})


def test_default_store_is_mlflow_default_sqlite_in_working_dir(tmp_path):
    """No MLFLOW_TRACKING_URI: MLflow's own default store (mlflow.db in the working directory)."""
    code = ("from sentinel import tracking; import mlflow; "
            "rid = tracking.log_run('exp', {'a': {'b': 1}}, {'m.x': 2.5}, [], {'suite': 'smoke'}); "
            "r = mlflow.get_run(rid); print(r.data.params['a.b'], r.data.metrics['m.x'], mlflow.get_tracking_uri())")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    params_b, metric, uri = proc.stdout.split()[-3:]
    assert (params_b, float(metric)) == ("1", 2.5)
    assert uri.startswith("sqlite:") and (tmp_path / "mlflow.db").exists()


def test_lock_md5_leaves_out_the_logging_stage_and_changes_with_the_rest(tmp_path):
    """The report stage logs before DVC writes its own lock entry: the hash must not depend on it."""
    import hashlib

    import yaml

    stages = {"generate@a": {"cmd": "x", "outs": [{"path": "o", "md5": "1"}]}}
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": {**stages, "report": {"cmd": "r"}}}))
    expected = hashlib.md5(yaml.safe_dump(stages, sort_keys=True).encode()).hexdigest()
    assert tracking.lock_md5(lock) == expected
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": {**stages, "report": {"cmd": "other"}}}))
    assert tracking.lock_md5(lock) == expected
    stages["generate@a"]["outs"][0]["md5"] = "2"
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))
    assert tracking.lock_md5(lock) != expected


def test_run_is_named_after_the_dvc_experiment_and_children_hold_params_and_cis(tmp_path):
    """A real MLflow store: run name from DVC_EXP_NAME, tags kept, each model's run has its params and
    the same scalars (CI bounds, n) as reports/metrics.json."""
    code = ("from sentinel import tracking; import mlflow, json; "
            "params = {'model': {'a': {'steps': 4, 'display_name': 'A'}}, 'suite': {'name': 'smoke'}}; "
            "rid = tracking.log_run('exp', params, {}, [], {'suite': 'smoke', 'dvc_lock_md5': 'abc'}, "
            "children={'a': {'composite': 50.0, 'composite_ci_low': 40.0, 'n_generated': 12}}); "
            "c = mlflow.tracking.MlflowClient(); r = c.get_run(rid); "
            "kids = c.search_runs([r.info.experiment_id], f\"tags.mlflow.parentRunId = '{rid}'\"); "
            "k = kids[0]; print(json.dumps([r.info.run_name, r.data.tags['dvc_lock_md5'], k.info.run_name, "
            "k.data.params, k.data.metrics]))")
    env = {**{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, "DVC_EXP_NAME": "sunny-exp"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    name, md5, child_name, child_params, child_metrics = json.loads(proc.stdout.splitlines()[-1])
    assert (name, md5, child_name) == ("sunny-exp", "abc", "sunny-exp/a")
    assert child_params == {"steps": "4", "display_name": "A"}
    assert child_metrics == {"composite": 50.0, "composite_ci_low": 40.0, "n_generated": 12.0}


def test_run_tags_name_suite_workload_reference_set_and_experiment(root, monkeypatch):
    from sentinel import config

    cfg = config.load(root / "params.yaml", sections=("workload", "paths"))
    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "b" * 40)
    tags = tracking.run_tags(cfg, {"suite": "smoke", "plumbing": True})
    assert tags["suite"] == "smoke" and tags["workload"] == cfg["workload"].name
    assert tags["reference_set"] == "default (data/reference/<category>)"  # smoke: no workload.reference
    assert (tags["dvc_experiment"], tags["dvc_exp_baseline"]) == ("exp-1", "b" * 40)
    assert len(tags["dvc_lock_md5"]) == 32
    monkeypatch.delenv("DVC_EXP_NAME")
    assert "dvc_experiment" not in tracking.run_tags(cfg, {"suite": "smoke", "plumbing": True})
