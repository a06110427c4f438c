"""Latency against the real model server: real processes on 127.0.0.1, real HTTP, no mocks.

Server processes are the expensive part (torch import + model build), so one module-scoped server
serves the HTTP tests and the request-level tests; `run()` and the failure path each start their
own. The load generator itself is tested against the stub server in test_latency_load.py.
"""
from __future__ import annotations

import http.client
import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml

from sentinel import config
from sentinel.models import loader
from sentinel.images import encode_png
from sentinel.latency import client, load, serving, stats
from sentinel.latency.server import check_loopback
from sentinel.provenance import sha256_bytes, write_jsonl
from sentinel.workloads.jobs import Job, load_jobs

ROOT = Path(__file__).resolve().parents[1]
MODEL = "tiny-sd"
pytestmark = pytest.mark.timeout(120)


def compose_params(tmp: Path, overrides: list[str]) -> Path:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose("config", overrides=overrides)
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(OmegaConf.to_container(cfg, resolve=True), sort_keys=False))
    return path


def server_pids(marker: str) -> list[int]:
    """Live processes whose command line mentions `marker` (a unique tmp path)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if marker in cmdline and "sentinel.latency.server" in cmdline:
                pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module", autouse=True)
def single_threaded_servers():
    """Servers inherit OMP_NUM_THREADS=1: on a shared 2-core box, 2-thread OpenMP inference
    stalls for seconds when another process takes a core. Tests assert no timings anyway."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        yield


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("latency")
    return compose_params(tmp, [f"model=[{MODEL}]", f"workload.jobs={ROOT / 'workloads/smoke.csv'}",
                                "latency.requests=2", "latency.load_requests=3", "latency.load_fractions=[1.0]",
                                "latency.search_steps=0", f"paths.latency={tmp / 'out/latency.json'}",
                                f"paths.latency_cdf={tmp / 'out/cdf.csv'}",
                                f"paths.latency_load={tmp / 'out/load.csv'}",
                                f"paths.records={tmp / 'records.jsonl'}"])


def latency_cfg(params: Path, **changes):
    return replace(config.load(params, sections=("latency",))["latency"], **changes)


@pytest.fixture(scope="module")
def jobs() -> list[Job]:
    return load_jobs(ROOT / "workloads/smoke.csv")[:2]


@pytest.fixture(scope="module")
def reference(params, jobs) -> dict[str, bytes]:
    """The expected PNG per job, generated in this process and encoded the one way, with the same
    intra-op thread count as the servers (CPU float reductions, hence pixels, depend on it)."""
    model = loader.load(config.load(params, sections=("model",))["model"][MODEL])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pngs = {job.id: encode_png(model.generate(job)) for job in jobs}
    finally:
        torch.set_num_threads(threads)
    records = config.load(params, sections=("paths",))["paths"].records  # what the generate stage writes
    write_jsonl(records, [{"model": MODEL, "job_id": k, "sha256": sha256_bytes(v)} for k, v in pngs.items()])
    return pngs


@pytest.fixture(scope="module")
def server(params):
    srv = client.ServerProcess(str(params), MODEL, "127.0.0.1", startup_timeout_s=120.0)
    srv.start()
    yield srv
    assert srv.stop() == 0, "server did not exit cleanly on SIGTERM"
    assert not server_pids(str(params))


