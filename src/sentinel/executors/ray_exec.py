"""The Ray executor: jobs sharded across actors that each keep one model pipeline loaded.

The driver (this process) is the only writer: actors return PNG bytes and records, the driver commits
them atomically under deterministic keys (store.commit), so a chunk that ran twice (its actor died
after finishing) still leaves one file per job with the same bytes. A chunk whose actor died is
re-submitted to a fresh actor, at most `max_retries` times; then the run fails naming the jobs. Each
job's seed comes from the job (the model draws per-job generators), never from a batch position, and
the driver restores workload order at the end (store.reconcile), so Ray's completion order is moot.
"""
from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path

from sentinel.config import GenerateConfig, ModelConfig
from sentinel.workloads.jobs import Job
from sentinel.executors import store
from sentinel.executors import work as _work

IN_FLIGHT_PER_ACTOR = 2  # a second queued chunk hides the driver round trip between chunks
OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME", "HF_HUB_CACHE")


class PipelineActor:
    """One model replica. Ray runs its methods one at a time, so the pipeline is never shared."""

    def __init__(self, cfg: ModelConfig, slot: str):
        from sentinel.models import loader

        t0 = time.perf_counter()
        self.model = loader.load(cfg)
        self.load_s = time.perf_counter() - t0
        self.slot = slot

    def plan(self, jobs: list[Job], pending: set[str]) -> list[list[Job]]:
        return _work.plan(self.model, jobs, pending)

    def run(self, batch: list[Job]) -> list[tuple[dict, bytes | None]]:
        return list(_work.run_batches(self.model, [batch], self.load_s, {"executor": "ray", "worker": self.slot}))

    def pid(self) -> int:
        return os.getpid()


def connect(num_cpus: int | None = None):
    """The Ray module, connected: to RAY_ADDRESS when set, else to a new local instance."""
    import ray

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=True)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=True)
    return ray


def actor_name(model: str, slot: int, incarnation: int) -> str:
    """Named so that an operator (or a fault test) can find and kill a given actor."""
    return f"sentinel-generate/{model}/{slot}.{incarnation}"


def _resources(ray, cfg: ModelConfig, settings: GenerateConfig) -> tuple[float, float, int]:
    """(cpus, gpus) per actor and the actor count for this model on this cluster."""
    total = ray.cluster_resources()
    on_gpu = cfg.device != "cpu" and cfg.source != "api" and total.get("GPU", 0) > 0
    gpus = settings.gpus_per_actor if on_gpu else 0.0
    if settings.actors_per_model > 0:
        return settings.cpus_per_actor, gpus, settings.actors_per_model
    if on_gpu:
        return settings.cpus_per_actor, gpus, max(1, int(total["GPU"] / gpus))
    free_cpus = max(total.get("CPU", 1) - 1, settings.cpus_per_actor)  # one CPU stays with Ray itself
    return settings.cpus_per_actor, gpus, max(1, int(free_cpus / settings.cpus_per_actor))


def _spawn(ray, cfg: ModelConfig, slot: int, incarnation: int, cpus: float, gpus: float):
    env = {k: os.environ[k] for k in OFFLINE_ENV if k in os.environ}
    cls = ray.remote(PipelineActor).options(
        name=actor_name(cfg.name, slot, incarnation), num_cpus=cpus, num_gpus=gpus, max_restarts=0,
        runtime_env={"env_vars": env} if env else None)
    return cls.remote(cfg, f"{slot}.{incarnation}")


def run_pending(cfg: ModelConfig, jobs: list[Job], pending: set[str], work: Path, settings: GenerateConfig,
                progress) -> dict[str, dict]:
    """Run every batch holding a pending job on Ray actors, committing each batch as it returns."""
    if not pending:
        return {}
    ray = connect()
    cpus, gpus, n_actors = _resources(ray, cfg, settings)
    spawn = lambda slot, incarnation: _spawn(ray, cfg, slot, incarnation, cpus, gpus)  # noqa: E731
    actors = [spawn(i, 0) for i in range(min(n_actors, len(pending)))]
    try:
        batches = _plan(ray, actors, jobs, pending, cfg.name)
    except BaseException:
        for actor in actors:
            ray.kill(actor, no_restart=True)
        raise
    for extra in actors[len(batches):]:
        ray.kill(extra, no_restart=True)
    actors = actors[:len(batches)]
    keys = {j.id: store.fingerprint(cfg, j) for j in jobs}
    done: dict[str, dict] = {}

    def commit(rows: list, attempt: int) -> None:
        for result, png in rows:
            job_id = result["record"]["job_id"]
            result["timing"]["attempt"] = attempt
            store.commit(work, result, png, keys[job_id])
            done[job_id] = result
            progress.update(job_id in pending)

    schedule(ray, actors, spawn, deque((b, 0) for b in batches), settings.max_retries, commit, cfg.name)
    return done


def _plan(ray, actors: list, jobs: list[Job], pending: set[str], name: str) -> list[list[Job]]:
    """The stage's batches, from the first actor that answers (a model must be loaded to batch)."""
    for actor in actors:
        try:
            return ray.get(actor.plan.remote(jobs, pending))
        except ray.exceptions.RayError as e:
            print(f"generate[ray]: {name}: an actor died before planning ({type(e).__name__}); "
                  "asking the next", flush=True)
    raise store.ExecutorError(f"{name}: every Ray actor died before the jobs could be batched")


def schedule(ray, actors: list, spawn, chunks: deque, max_retries: int, on_rows, name: str) -> None:
    """Keep IN_FLIGHT_PER_ACTOR chunks queued on each actor until every chunk has returned.

    `actors[i].run.remote(chunk)` runs a chunk; `on_rows(rows, attempt)` takes its results; a chunk
    whose actor died goes back to the queue and the actor is replaced by `spawn(slot, incarnation)`.
    """
    incarnations = [0] * len(actors)
    free = [i for i in range(len(actors)) for _ in range(IN_FLIGHT_PER_ACTOR)]
    in_flight: dict = {}
    try:
        while chunks or in_flight:
            while free and chunks:
                slot, (chunk, attempt) = free.pop(0), chunks.popleft()
                in_flight[actors[slot].run.remote(chunk)] = (slot, incarnations[slot], chunk, attempt)
            (ref,), _ = ray.wait(list(in_flight), num_returns=1)
            slot, incarnation, chunk, attempt = in_flight.pop(ref)
            try:
                rows = ray.get(ref)
            except ray.exceptions.RayError as e:
                _retry(name, e, chunk, attempt, max_retries, chunks)
                if incarnation == incarnations[slot]:  # replace a dead actor once, not per lost chunk
                    incarnations[slot] += 1
                    ray.kill(actors[slot], no_restart=True)
                    actors[slot] = spawn(slot, incarnations[slot])
                free.append(slot)
                continue
            on_rows(rows, attempt)
            free.append(slot)
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)


def _retry(name: str, error, chunk: list, attempt: int, max_retries: int, chunks: deque) -> None:
    ids = [getattr(j, "id", j) for j in chunk]
    if attempt >= max_retries:
        raise store.ExecutorError(f"{name}: jobs {ids} failed {attempt + 1} times on Ray workers "
                                  f"(generate.max_retries: {max_retries}); last error: "
                                  f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    print(f"generate[ray]: {name}: worker lost ({type(error).__name__}); retrying jobs {ids} "
          f"(attempt {attempt + 2} of {max_retries + 1})", flush=True)
    chunks.appendleft((chunk, attempt + 1))
