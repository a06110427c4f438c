"""MLflow logging (default store, secrets refused) and the simulated rater."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sentinel import human, tracking
from sentinel.images import encode_png
from sentinel.provenance import sha256_bytes


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


def _records(tmp_path: Path, arrays: list[np.ndarray]) -> list[dict]:
    rows = []
    for i, a in enumerate(arrays):
        png = encode_png(Image.fromarray(a))
        (tmp_path / f"{i}.png").write_bytes(png)
        rows.append({"model": "m", "job_id": str(i), "category": "c", "image": f"{i}.png", "sha256": sha256_bytes(png)})
    return rows


def test_simulated_rater_is_deterministic_labelled_and_tracks_structure(tmp_path):
    rng = np.random.default_rng(0)
    flat = [np.full((32, 32, 3), 128, np.uint8) + np.uint8(i) for i in range(8)]
    busy = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(8)]
    recs = _records(tmp_path, flat + busy)
    a = human.simulate(recs, tmp_path, raters=3, seed=0)
    assert a == human.simulate(recs, tmp_path, raters=3, seed=0)
    assert len(a) == 3 * 16 and all(r["simulated"] is True and 1 <= r["likert"] <= 5 for r in a)
    mean = lambda rows: np.mean([r["likert"] for r in rows])  # noqa: E731
    flat_ids = {str(i) for i in range(8)}
    assert mean([r for r in a if r["job_id"] in flat_ids]) < mean([r for r in a if r["job_id"] not in flat_ids])


def test_human_summary_ci_brackets_mean_closed_form():
    rows = [{"image_sha256": f"{i}", "job_id": "j", "likert": v, "simulated": True}
            for i, v in enumerate([1, 2, 3, 4, 5])]
    out = human.summarise(rows, seed=0)
    assert out["likert_mean"] == 3.0 and out["n_images"] == 5
    lo, hi = out["likert_ci95"]
    assert 1 <= lo < 3 < hi <= 5
    with pytest.raises(ValueError, match="no ratings"):
        human.summarise([], seed=0)
