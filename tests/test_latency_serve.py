"""The model as a Ray Serve deployment on 127.0.0.1: bytes, bad requests, bursts, changed images.

One module-scoped Serve instance with one tiny-sd replica (Ray start, then torch import in the
replica: the expensive part). In its own module so no other test's Ray instance overlaps it.
"""
from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from sentinel.latency import client, compliance, load, serving
from sentinel.latency.serve import ServeInstance
from sentinel.provenance import sha256_bytes

from test_latency import MODEL, jobs, model_cfg, params, reference  # noqa: F401 - shared fixtures

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def endpoint_instance():
    with ServeInstance("127.0.0.1", num_cpus=1) as inst:
        yield inst


@pytest.fixture(scope="module")
def endpoint(endpoint_instance, model_cfg):
    return endpoint_instance.deploy(model_cfg, min_replicas=1, max_replicas=1, downscale_delay_s=60, replica_cpus=0.5)


def post(url: str, body: bytes) -> tuple[int, dict]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", parts.path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


# --- the Serve deployment -----------------------------------------------------------------------

def test_png_is_byte_identical_to_in_process_generation(endpoint, jobs, reference):
    for job in jobs[:2]:
        resp = client.post_job(endpoint, job, 60.0)
        assert resp.status == 200 and not resp.error and float(resp.headers["x-compute-seconds"]) > 0
        assert resp.body == reference[job.id] and resp.headers["x-replica"].startswith(MODEL)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: {**d, "width": 60}, "width"),
    (lambda d: {k: v for k, v in d.items() if k != "seed"}, "seed"),
    (lambda d: {**d, "guidance": True}, "guidance"),
    (lambda d: {**d, "colour": "red"}, "colour"),
    (lambda d: [d], "body"),
])
def test_bad_request_names_the_field(endpoint, jobs, mutate, field):
    status, error = post(endpoint, json.dumps(mutate(jobs[0].to_dict())).encode())
    assert status == 400 and error["field"] == field and field in error["error"]


def test_64_simultaneous_requests_are_all_served(endpoint, jobs):
    """The stdlib server this replaced reset 105 of 256 requests arriving in bursts of 64."""
    barrier, out = threading.Barrier(64), [None] * 64

    def one(i: int) -> None:
        barrier.wait()
        out[i] = client.post_job(endpoint, jobs[i % len(jobs)], 120.0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in out] == [200] * 64, {r.error for r in out if r.error}


def test_a_changed_image_is_a_miss_naming_the_job(endpoint, jobs, reference):
    """A serving setting that changes the output (TEST01): the wrong bytes are a miss, by job."""
    resp = client.post_job(endpoint, jobs[0], 60.0)
    reason = client.check(resp, jobs[0], {jobs[0].id: "0" * 64})
    assert reason.startswith(f"sha256 mismatch for job {jobs[0].id}")
    assert client.check(resp, jobs[0], {jobs[0].id: sha256_bytes(reference[jobs[0].id])}) == ""


def test_a_deployment_with_other_steps_fails_test01_naming_the_model_and_the_job(endpoint_instance, model_cfg,
                                                                                  jobs, reference):
    """The serving replica alone runs 2 steps where the generate stage ran the job's 4: faster, and
    every delivered image differs from the generate stage's, so TEST01 fails by model and job."""
    changed = dataclasses.replace(model_cfg, steps=2)
    url = endpoint_instance.deploy(changed, min_replicas=1, max_replicas=1, downscale_delay_s=60, replica_cpus=0.5,
                                   name="changed-steps")
    try:
        expected = {j.id: sha256_bytes(reference[j.id]) for j in jobs[:2]}
        result = load.closed_loop(serving.sender(url, jobs[:2], expected), 2, 1, 120.0)
    finally:
        endpoint_instance.remove("changed-steps")
    verdict = compliance.run_test01(MODEL, [serving.request_row(MODEL, r) for r in result.rows], checked=True)
    assert verdict["verdict"] == "fail" and verdict["mismatched_jobs"] == sorted(j.id for j in jobs[:2]), verdict
    assert verdict["reason"].startswith(f"{MODEL}: 2 of 2 delivered images differ") and jobs[0].id in verdict["reason"]




def _cold_flags(url: str, jobs, offsets: list[float]) -> list[bool]:
    rows = load.open_loop(serving.sender(url, jobs, None), offsets, 120.0, 8).rows
    assert all(r["ok"] for r in rows), [r["reason"] for r in rows]
    return [r["cold"] for r in rows]


def test_an_idle_gap_scales_to_zero_and_the_next_request_is_cold(endpoint_instance, model_cfg, jobs):
    """min_replicas 0, downscale after 1 s idle: a trace without a gap meets a warm replica; after
    a 12 s gap the next request waits for a new replica and is reported cold, with its latency."""
    url = endpoint_instance.deploy(model_cfg, min_replicas=0, max_replicas=1, downscale_delay_s=1.0,
                                   replica_cpus=0.5, name="cold-test")
    try:
        client.post_job(url, jobs[0], 120.0)  # the first replica start, outside both traces
        assert _cold_flags(url, jobs[:4], [0.0, 0.1, 0.2, 0.3]) == [False] * 4
        flags = _cold_flags(url, jobs[:4], [0.0, 0.1, 12.1, 12.2])
        assert flags[:2] == [False, False] and flags[2] is True
    finally:
        endpoint_instance.remove("cold-test")
