"""The local executor: same records and bytes as the generate stage's loop, exactly-once files, resume."""
from __future__ import annotations

import dataclasses
import json

import pytest

from sentinel import executors
from sentinel.models import loader
from sentinel.config import ConfigError
from sentinel.executors import store
from sentinel.generate import generate_model
from sentinel.provenance import sha256_file
from sentinel.workloads.jobs import load_jobs


@pytest.fixture(scope="module")
def jobs(root):
    return load_jobs(root / "workloads/smoke.csv")[:6]


@pytest.fixture(scope="module")
def cfg(model_cfgs):
    return model_cfgs["tiny-sd"]


@pytest.fixture(scope="module")
def reference(cfg, jobs, tmp_path_factory):
    """What the generate stage's own loop writes for these jobs."""
    out = tmp_path_factory.mktemp("stage")
    records, _ = generate_model(loader.load(cfg), jobs, out / cfg.name)
    return records, {j.id: (out / cfg.name / f"{j.id}.png").read_bytes() for j in jobs}


def _files(work, model):
    return sorted(p.name for p in (work / model).iterdir())


def test_local_executor_gives_the_stage_loops_records_and_bytes(cfg, jobs, reference, tmp_path):
    results = executors.run_jobs(cfg, jobs, tmp_path)
    records, pngs = reference
    assert [r["record"] for r in results] == records
    assert [r["record"]["job_id"] for r in results] == [j.id for j in jobs]  # workload order
    for job in jobs:
        assert (tmp_path / cfg.name / f"{job.id}.png").read_bytes() == pngs[job.id]
    assert _files(tmp_path, cfg.name) == sorted([f"{j.id}.png" for j in jobs] + [f"{j.id}.json" for j in jobs])
    assert {r["timing"]["executor"] for r in results} == {"local"} and not any(r["resumed"] for r in results)
    dest = tmp_path / "published"
    executors.publish(results, tmp_path, dest)
    assert sorted(p.name for p in (dest / cfg.name).iterdir()) == sorted(f"{j.id}.png" for j in jobs)


def test_rerun_skips_valid_outputs_and_redoes_torn_stale_or_missing_ones(cfg, jobs, reference, tmp_path):
    first = executors.run_jobs(cfg, jobs, tmp_path)
    folder = tmp_path / cfg.name
    png = folder / f"{jobs[0].id}.png"
    png.write_bytes(png.read_bytes()[:100])  # torn image (a crash mid-write without atomic rename)
    (folder / f"{jobs[1].id}.json").unlink()  # killed between the PNG and its sidecar
    side = folder / f"{jobs[2].id}.json"
    stale = json.loads(side.read_text())
    side.write_text(json.dumps({**stale, "fingerprint": "0" * 64}))  # written under another config
    (folder / f".{jobs[3].id}.png.abc.tmp").write_bytes(b"partial")  # a killed writer's temp file
    again = executors.run_jobs(cfg, jobs, tmp_path)
    redone = {r["record"]["job_id"] for r in again if not r["resumed"]}
    assert redone == {jobs[0].id, jobs[1].id, jobs[2].id}
    assert [r["record"] for r in again] == [r["record"] for r in first] == reference[0]
    for job in jobs:
        assert (folder / f"{job.id}.png").read_bytes() == reference[1][job.id]
    assert _files(tmp_path, cfg.name) == sorted([f"{j.id}.png" for j in jobs] + [f"{j.id}.json" for j in jobs])
    resumed = [r for r in again if r["resumed"]]
    assert all(r["timing"] == next(f for f in first if f["record"]["job_id"] == r["record"]["job_id"])["timing"]
               for r in resumed), "a resumed job keeps the timing measured when it ran"