def request(url: str, method: str, path: str, body: bytes | None = None) -> tuple[int, dict, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


# --- server -------------------------------------------------------------------------------------

def test_healthz_and_unknown_path(server):
    status, _, body = request(server.url, "GET", "/healthz")
    health = json.loads(body)
    assert status == 200 and health["model"] == MODEL and health["ready"] is True
    assert 0 < health["weight_load_s"] < 120
    status, _, body = request(server.url, "GET", "/nope")
    assert status == 404 and "/nope" in json.loads(body)["error"]


def test_png_is_byte_identical_to_in_process_generation(server, jobs, reference):
    for job in jobs:
        status, headers, body = request(server.url, "POST", "/v1/generate", json.dumps(job.to_dict()).encode())
        assert status == 200 and headers["Content-Type"] == "image/png"
        assert float(headers["X-Compute-Seconds"]) > 0
        assert body == reference[job.id]


@pytest.mark.parametrize("mutate, field", [
    (lambda d: {**d, "width": 60}, "width"),
    (lambda d: {k: v for k, v in d.items() if k != "seed"}, "seed"),
    (lambda d: {**d, "steps": "4"}, "steps"),
    (lambda d: {**d, "guidance": True}, "guidance"),
    (lambda d: {**d, "prompt": ""}, "prompt"),
    (lambda d: {**d, "colour": "red"}, "colour"),
    (lambda d: [d], "body"),
])
def test_bad_request_names_the_field(server, jobs, mutate, field):
    status, _, body = request(server.url, "POST", "/v1/generate", json.dumps(mutate(jobs[0].to_dict())).encode())
    error = json.loads(body)
    assert status == 400 and error["field"] == field and field in error["error"]


def test_bad_json_is_400(server):
    status, _, body = request(server.url, "POST", "/v1/generate", b"{not json")
    assert status == 400 and json.loads(body)["field"] == "body"


def test_non_loopback_host_is_refused(params):
    for host in ("0.0.0.0", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            check_loopback(host)
    assert check_loopback("127.0.0.1") == "127.0.0.1" and check_loopback("::1") == "::1"
    proc = subprocess.run([sys.executable, "-m", "sentinel.latency.server", "--params", str(params),
                           "--model", MODEL, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not a loopback address" in proc.stderr and proc.stdout == ""
    with pytest.raises(ValueError, match="loopback"):
        serving.measure_model(str(params), MODEL, [], latency_cfg(params, host="0.0.0.0"))


# --- measurement against the running server -----------------------------------------------------

def test_failed_requests_are_misses_and_reach_p99(server, jobs, reference):
    bad = replace(jobs[0], id="bad-width", width=60)  # server answers 400
    expected = {job.id: sha256_bytes(png) for job, png in ((j, reference[j.id]) for j in jobs)}
    expected[jobs[1].id] = "0" * 64  # a wrong image is a miss too
    result = load.closed_loop(serving._sender(server.url, [jobs[0], bad, jobs[1]], expected), 4, 1, 60.0)
    latencies, misses, rate = result.latencies_s, result.misses, result.achieved_rate_rps
    assert [m["index"] for m in misses] == [1, 2]
    assert "HTTP 400" in misses[0]["reason"] and "width" in misses[0]["reason"]
    assert "sha256 mismatch" in misses[1]["reason"]
    assert math.isinf(latencies[1]) and math.isinf(latencies[2]) and all(0 < latencies[i] < 60 for i in (0, 3))
    summary = stats.summarize(latencies)
    assert math.isinf(summary["latency_p99_s"]) and math.isinf(summary["latency_max_s"])
    assert rate > 0


def test_timeout_is_a_miss(server, jobs):
    result = load.closed_loop(serving._sender(server.url, jobs[:1], None), 1, 1, 0.01)
    assert result.latencies_s == [math.inf] and "timeout" in result.misses[0]["reason"]


# --- measure_model / run ------------------------------------------------------------------------

def own_copy(params: Path, tmp_path: Path) -> Path:
    """A private copy of params.yaml, so its path identifies this test's server process."""
    path = tmp_path / "params.yaml"
    path.write_text(params.read_text())
    return path


def test_measure_model_stops_server_when_it_raises(params, jobs, tmp_path):
    params = own_copy(params, tmp_path)
    cfg = latency_cfg(params, startup_timeout_s=0.5)
    with pytest.raises(TimeoutError, match="not READY within startup_timeout_s=0.5"):
        serving.measure_model(str(params), MODEL, jobs, cfg)  # raises while the server is still loading
    assert not server_pids(str(params))


def test_run_writes_the_latency_file(params, reference, tmp_path):
    from sentinel.latency import run

    params = own_copy(params, tmp_path)
    out = Path(config.load(params, sections=("paths",))["paths"].latency)
    doc = run(params)
    assert not server_pids(str(params))
    assert json.loads(out.read_text()) == doc
    result = doc["models"][MODEL]
    assert result["n_requests"] == 2 and result["n_failed"] == 0 and len(result["per_request_s"]) == 2
    assert result["cold_start_s"] == pytest.approx(result["startup_s"] + result["first_inference_s"], abs=1e-5)
    assert result["startup_s"] == pytest.approx(result["process_start_s"] + result["weight_load_s"], abs=1e-5)
    assert result["weight_load_s"] > 0 and result["process_start_s"] > 0
    assert result["latency_p50_s"] <= result["latency_p95_s"] <= result["latency_p99_s"] <= result["latency_max_s"]
    assert result["latency_max_s"] == max(result["per_request_s"])
    assert result["p95_claimable"] is False and result["percentile_method"] == "nearest-rank"
    assert result["sha256_checked"] is True  # served bytes checked against the generate records
    assert result["failure_rate"] == 0 and result["goodput_fraction"] == 1.0 and result["slo_s"] == 1.0
    assert result["p95_min_requests"] == 90 and result["p99_min_requests"] == 459
    warm_max = max(result["per_request_s"])
    assert result["blended_latency_p50_s"] == result["blended_latency_p99_s"] == warm_max  # 2 x 49.5 % + 1 % cold
    # load: fraction 1.0, then the search bracket [0.5, 2.0] (2.0 only if 0.5 met the SLO)
    fractions = [r["offered_fraction_of_capacity"] for r in result["load"]]
    assert fractions[:2] == [0.5, 1.0] and fractions[2:] in ([], [2.0])
    assert all(r["n_requests"] == 3 and r["offered_rate_rps"] > 0 for r in result["load"])
    paths = config.load(params, sections=("paths",))["paths"]
    assert len(Path(paths.latency_load).read_text().splitlines()) == 1 + len(result["load"])
    cdf = Path(paths.latency_cdf).read_text().splitlines()
    assert cdf[0] == "model,latency_s,cumulative_fraction" and cdf[-1].endswith(",1.0") and len(cdf) == 3
    assert doc["note"] == "timings; machine-dependent; plumbing models on CPU" and "torch" in doc["provenance"]


def test_run_failure_leaves_no_output(tmp_path):
    params = compose_params(tmp_path, [f"model=[{MODEL}]", f"workload.jobs={ROOT / 'workloads/smoke.csv'}",
                                       "latency.host=0.0.0.0", f"paths.latency={tmp_path / 'latency.json'}",
                                       f"paths.latency_cdf={tmp_path / 'cdf.csv'}"])
    (tmp_path / "latency.json").write_text("stale")
    (tmp_path / "cdf.csv").write_text("stale")
    from sentinel.latency import run

    with pytest.raises(ValueError, match="loopback"):
        run(params)
    assert not (tmp_path / "latency.json").exists() and not (tmp_path / "cdf.csv").exists()


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
