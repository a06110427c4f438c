"""Latency against the real serving engine: Ray Serve on 127.0.0.1, real HTTP, the tiny model.

Serve and a replica are the expensive part (Ray start, then torch import in the replica), so one
module-scoped Serve instance serves the HTTP tests; `run()` and the SIGKILL test start their own.
The load generator and the statistics are checked against the ground-truth stub in
test_latency_truth.py and test_latency_load.py.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import yaml

from sentinel import config
from sentinel.images import encode_png
from sentinel.latency import stats, watchdog
from sentinel.latency.server import check_loopback
from sentinel.models import loader
from sentinel.provenance import read_jsonl, sha256_bytes, write_jsonl
from sentinel.workloads.jobs import Job, load_jobs

ROOT = Path(__file__).resolve().parents[1]
MODEL = "tiny-sd"
pytestmark = pytest.mark.timeout(180)


def compose_params(tmp: Path, overrides: list[str]) -> Path:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose("config", overrides=overrides)
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(OmegaConf.to_container(cfg, resolve=True), sort_keys=False))
    return path


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("latency")
    return compose_params(tmp, [f"model=[{MODEL}]", f"workload.jobs={ROOT / 'workloads/smoke.csv'}",
                                "latency.requests=3", "latency.search_steps=0", "latency.probe_min_requests=10",
                                "latency.probe_min_duration_s=0.5", "latency.probe_warmup_s=0.1",
                                f"paths.model_latency={tmp / 'out'}", f"paths.model_records={tmp / 'records'}"])


@pytest.fixture(scope="module")
def model_cfg(params):
    return config.load(params, sections=("model",))["model"][MODEL]


@pytest.fixture(scope="module")
def jobs() -> list[Job]:
    return load_jobs(ROOT / "workloads/smoke.csv")


@pytest.fixture(scope="module")
def reference(params, model_cfg, jobs) -> dict[str, bytes]:
    """The expected PNG per job, generated in this process exactly as the generate stage does,
    and written where the generate stage writes its records (sha256 per job)."""
    model = loader.load(model_cfg)
    threads = torch.get_num_threads()
    try:
        pngs = {job.id: encode_png(model.generate(job)) for job in jobs}
    finally:
        torch.set_num_threads(threads)
    records = Path(config.load(params, sections=("paths",))["paths"].model_records) / f"{MODEL}.jsonl"
    write_jsonl(records, [{"model": MODEL, "job_id": k, "sha256": sha256_bytes(v)} for k, v in pngs.items()])
    return pngs


def test_non_loopback_host_is_refused(params):
    for host in ("0.0.0.0", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            check_loopback(host)
    assert check_loopback("127.0.0.1") == "127.0.0.1" and check_loopback("::1") == "::1"


# --- the stage ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_run_writes_one_row_per_job_and_the_latency_file(params, reference, jobs):
    from sentinel.latency import run

    doc = run(params, model=MODEL)
    out = Path(config.load(params, sections=("paths",))["paths"].model_latency) / MODEL
    assert json.loads((out / "latency.json").read_text()) == doc
    rows = read_jsonl(out / "requests.jsonl")
    assert [r["job"] for r in rows] == [j.id for j in jobs]  # every job, in trace order
    assert all(r["ok"] and r["status"] == 200 and r["scheduled_s"] <= r["sent_s"] <= r["first_byte_s"] <= r["done_s"]
               for r in rows)
    result = doc["models"][MODEL]
    assert result["n_requests"] == len(jobs) and result["n_failed"] == 0 and result["sha256_checked"]
    assert result["latency_p50_s"] <= result["latency_p90_s"] <= result["latency_p95_s"] <= result["latency_p99_s"]
    assert result["latency_p99_s"] <= result["latency_max_s"] == max(r["latency_s"] for r in rows)
    lo, hi = result["latency_p50_ci95_s"]
    assert lo is None or lo <= result["latency_p50_s"]
    assert result["cold_start_s"] > 0 and result["cold_start_source"] in ("trace", "calibration")
    assert result["schedule"]["arrival"] == "trace" and result["schedule"]["trace_speedup"] > 0
    assert set(result["by_category"]) == {j.category for j in jobs} and list(result["by_resolution"]) == ["64x64"]
    assert result["capacity_display"] and result["rate_search"]["searched_rps"][0] > 0
    t01, t04 = result["compliance"]["test01"], result["compliance"]["test04"]
    assert t01["verdict"] == "pass" and t01["n_checked"] == len(jobs)  # every delivered image is the generate stage's
    assert t04["verdict"] == "pass" and t04["n"] == 6 and t04["ratio_ci95"][1] >= 0.9, t04  # Serve caches nothing
    assert 1 <= result["schedule"]["in_flight_limit"] <= result["schedule"]["in_flight_cap"]
    assert all(r["replica_ready_s"] is not None and (r["replica_ready_s"] > r["sent_s"]) == r["cold"] for r in rows)
    assert result["client_bound"] == (result["schedule_lag_p99_s"] > result["client_lag_bound_s"])
    assert not watchdog.pids_with(None) or all(watchdog.owner_alive(t) for t in watchdog.pids_with(None).values())


def test_run_failure_leaves_no_output(tmp_path):
    """No generate records for the model: refused before Ray starts, and stale outputs are gone."""
    (tmp_path / "records.jsonl").write_text("")
    params = compose_params(tmp_path, [f"model=[{MODEL}]", f"workload.jobs={ROOT / 'workloads/smoke.csv'}",
                                       f"paths.latency={tmp_path / 'latency.json'}", f"paths.records={tmp_path / 'records.jsonl'}",
                                       f"paths.latency_cdf={tmp_path / 'cdf.csv'}", f"paths.latency_load={tmp_path / 'load.csv'}"])
    # every path the stage writes or removes is under tmp_path: a relative one would delete the checkout's own file
    written = config.load(params, sections=("paths",))["paths"]
    assert all(str(getattr(written, k)).startswith(str(tmp_path)) for k in ("latency", "latency_cdf", "latency_load"))
    (tmp_path / "latency.json").write_text("stale")
    (tmp_path / "cdf.csv").write_text("stale")
    (tmp_path / "load.csv").write_text("stale")
    from sentinel.latency import run

    with pytest.raises(ValueError, match="no generate records for model 'tiny-sd'"):
        run(params)
    assert not any((tmp_path / f).exists() for f in ("latency.json", "cdf.csv", "load.csv"))


SERVE_THEN_SLEEP = textwrap.dedent("""
    import time
    from sentinel.latency.serve import ServeInstance
    inst = ServeInstance("127.0.0.1", num_cpus=1)
    print("URL", inst.start(), flush=True)
    time.sleep(600)