def test_load_done_accepts_only_ok_matching_decodable_outputs(cfg, jobs, tmp_path):
    executors.run_jobs(cfg, jobs[:1], tmp_path)
    job = jobs[0]
    assert store.load_done(tmp_path, cfg, job)["resumed"] is True
    other_cfg = dataclasses.replace(cfg, init_seed=cfg.init_seed + 1)  # a different model: not done
    assert store.load_done(tmp_path, other_cfg, job) is None
    other_job = dataclasses.replace(job, seed=job.seed + 1)
    assert store.load_done(tmp_path, cfg, other_job) is None
    side = store.sidecar_path(tmp_path, cfg.name, job.id)
    stored = json.loads(side.read_text())
    stored["record"]["status"] = "failed"  # a failed job is tried again on rerun
    side.write_text(json.dumps(stored))
    assert store.load_done(tmp_path, cfg, job) is None
    stored["record"]["status"] = "ok"
    stored["record"]["sha256"] = "f" * 64  # bytes that are not what was recorded
    side.write_text(json.dumps(stored))
    assert store.load_done(tmp_path, cfg, job) is None
    assert sha256_file(store.png_path(tmp_path, cfg.name, job.id)) != "f" * 64


def test_reconcile_refuses_missing_extra_or_misfiled_results(jobs):
    results = {j.id: {"record": {"job_id": j.id}} for j in jobs}
    assert [r["record"]["job_id"] for r in store.reconcile("m", list(reversed(jobs)), results)] == \
        [j.id for j in reversed(jobs)]
    short = {k: v for k, v in results.items() if k != jobs[2].id}
    with pytest.raises(store.ExecutorError, match=rf"expected {len(jobs)} results, got {len(jobs) - 1}; "
                                                 rf"missing \['{jobs[2].id}'\]"):
        store.reconcile("m", jobs, short)
    with pytest.raises(store.ExecutorError, match=r"unexpected \['zzz'\]"):
        store.reconcile("m", jobs, {**results, "zzz": {"record": {"job_id": "zzz"}}})
    misfiled = {**results, jobs[0].id: {"record": {"job_id": jobs[1].id}}}
    with pytest.raises(store.ExecutorError, match="filed under"):
        store.reconcile("m", jobs, misfiled)


def test_commit_refuses_bytes_that_do_not_match_the_record(cfg, tmp_path):
    result = {"record": {"model": cfg.name, "job_id": "x", "sha256": "0" * 64}, "timing": {}}
    with pytest.raises(store.ExecutorError, match="do not match the recorded sha256"):
        store.commit(tmp_path, result, b"not these bytes", "key")
    assert not (tmp_path / cfg.name / "x.png").exists()


def test_bad_settings_are_refused_naming_the_key(cfg, jobs, tmp_path):
    with pytest.raises(ConfigError, match=r"generate\.executor: unknown executor 'dask' \(valid: local, ray\)"):
        executors.run_jobs(cfg, jobs, tmp_path, dataclasses.replace(executors.LOCAL, executor="dask"))
    with pytest.raises(ConfigError, match=r"generate\.cpus_per_actor: must be >= 0"):
        executors.run_jobs(cfg, jobs, tmp_path, dataclasses.replace(executors.LOCAL, cpus_per_actor=-1.0))
    with pytest.raises(store.ExecutorError, match="unique"):
        executors.run_jobs(cfg, [jobs[0], jobs[0]], tmp_path)


def test_every_generate_option_composes_and_validates(tmp_path):
    import yaml

    from sentinel import config
    from sentinel.compose import compose

    assert config.choices("generate") == ["local", "ray"]
    for option in config.choices("generate"):
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(compose([f"generate={option}"])))
        assert config.load(path, sections=("generate",))["generate"].executor == option


def test_batched_resume_reruns_whole_canonical_batches(cfg, jobs, tmp_path):
    """With batch_size > 1 an image may differ in its last bit with batch composition, so a resumed
    run must recompute a lost job inside the same batch an uninterrupted run used."""
    batched = dataclasses.replace(cfg, batch_size=4)
    stage_records, _ = generate_model(loader.load(batched), jobs, tmp_path / "stage" / cfg.name)
    work = tmp_path / "work"
    first = executors.run_jobs(batched, jobs, work)
    assert [r["record"] for r in first] == stage_records
    assert {r["timing"]["batch_size"] for r in first} == {4, 2}  # 6 jobs, one setting: batches of 4 and 2
    lost = jobs[1].id  # in the first batch, with three others
    store.png_path(work, cfg.name, lost).unlink()
    store.sidecar_path(work, cfg.name, lost).unlink()
    again = executors.run_jobs(batched, jobs, work)
    rerun = {r["record"]["job_id"] for r in again if not r["resumed"]}
    assert lost in rerun and len(rerun) == 4, "the lost job's whole batch ran again"
    assert [r["record"] for r in again] == stage_records
