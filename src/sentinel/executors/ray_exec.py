"""The Ray executor: jobs sharded across actors that each keep one model pipeline loaded.

The driver (this process) is the only writer: actors return PNG bytes and records, the driver commits
them atomically under deterministic keys (store.commit), so a chunk that ran twice (its actor died
after finishing) still leaves one file per job with the same bytes. A chunk whose actor died is
re-submitted to a fresh actor, at most `max_retries` times; then the run fails naming the jobs. A
chunk that does not return within its deadline (class Deadlines) counts as lost the same way: the
hung actor is killed and replaced, so a SIGSTOPped worker never stalls the run. Each
job's seed comes from the job (the model draws per-job generators), never from a batch position, and
the driver restores workload order at the end (store.reconcile), so Ray's completion order is moot.
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from pathlib import Path

from sentinel.config import GenerateConfig, ModelConfig
from sentinel.workloads.jobs import Job
from sentinel.executors import store
from sentinel.executors import work as _work

log = logging.getLogger(__name__)
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
        batches = _plan(ray, actors, jobs, pending, cfg.name, settings.task_timeout_s)
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

    stats = schedule(ray, actors, spawn, deque((b, 0) for b in batches), settings.max_retries, commit, cfg.name,
                     Deadlines(settings.task_timeout_s, settings.task_timeout_factor))
    if any(stats.values()):
        log.warning("generate[ray]: %s: %d actor(s) died, %d hung and were killed; %d chunk(s) retried",
                    cfg.name, stats["actors_died"], stats["actors_hung"], stats["chunks_retried"])
    return done


def _plan(ray, actors: list, jobs: list[Job], pending: set[str], name: str, timeout_s: float) -> list[list[Job]]:
    """The stage's batches, from the first actor that answers (a model must be loaded to batch)."""
    for actor in actors:
        try:
            return ray.get(actor.plan.remote(jobs, pending), timeout=timeout_s)
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError) as e:
            ray.kill(actor, no_restart=True)
            log.warning("generate[ray]: %s: an actor died or hung before planning (%s); asking the next",
                        name, type(e).__name__)
    raise store.ExecutorError(f"{name}: every Ray actor died before the jobs could be batched")


class Deadlines:
    """When a chunk on an actor must have returned, from the model's stated or measured speed.

    Before any job of this model has finished, a chunk (actor start and weight load included) has
    `generate.task_timeout_s`. After that, `generate.task_timeout_factor` x the slowest measured
    seconds per job x the chunk's jobs, never under MIN_TIMEOUT_S. An actor counts as hung when the
    chunk at the head of its queue is past its deadline: `ray.wait` alone waits forever on a
    SIGSTOPped actor, since only a dead one raises.
    """
    MIN_TIMEOUT_S = 5.0

    def __init__(self, stated_s: float, factor: float):
        self.stated_s, self.factor, self.per_job_s = stated_s, factor, None

    def observe(self, rows: list) -> None:
        per_job = max((r["timing"]["compute_s"] for r, _ in rows), default=None)
        if per_job is not None:
            self.per_job_s = max(self.per_job_s or 0.0, per_job)

    def allowance(self, n_jobs: int, warm: bool) -> float:
        """A fresh actor (not yet returned a chunk) loads its model first: it gets the stated time."""
        if self.per_job_s is None or not warm:
            return self.stated_s
        return max(self.MIN_TIMEOUT_S, self.factor * self.per_job_s * n_jobs)


