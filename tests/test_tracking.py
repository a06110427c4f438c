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
