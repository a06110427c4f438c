"""Canonical batches: the one place that decides which jobs share a pipeline call.

Jobs are grouped by call settings (`model.batch_key(job)`), then sorted by id and chunked by
`batch_size`, so the workload's row order never changes a batch. Pure Python: no torch.
"""
from __future__ import annotations

from collections import defaultdict

from sentinel.workloads.jobs import Job


def plan_batches(model, jobs: list[Job]) -> list[list[Job]]:
    """Chunks of at most `batch_size` jobs with equal call settings, in a canonical order."""
    groups: dict[tuple, list[Job]] = defaultdict(list)
    for job in jobs:
        groups[model.batch_key(job)].append(job)
    size = max(1, model.cfg.batch_size)
    batches = []
    for key in sorted(groups, key=repr):
        ordered = sorted(groups[key], key=lambda j: j.id)
        batches += [ordered[i:i + size] for i in range(0, len(ordered), size)]
    return batches