def schedule(ray, actors: list, spawn, chunks: deque, max_retries: int, on_rows, name: str,
             deadlines: Deadlines | None = None) -> dict:
    """Keep IN_FLIGHT_PER_ACTOR chunks queued on each actor until every chunk has returned.

    `actors[i].run.remote(chunk)` runs a chunk; `on_rows(rows, attempt)` takes its results; a chunk
    whose actor died, or hung past its deadline, goes back to the queue and the actor is replaced by
    `spawn(slot, incarnation)`. Returns counts for the run's summary (died, hung, retried chunks).
    """
    deadlines = deadlines or Deadlines(600.0, 10.0)
    incarnations = [0] * len(actors)
    free = [i for i in range(len(actors)) for _ in range(IN_FLIGHT_PER_ACTOR)]
    in_flight: dict = {}
    started = [time.monotonic()] * len(actors)  # when the chunk at the head of each actor's queue began
    warm = [False] * len(actors)  # has this incarnation returned a chunk (its model is loaded)?
    stats = {"actors_died": 0, "actors_hung": 0, "chunks_retried": 0}

    def replace(slot: int, incarnation: int) -> None:
        if incarnation == incarnations[slot]:  # replace a dead actor once, not per lost chunk
            incarnations[slot] += 1
            ray.kill(actors[slot], no_restart=True)
            actors[slot] = spawn(slot, incarnations[slot])
            started[slot], warm[slot] = time.monotonic(), False

    try:
        while chunks or in_flight:
            while free and chunks:
                slot, (chunk, attempt) = free.pop(0), chunks.popleft()
                if not any(v[0] == slot for v in in_flight.values()):
                    started[slot] = time.monotonic()
                in_flight[actors[slot].run.remote(chunk)] = (slot, incarnations[slot], chunk, attempt)
            clock = (started, warm, deadlines)
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=_next_timeout(in_flight, clock))
            if not ready:
                _expire(name, in_flight, clock, max_retries, chunks, free, replace, stats)
                continue
            ref = ready[0]
            slot, incarnation, chunk, attempt = in_flight.pop(ref)
            try:
                rows = ray.get(ref)
            except ray.exceptions.RayError as e:
                _retry(name, e, chunk, attempt, max_retries, chunks)
                stats["chunks_retried"] += 1
                stats["actors_died"] += incarnation == incarnations[slot]
                replace(slot, incarnation)
                free.append(slot)
                continue
            deadlines.observe(rows)
            started[slot], warm[slot] = time.monotonic(), True
            on_rows(rows, attempt)
            free.append(slot)
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)
    return stats


def _head_deadline(slot: int, in_flight: dict, clock: tuple) -> float | None:
    started, warm, deadlines = clock
    chunks = [v[2] for v in in_flight.values() if v[0] == slot]
    return started[slot] + deadlines.allowance(len(chunks[0]), warm[slot]) if chunks else None


def _next_timeout(in_flight: dict, clock: tuple) -> float:
    due = [d for slot in {v[0] for v in in_flight.values()}
           if (d := _head_deadline(slot, in_flight, clock)) is not None]
    return max(0.0, min(due) - time.monotonic()) if due else 1.0


def _expire(name, in_flight, clock, max_retries, chunks, free, replace, stats) -> None:
    """Kill every actor whose head chunk is past its deadline; its queued chunks go back to the queue."""
    now, started = time.monotonic(), clock[0]
    for slot in sorted({v[0] for v in in_flight.values()}):
        due = _head_deadline(slot, in_flight, clock)
        if due is None or now < due:
            continue
        lost = [(ref, v) for ref, v in in_flight.items() if v[0] == slot]
        log.warning("generate[ray]: %s: actor slot %d hung (no chunk returned for %.1f s, deadline %.1f s); "
                    "killing it and retrying its %d chunk(s)", name, slot, now - started[slot],
                    due - started[slot], len(lost))
        stats["actors_hung"] += 1
        for ref, (_, incarnation, chunk, attempt) in lost:
            del in_flight[ref]
            _retry(name, TimeoutError(f"no result within {due - started[slot]:.1f} s (actor hung)"),
                   chunk, attempt, max_retries, chunks)
            stats["chunks_retried"] += 1
            free.append(slot)
        replace(slot, lost[0][1][1])


def _retry(name: str, error, chunk: list, attempt: int, max_retries: int, chunks: deque) -> None:
    ids = [getattr(j, "id", j) for j in chunk]
    if attempt >= max_retries:
        raise store.ExecutorError(f"{name}: jobs {ids} failed {attempt + 1} times on Ray workers "
                                  f"(generate.max_retries: {max_retries}); last error: "
                                  f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    log.warning("generate[ray]: %s: worker lost (%s); retrying jobs %s (attempt %d of %d)",
                name, type(error).__name__, ids, attempt + 2, max_retries + 1)
    chunks.appendleft((chunk, attempt + 1))
