"""Video and try-on models as Ray Serve deployments (sentinel.latency.kinds), and the media latency stages.

One module-scoped Serve instance (Ray start and each replica's torch import are the expensive
part) hosts the tiny Wan video model and the tiny try-on model. The expected bytes come from the
families' own generate stages run in this process (sentinel.video.generate_stage,
sentinel.tryon.generate_stage): their records' sha256, independent of the server. Checked: strips
and results served over HTTP are byte-identical to them (TEST01 passes, and fails naming the job
on a tampered sha256), try-on images travel inlined, a bad payload gets 400 naming the field, and
the video stage writes one requests.jsonl row per job with the server's split, latency.json last,
a vendor model's split included, and nothing when it fails.
"""
from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from sentinel.errors import ConfigError
from sentinel.latency import client, compliance, kinds, load, media, serving
from sentinel.provenance import read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
VIDEO, TRYON, VENDOR = "tiny-wan", "tiny-tryon", "fake-video-api"
N_VIDEO, N_TRYON = 3, 2
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
LATENCY = {"slo_s": 5.0, "requests": 3, "search_steps": 0, "search_fractions": [0.5, 1.0], "probe_min_requests": 6,
           "probe_min_duration_s": 0.2, "probe_warmup_s": 0.0, "min_replicas": 1, "max_replicas": 1, "num_cpus": 2,
           "replica_cpus": 0.5, "timeout_s": 60.0}


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media-latency")


@pytest.fixture(scope="module")
def params(tmp) -> Path:
    """The media families composed from conf/, outputs under tmp, a short video workload."""
    from sentinel.compose import compose

    p = compose([f"video_model=[{VIDEO},{VENDOR}]", f"tryon_model=[{TRYON}]"])
    lines = (ROOT / "workloads/video-smoke.csv").read_text().splitlines(keepends=True)
    (tmp / "video.csv").write_text("".join(lines[:1 + N_VIDEO]))
    p["video"]["workload"]["jobs"] = str(tmp / "video.csv")
    p["video"]["latency"] = dict(LATENCY)
    for fam in ("video", "tryon"):
        p[fam]["paths"] = {k: str(tmp / fam / k) for k in p[fam]["paths"]}
    p["tryon"]["workload"].update(root=str(ROOT / p["tryon"]["workload"]["root"]),
                                  jobs=str(ROOT / p["tryon"]["workload"]["jobs"]),
                                  pairs=str(ROOT / p["tryon"]["workload"]["pairs"]))
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def video(params):
    """(section, jobs, records): H1's generate stage run here, in this process."""
    from sentinel.video import generate_stage
    from sentinel.video.config import load_video_section

    section = load_video_section(params)
    generate_stage.run_model(section, VIDEO)
    from sentinel.video.latency_stage import _jobs

    return section, _jobs(section), read_jsonl(Path(section.paths.records) / f"{VIDEO}.jsonl")


@pytest.fixture(scope="module")
def tryon(params):
    """(section, jobs, records, payload): H4's run_job on the first jobs, in this process."""
    from sentinel.tryon import generate_stage
    from sentinel.tryon.config import load_tryon_section
    from sentinel.tryon.models import load_tryon_model

    section = load_tryon_section(params)
    jobs = generate_stage.load_jobs(section)[:N_TRYON]
    model = load_tryon_model(section.models[TRYON])
    records = [generate_stage.run_job(model, j, Path(section.workload.root))[0] for j in jobs]
    return section, jobs, records, kinds.inline_images(section.workload.root)


@pytest.fixture(scope="module")
def instance():
    from sentinel.latency.serve import ServeInstance
    from sentinel.video.api.fake_vendor import DEV_KEY

    os.environ.setdefault("SENTINEL_VIDEO_FAKE_KEY", DEV_KEY)  # before Ray: replicas inherit the environment
    with ServeInstance("127.0.0.1", num_cpus=2) as inst:
        yield inst


@pytest.fixture(scope="module")
def video_url(instance, video):
    return instance.deploy(video[0].models[VIDEO], min_replicas=1, max_replicas=1, downscale_delay_s=60,
                           replica_cpus=0.5, name="video-fixture", kind="video")


@pytest.fixture(scope="module")
def tryon_url(instance, tryon):
    return instance.deploy(tryon[0].models[TRYON], min_replicas=1, max_replicas=1, downscale_delay_s=60,
                           replica_cpus=0.5, name="tryon-fixture", kind="tryon")


def sha256s(records) -> dict[str, str]:
    assert records and all(r["status"] == "ok" for r in records), records
    return {r["job_id"]: r["sha256"] for r in records}


