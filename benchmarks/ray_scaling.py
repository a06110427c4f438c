"""Ray executor scaling: throughput against the number of actors, as a fraction of linear.

Each simulated job sleeps a known service time in its actor, so more actors than cores make sense
and the ideal is known exactly: n actors finish `jobs` in jobs * service_s / n seconds. The jobs go
through the executor's own scheduling loop (sentinel.executors.ray_exec.schedule: chunk queue, two
chunks in flight per actor, ray.wait, results handed back to the driver). Actor start-up is excluded
(actors are started and pinged before the clock starts). The peer, measured in the same run, is the
local executor's shape: one process running the same jobs one after another.

    .venv/bin/python benchmarks/ray_scaling.py --service-s 0.2 --jobs-per-actor 16 --actors 1 2 4 8 16
"""
from __future__ import annotations

import argparse
import json
import time
from collections import deque

import ray

from sentinel.executors import ray_exec


class SleepActor:
    def __init__(self, service_s: float):
        self.service_s = service_s

    def run(self, chunk: list[int]) -> list[tuple[int, None]]:
        out = []
        for job in chunk:
            time.sleep(self.service_s)
            out.append((job, None))
        return out

    def ping(self) -> bool:
        return True


def measure(n_actors: int, jobs: int, service_s: float, cpus_per_actor: float) -> dict:
    cls = ray.remote(SleepActor).options(num_cpus=cpus_per_actor, max_restarts=0)
    spawn = lambda slot, inc: cls.remote(service_s)  # noqa: E731
    actors = [spawn(i, 0) for i in range(n_actors)]
    ray.get([a.ping.remote() for a in actors])  # started and warm before the clock starts
    seen: list[int] = []
    t0 = time.perf_counter()
    ray_exec.schedule(ray, actors, spawn, deque(([j], 0) for j in range(jobs)), 0,
                      lambda rows, attempt: seen.extend(j for j, _ in rows), "sleep")
    wall_s = time.perf_counter() - t0
    assert sorted(seen) == list(range(jobs)), "every job exactly once"
    ideal_s = jobs * service_s / n_actors
    return {"actors": n_actors, "jobs": jobs, "wall_s": wall_s, "ideal_s": ideal_s,
            "throughput_jobs_per_s": jobs / wall_s, "fraction_of_linear": ideal_s / wall_s,
            "overhead_ms_per_job": 1000 * (wall_s * n_actors - jobs * service_s) / jobs}


def sequential(jobs: int, service_s: float) -> float:
    t0 = time.perf_counter()
    SleepActor(service_s).run(list(range(jobs)))
    return jobs / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--service-s", type=float, default=0.2)
    ap.add_argument("--jobs-per-actor", type=int, default=16)
    ap.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--cpus-per-actor", type=float, default=0.1)  # 16 x 0.1 < 2: Ray keeps a free CPU
    ap.add_argument("--num-cpus", type=int, default=2)
    args = ap.parse_args()
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    peer = sequential(args.jobs_per_actor, args.service_s)
    rows = [measure(n, n * args.jobs_per_actor, args.service_s, args.cpus_per_actor) for n in args.actors]
    print(f"peer (local, sequential): {peer:.2f} jobs/s (ideal {1 / args.service_s:.2f})")
    print("| actors | jobs | wall (s) | ideal (s) | jobs/s | speed-up vs local | fraction of linear | overhead (ms/job) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['actors']} | {r['jobs']} | {r['wall_s']:.2f} | {r['ideal_s']:.2f} | "
              f"{r['throughput_jobs_per_s']:.2f} | {r['throughput_jobs_per_s'] / peer:.2f} | "
              f"{r['fraction_of_linear']:.3f} | {r['overhead_ms_per_job']:.1f} |")
    print(json.dumps({"service_s": args.service_s, "peer_jobs_per_s": peer, "rows": rows}))
    ray.shutdown()


if __name__ == "__main__":
    main()
