"""The `Model` protocol: what the generate stage and every executor call on a loaded model.

Two implementations: `sentinel.models.pipeline.ImageModel` (a self-hosted diffusers pipeline) and
`sentinel.api.ApiModel` (a closed model behind a vendor API); `sentinel.models.loader.load` builds
either from a ModelConfig. A third kind of model implements these members and nothing else: the
executors (executors/work.py, executors/batches.py) use no other attribute. Light: no torch here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sentinel.config import ModelConfig
from sentinel.workloads.jobs import Job

if TYPE_CHECKING:
    from PIL import Image

    from sentinel.models.outputs import GenerationFailed


@runtime_checkable
class Model(Protocol):
    cfg: ModelConfig  # name, plumbing, batch_size and the recipe; records and timings are labelled with it
    device: str  # where the images are computed ("cpu", "cuda:0", "api"); recorded in each timing row

    def settings(self, job: Job) -> tuple[int | None, float | None]:
        """(steps, guidance) actually used for `job` (the recipe's pins win over the job's request)."""
        ...

    def size(self, job: Job) -> tuple[int, int]:
        """(width, height) requested for `job`."""
        ...

    def batch_key(self, job: Job) -> tuple:
        """Jobs with equal keys may share one call without changing any image (executors.batches)."""
        ...

    def generate_batch(self, jobs: list[Job]) -> list[Image.Image | GenerationFailed]:
        """One image or one GenerationFailed (with its cause) per job, in order."""
        ...

    def generate(self, job: Job) -> Image.Image:
        """One job's image; raises GenerationFailed when the output is invalid."""
        ...
