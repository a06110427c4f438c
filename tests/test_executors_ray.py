"""The Ray executor on a local 2-CPU instance: byte-identical to local, survives dead workers and a
SIGKILLed driver (rerun resumes: nothing missing, nothing twice)."""
from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from sentinel import executors
from sentinel.workloads.jobs import load_jobs

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # Ray start-up and actors importing torch: ~1.5 min on 2 shared cores
RAY = dataclasses.replace(executors.LOCAL, executor="ray", actors_per_model=2, cpus_per_actor=0.5)


def _jobs(root, n: int):
    """`n` jobs: the smoke workload's, then copies with fresh ids and seeds."""
    base = load_jobs(root / "workloads/smoke.csv")
    return [dataclasses.replace(base[i % len(base)], id=f"{base[i % len(base)].id}-{i // len(base)}",
                                seed=base[i % len(base)].seed + 1000 * (i // len(base)))
            for i in range(n)]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def cfg(model_cfgs):
    return model_cfgs["tiny-sd"]


@pytest.fixture(scope="module")
def local_run(cfg, root, tmp_path_factory):
    work = tmp_path_factory.mktemp("local")
    jobs = _jobs(root, 16)
    return jobs, work, executors.run_jobs(cfg, jobs, work)


def _bytes(work, cfg, jobs):
    return {j.id: (work / cfg.name / f"{j.id}.png").read_bytes() for j in jobs}


def _files(work, cfg):
    return sorted(p.name for p in (work / cfg.name).iterdir())


def test_ray_gives_byte_identical_images_and_records_to_local(cluster, cfg, local_run, tmp_path):
    """Batched (batch_size 4: bytes depend on batch composition) so the batches must match too;
    the unbatched case is compared with local in the fault tests below."""
    jobs = local_run[0]
    batched = dataclasses.replace(cfg, batch_size=4)
    local_results = executors.run_jobs(batched, jobs, tmp_path / "local")
    results = executors.run_jobs(batched, jobs, tmp_path / "ray", RAY)
    assert [r["record"] for r in results] == [r["record"] for r in local_results]
    assert _bytes(tmp_path / "ray", cfg, jobs) == _bytes(tmp_path / "local", cfg, jobs)
    assert {r["timing"]["executor"] for r in results} == {"ray"}
    sizes = [r["timing"]["batch_size"] for r in results]
    assert sizes == [r["timing"]["batch_size"] for r in local_results] and max(sizes) == 4, "same batches"
    assert {r["timing"]["worker"].split(".")[0] for r in results} == {"0", "1"}, "both actors took jobs"


def _kill_when(predicate, action, timeout_s=120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return action()
        time.sleep(0.01)
    raise AssertionError("the run never reached the point to inject the fault")


def test_a_killed_actor_is_replaced_and_the_run_completes(cluster, cfg, local_run, tmp_path):
    jobs, local_work, local_results = local_run
    out: dict = {}
    runner = threading.Thread(target=lambda: out.update(r=executors.run_jobs(cfg, jobs, tmp_path, RAY)))
    runner.start()
    from sentinel.executors import ray_exec

    victim = ray_exec.actor_name(cfg.name, 0, 0)
    done_count = lambda: len(list((tmp_path / cfg.name).glob("*.json"))) if (tmp_path / cfg.name).is_dir() else 0
    n_at_kill = _kill_when(lambda: done_count() >= 2,
                           lambda: (ray.kill(ray.get_actor(victim), no_restart=True), done_count())[1])
    runner.join(timeout=180)
    assert not runner.is_alive() and "r" in out
    assert n_at_kill < len(jobs), "the actor must die mid-run"
    results = out["r"]
    assert max(r["timing"]["attempt"] for r in results) >= 1, "a chunk of the dead actor was retried"
    assert [r["record"] for r in results] == [r["record"] for r in local_results]
    assert _bytes(tmp_path, cfg, jobs) == _bytes(local_work, cfg, jobs)
    assert _files(tmp_path, cfg) == _files(local_work, cfg)


def test_retries_are_bounded_and_the_error_names_the_jobs(cluster, cfg, root, tmp_path):
    from sentinel.executors import ray_exec

    jobs = _jobs(root, 12)
    no_retry = dataclasses.replace(RAY, actors_per_model=1, max_retries=0)
    out: dict = {}

    def run():
        try:
            executors.run_jobs(cfg, jobs, tmp_path, no_retry)
        except executors.ExecutorError as e:
            out["error"] = str(e)

    runner = threading.Thread(target=run)
    runner.start()
    _kill_when(lambda: (tmp_path / cfg.name).is_dir() and any((tmp_path / cfg.name).glob("*.json")),
               lambda: ray.kill(ray.get_actor(ray_exec.actor_name(cfg.name, 0, 0)), no_restart=True))
    runner.join(timeout=180)
    assert "generate.max_retries: 0" in out.get("error", ""), out
    assert "failed 1 times on Ray workers" in out["error"]


SCRIPT = """
import dataclasses, sys
sys.path.insert(0, {tests!r})
from conftest import ROOT
from sentinel import config, executors
from sentinel.cli import configure_logging
from test_executors_ray import RAY, _jobs
configure_logging()  # the executor's summary line is logged (stderr)
cfg = config.load(str(ROOT / "params.yaml"), sections=("model",))["model"]["tiny-sd"]
executors.run_jobs(cfg, _jobs(ROOT, {n}), {work!r}, RAY)
"""


def test_sigkilled_driver_resumes_to_the_uninterrupted_output(cluster, cfg, root, local_run, tmp_path):
    """The stage's process (the Ray driver) dies with SIGKILL, as on a pre-empted node; the cluster
    lives on (its actors die with their owner) and the rerun connects to it via RAY_ADDRESS."""
    jobs, local_work, local_results = local_run
    script = SCRIPT.format(tests=str(root / "tests"), n=len(jobs), work=str(tmp_path))
    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done_count = lambda: len(list((tmp_path / cfg.name).glob("*.json"))) if (tmp_path / cfg.name).is_dir() else 0
    n_at_kill = _kill_when(lambda: done_count() >= 3 or proc.poll() is not None,
                           lambda: (os.killpg(proc.pid, signal.SIGKILL), done_count())[1])
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stdout.read().decode()[-2000:]
    assert 3 <= n_at_kill < len(jobs), f"killed after {n_at_kill} of {len(jobs)} jobs: not mid-run"
    rerun = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert f"{len(jobs)} of {len(jobs)} jobs accounted for" in rerun.stderr
    resumed = int(re.search(r"jobs accounted for \((\d+) resumed", rerun.stderr).group(1))
    assert resumed == n_at_kill, "every job committed before the kill is kept, and only those"
    assert _files(tmp_path, cfg) == _files(local_work, cfg), "one PNG and one sidecar per job, nothing else"
    assert _bytes(tmp_path, cfg, jobs) == _bytes(local_work, cfg, jobs)
    final = executors.run_jobs(cfg, jobs, tmp_path)  # everything valid now: all resumed
    assert all(r["resumed"] for r in final)
    assert [r["record"] for r in final] == [r["record"] for r in local_results]


def test_a_sigstopped_actor_is_detected_killed_and_its_jobs_retried(cluster, cfg, local_run, tmp_path):
    """A hung (not dead) worker: `ray.wait` alone would wait forever. Once the model's speed is
    measured, a chunk has max(5 s, 10 x slowest s/job x jobs); the stopped actor is killed, its
    chunks go to a fresh actor, and every image is byte-identical to the local run."""
    from sentinel.executors import ray_exec

    jobs, local_work, local_results = local_run
    settings = dataclasses.replace(RAY, task_timeout_s=120.0, task_timeout_factor=10.0)
    out: dict = {}
    runner = threading.Thread(target=lambda: out.update(r=executors.run_jobs(cfg, jobs, tmp_path, settings)))
    t0 = time.monotonic()
    runner.start()
    done_count = lambda: len(list((tmp_path / cfg.name).glob("*.json"))) if (tmp_path / cfg.name).is_dir() else 0
    victim = lambda: ray.get(ray.get_actor(ray_exec.actor_name(cfg.name, 0, 0)).pid.remote(), timeout=30)
    pid = _kill_when(lambda: done_count() >= 2, victim)
    os.kill(pid, signal.SIGSTOP)
    stopped_at, n_at_stop = time.monotonic(), done_count()
    try:
        runner.join(timeout=240)
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass  # killed by the executor, as it should be
    assert not runner.is_alive() and "r" in out, f"run still waiting {time.monotonic() - t0:.0f} s after start"
    assert n_at_stop < len(jobs), "the actor must hang mid-run"
    results = out["r"]
    assert max(r["timing"]["attempt"] for r in results) >= 1, "the hung actor's chunks were retried"
    assert [r["record"] for r in results] == [r["record"] for r in local_results]
    assert _bytes(tmp_path, cfg, jobs) == _bytes(local_work, cfg, jobs)
    with pytest.raises(ProcessLookupError):  # the hung actor's process is gone
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    assert time.monotonic() - stopped_at < 120, "detected within the task deadline, not the stated 120 s"