""")


def _serve_and_kill(tmp_path: Path) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVE_THEN_SLEEP], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path, start_new_session=True)
    line = proc.stdout.readline()
    assert line.startswith("URL http://127.0.0.1:"), line
    token = watchdog.token_for(proc.pid)
    assert watchdog.pids_with(token), "Serve's processes should carry the run's token"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc.pid, token


@pytest.mark.slow
def test_sigkill_of_the_stage_leaves_no_serving_process(tmp_path):
    _, token = _serve_and_kill(tmp_path)
    deadline = time.monotonic() + 10
    while watchdog.pids_with(token) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not watchdog.pids_with(token), "serving processes outlived the killed stage by 10 s"
    assert watchdog.reap_orphans() == 0  # nothing for the next run to clean up: it starts cleanly


# --- statistics ---------------------------------------------------------------------------------

def test_nearest_rank_closed_form():
    sample = [float(x) for x in range(1, 101)]
    assert [stats.percentile(sample, q) for q in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert stats.percentile([3.0], 99) == 3.0
    assert stats.percentile([1.0, 2.0], 50) == 1.0 and stats.percentile([1.0, 2.0], 51) == 2.0
    ten = [float(x) for x in range(10, 0, -1)]  # unsorted input
    assert stats.percentile(ten, 95) == 10.0 and stats.percentile(ten, 90) == 9.0
    assert stats.percentile([float(x) for x in range(1, 1001)], 99.9) == 999.0


def test_percentiles_are_ordered_and_never_exceed_max():
    samples = [[5.0, 1.0, 1.0], [0.1] * 7, [1.0, 2.0, math.inf], [float(i % 17) for i in range(1, 250)],
               [2.0 ** -i for i in range(40)]]
    for sample in samples:
        s = stats.summarize(sample)
        assert s["latency_p50_s"] <= s["latency_p95_s"] <= s["latency_p99_s"] <= s["latency_max_s"] == max(sample)
        assert all(s[f"latency_p{q}_s"] in sample for q in stats.REPORTED)


def test_a_miss_in_the_top_percent_sets_p99():
    sample = [1.0] * 99 + [math.inf]
    s = stats.summarize(sample)
    assert s["latency_p99_s"] == 1.0 and math.isinf(s["latency_max_s"]) and math.isinf(s["latency_mean_s"])
    s = stats.summarize([1.0] * 98 + [math.inf] * 2)
    assert math.isinf(s["latency_p99_s"]) and s["latency_p95_s"] == 1.0


def test_percentile_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        stats.percentile([], 50)
    with pytest.raises(ValueError, match="NaN"):
        stats.percentile([math.nan], 50)
    with pytest.raises(ValueError, match="q must be"):
        stats.percentile([1.0], 0)


def test_early_stopping_reproduces_mlperf_numbers():
    assert stats.min_requests(95, 0) == 90 and stats.min_requests(95, 1) == 130
    assert stats.min_requests(99, 0) == 459 and stats.min_requests(99, 1) == 662
    assert stats.claimable(90, 0, 95) and not stats.claimable(89, 0, 95)
    assert stats.claimable(662, 1, 99) and not stats.claimable(661, 1, 99)
    assert not stats.claimable(0, 0, 95) and not stats.claimable(20, 0, 95)
    assert stats.min_requests(95, 2) > 130


def test_binom_cdf_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    for k, n, p in [(0, 90, 0.05), (1, 130, 0.05), (3, 1000, 0.01), (50, 2000, 0.02)]:
        assert stats.binom_cdf(k, n, p) == pytest.approx(scipy_stats.binom.cdf(k, n, p), rel=1e-9)


def test_trace_replay_of_a_workload_without_arrival_times_is_refused_before_ray(tmp_path):
    """A workload of one's own (sentinel workload init) has no arrival_s: refused naming the key and file,
    in well under the seconds Ray takes to start, and no output is written."""
    import csv

    with open(ROOT / "workloads/smoke.csv", newline="") as f:
        rows = [r[:9] for r in csv.reader(f)]  # the required columns only
    jobs = tmp_path / "no-arrivals.csv"
    with open(jobs, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    (tmp_path / "records.jsonl").write_text("")
    params = compose_params(tmp_path, [f"model=[{MODEL}]", f"workload.jobs={jobs}", "latency.arrival=trace",
                                       f"paths.latency={tmp_path / 'latency.json'}", f"paths.records={tmp_path / 'records.jsonl'}",
                                       f"paths.latency_cdf={tmp_path / 'cdf.csv'}", f"paths.latency_load={tmp_path / 'load.csv'}"])
    from sentinel.latency import run

    started = time.monotonic()
    with pytest.raises(config.ConfigError, match=r"latency.arrival: trace .*/no-arrivals.csv has none"):
        run(params)
    assert time.monotonic() - started < 5 and not (tmp_path / "latency.json").exists()