def post(url: str, obj) -> tuple[int, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", parts.path, body=json.dumps(obj).encode(), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


# --- video ---------------------------------------------------------------------------------------

def test_video_strips_are_the_generate_records_bytes_and_test01_passes(video_url, video):
    _, jobs, records = video
    result = load.closed_loop(serving.sender(video_url, jobs, sha256s(records), split=True), len(jobs), 1, 60.0)
    rows = [serving.request_row(VIDEO, r) for r in result.rows]
    assert [r["job"] for r in rows] == [j.id for j in jobs] and all(r["ok"] for r in rows), rows
    assert all(r["generation_s"] > 0 and r["encoding_s"] > 0 and r["vendor_queue_s"] is None for r in rows)
    assert all(r["compute_s"] >= r["generation_s"] + r["encoding_s"] - 1e-5 for r in rows)
    verdict = compliance.run_test01(VIDEO, rows, checked=True)
    assert verdict["verdict"] == "pass" and verdict["n_checked"] == len(jobs)


def test_a_tampered_expected_sha256_fails_test01_naming_the_job(video_url, video):
    _, jobs, records = video
    expected = {**sha256s(records), jobs[1].id: "0" * 64}
    result = load.closed_loop(serving.sender(video_url, jobs, expected), len(jobs), 1, 60.0)
    verdict = compliance.run_test01(VIDEO, [serving.request_row(VIDEO, r) for r in result.rows], checked=True)
    assert verdict["verdict"] == "fail" and verdict["mismatched_jobs"] == [jobs[1].id], verdict
    assert verdict["reason"].startswith(f"{VIDEO}: 1 of {len(jobs)} delivered") and jobs[1].id in verdict["reason"]


@pytest.mark.parametrize("mutate, field", [
    (lambda d: {**d, "width": "wide"}, "width"),
    (lambda d: {**d, "width": 40}, "width"),  # not a multiple of 16
    (lambda d: {k: v for k, v in d.items() if k != "seed"}, "seed"),
    (lambda d: {**d, "fps": 0}, "fps"),
    (lambda d: {**d, "n_frames": 3}, "n_frames"),
    (lambda d: {**d, "colour": "red"}, "colour"),
    (lambda d: [d], "body"),
])
def test_a_bad_video_payload_is_400_naming_the_field(video_url, video, mutate, field):
    status, error = post(video_url, mutate(video[1][0].to_dict()))
    assert status == 400 and error["field"] == field and field in error["error"], error


# --- try-on --------------------------------------------------------------------------------------

def test_tryon_results_with_inlined_images_are_the_generate_records_bytes(tryon_url, tryon):
    _, jobs, records, payload = tryon
    assert set(payload(jobs[0])["images"]) == {"person", "garment", "mask"}
    assert base64.b64decode(payload(jobs[0])["images"]["person"]).startswith(b"\x89PNG")
    from sentinel.tryon.latency_stage import _sizes

    sizes = _sizes(tryon[0], jobs)  # the person's size: the generate records' result size
    assert sizes == {r["job_id"]: (r["width"], r["height"]) for r in records}
    send = serving.sender(tryon_url, jobs, sha256s(records), payload, split=True, sizes=sizes)
    result = load.closed_loop(send, len(jobs), 1, 60.0)
    assert all(r["ok"] for r in result.rows), [r["reason"] for r in result.rows]
    assert [(r["width"], r["height"]) for r in result.rows] == [sizes[j.id] for j in jobs]
    verdict = compliance.run_test01(TRYON, [serving.request_row(TRYON, r) for r in result.rows], True)
    assert verdict["verdict"] == "pass" and verdict["n_checked"] == len(jobs)
    resp = client.post_job(tryon_url, jobs[0], 60.0, payload)
    assert client.check(resp, jobs[0], {jobs[0].id: "f" * 64}).startswith(f"sha256 mismatch for job {jobs[0].id}")
    fresh = compliance.fresh_jobs(jobs[0], 1, {j.seed for j in jobs}, 0)[0]  # TEST04's: same images, new seed
    assert fresh.person == jobs[0].person and fresh.seed != jobs[0].seed
    assert client.post_job(tryon_url, fresh, 60.0, payload).status == 200


@pytest.mark.parametrize("mutate, field", [
    (lambda d: {k: v for k, v in d.items() if k != "images"}, "images"),
    (lambda d: {**d, "images": {**d["images"], "person": "not base64!"}}, "images.person"),
    (lambda d: {**d, "images": {**d["images"], "garment": base64.b64encode(b"GIF89a....").decode()}},
     "images.garment"),
    (lambda d: {**d, "images": {k: v for k, v in d["images"].items() if k != "mask"}}, "images.mask"),
    (lambda d: {**d, "seed": -1}, "seed"),
    (lambda d: {**d, "person": 7}, "person"),
])
def test_a_bad_tryon_payload_is_400_naming_the_field(tryon_url, tryon, mutate, field):
    status, error = post(tryon_url, mutate(tryon[3](tryon[1][0])))
    assert status == 400 and error["field"] == field and field in error["error"], error


# --- the stage ------------------------------------------------------------------------------------

def test_video_stage_writes_one_request_row_per_job_and_latency_json_last(instance, params, video):
    from sentinel.video.latency_stage import VIDEO as FAMILY

    section, jobs, records = video
    docs = media.run(FAMILY, params, VIDEO, serve=instance)
    out = Path(section.paths.latency) / VIDEO
    rows = read_jsonl(out / "requests.jsonl")
    assert [r["job"] for r in rows] == [j.id for j in jobs] and all(r["ok"] for r in rows), rows
    assert all(r["queue_s"] is not None and r["compute_s"] > 0 and r["generation_s"] > 0 and r["encoding_s"] > 0
               for r in rows)
    doc = json.loads((out / "latency.json").read_text())
    assert doc == json.loads(json.dumps(docs[VIDEO]))
    fig = doc["models"][VIDEO]
    assert fig["n_requests"] == len(jobs) and fig["n_failed"] == 0 and fig["slo_s"] == LATENCY["slo_s"]
    assert fig["latency_p95_s"] == max(r["latency_s"] for r in rows)  # nearest rank over 3 requests: the max
    assert fig["compliance"]["test01"]["verdict"] == "pass" and fig["compliance"]["test01"]["n_checked"] == len(jobs)
    assert fig["compliance"]["test04"]["verdict"] == "pass"
    assert fig["breakdown"]["generation_s"]["n"] == len(jobs) and fig["breakdown"]["vendor_queue_s"] is None
    src = doc["config"]["latency_keys_from"]
    assert src["slo_s"] == "video.latency" and src["host"] == "latency" and doc["config"]["kind"] == "video"


def test_a_vendor_models_split_reaches_requests_jsonl(instance, params, video):
    """The loopback fake vendor (started by the stage) states queue and generation seconds; vendor
    clips are not byte-reproducible, so TEST01 is not applicable."""
    from sentinel.video.latency_stage import VIDEO as FAMILY

    media.run(FAMILY, params, VENDOR, serve=instance)
    out = Path(video[0].paths.latency) / VENDOR
    rows = read_jsonl(out / "requests.jsonl")
    assert len(rows) == N_VIDEO and all(r["ok"] for r in rows), rows
    assert all(r["vendor_queue_s"] is not None and r["vendor_queue_s"] >= 0.0 and r["generation_s"] > 0 for r in rows)
    fig = json.loads((out / "latency.json").read_text())["models"][VENDOR]
    assert fig["compliance"]["test01"]["verdict"] == "not_applicable" and fig["sha256_checked"] is False


def test_the_stage_fails_before_ray_and_leaves_no_output(params, tmp):
    from sentinel.video.latency_stage import run

    bad = yaml.safe_load(params.read_text())
    bad["video"]["paths"]["records"] = str(tmp / "no-records")
    stale = Path(bad["video"]["paths"]["latency"]) / "other" / VIDEO / "latency.json"
    bad["video"]["paths"]["latency"] = str(stale.parents[1])
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    path = tmp / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match=rf"no-records/{VIDEO}\.jsonl: not found"):
        run(path, VIDEO)
    assert not stale.exists()
    with pytest.raises(ConfigError, match=r"video\.models\.nope: not in"):
        run(path, "nope")
    bad["video"]["latency"] = {**LATENCY, "slo_secs": 1.0}
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match=r"video\.latency\.slo_secs: unknown key"):
        run(path, VIDEO)
    bad["video"]["latency"] = {**LATENCY, "slo_s": -1.0}
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match=r"video\.latency\.slo_s: must be > 0"):
        run(path, VIDEO)


def test_tryon_stage_refuses_trace_arrival_without_arrival_times(params, tmp):
    from sentinel.tryon.latency_stage import run

    p = yaml.safe_load(params.read_text())
    p["tryon"]["latency"] = {"arrival": "trace"}
    write_jsonl(Path(p["tryon"]["paths"]["records"]) / f"{TRYON}.jsonl", [])
    path = tmp / "trace.yaml"
    path.write_text(yaml.safe_dump(p))
    with pytest.raises(ConfigError, match=r"tryon\.latency\.arrival: trace replays"):
        run(path, TRYON)


def test_kinds_are_picklable_by_name_and_unknown_ones_are_refused():
    assert kinds.get("image").name == "image" and kinds.get("video").split and kinds.get("tryon").split
    assert isinstance(kinds.get("sentinel.latency.kinds:VideoKind"), kinds.VideoKind)
    with pytest.raises(ValueError, match="kind: unknown 'audio'"):
        kinds.get("audio")
    assert dataclasses.is_dataclass(kinds.Rendered)
