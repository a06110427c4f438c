"""Failed and invalid outputs never crash the generate stage and are never dropped."""
from __future__ import annotations

import json

import pytest
import torch

from sentinel import generate
from sentinel.records import failure_summary
from sentinel.models import loader
from sentinel.workloads.jobs import load_jobs


@pytest.fixture(scope="module")
def jobs(root):
    return load_jobs(root / "workloads/smoke.csv")[:3]


def _broken(model_cfgs, how: str):
    model = loader.load(model_cfgs["tiny-sd"])
    conv = model.pipe.vae.decoder.conv_out
    with torch.no_grad():
        if how == "nan":
            conv.bias.fill_(float("nan"))
        elif how == "black":
            conv.weight.zero_()
            conv.bias.fill_(-10.0)  # decoded to -10 -> clipped to 0: an all-black image
        elif how == "raise":
            model.pipe.unet.forward = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("injected\nsecond line"))
    return model


@pytest.mark.parametrize("how,cause", [("nan", f"invalid image: {64 * 64 * 3} NaN/inf values"),
                                       ("black", "invalid image: all black"),
                                       ("raise", "error: RuntimeError: injected")])
def test_invalid_outputs_become_failed_records(model_cfgs, jobs, tmp_path, how, cause):
    model = _broken(model_cfgs, how)
    records, timings = generate.generate_model(model, jobs, tmp_path)
    assert [r["job_id"] for r in records] == [j.id for j in jobs]  # none dropped, workload order
    assert all(r["status"] == "failed" and r["failure"].startswith(cause) and r["image"] is None for r in records)
    assert list(tmp_path.iterdir()) == []  # no image file for a failed job
    assert [t["status"] for t in timings] == ["failed"] * len(jobs)
    summary = failure_summary(records)["tiny-sd"]
    assert summary == {"n_jobs": 3, "n_failed": 3, "failure_rate": 1.0,
                       "failures_by_cause": {cause.split(":")[0]: 3}}


def test_healthy_jobs_are_ok_and_stage_survives_a_failing_model(model_cfgs, jobs, tmp_path):
    good = loader.load(model_cfgs["tiny-sd"])
    records, _ = generate.generate_model(good, jobs, tmp_path / "good")
    assert all(r["status"] == "ok" and "failure" not in r for r in records)
    assert sorted(p.name for p in (tmp_path / "good").iterdir()) == sorted(f"{j.id}.png" for j in jobs)
    mixed = records + generate.generate_model(_broken(model_cfgs, "nan"), jobs, tmp_path / "bad")[0]
    for r in mixed[3:]:
        r["model"] = "broken"
    rates = {m: s["failure_rate"] for m, s in failure_summary(mixed).items()}
    assert rates == {"tiny-sd": 0.0, "broken": 1.0}
    json.dumps(mixed, allow_nan=False)  # records stay valid JSON
