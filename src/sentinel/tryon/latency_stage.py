"""Stage `tryon_latency@<model>`: each try-on job end to end through Ray Serve (issue 19).

    run("params.yaml", "tiny-tryon")   # -> tryon.paths.latency/tiny-tryon/{requests.jsonl, latency.json}

The image latency stage's machinery (sentinel.latency: Serve on loopback, calibration, every job
open loop, TEST01 / TEST04, the capacity bracket, p95 with order-statistic CIs), serving the try-on
kind (sentinel.latency.kinds): the replica builds the model with load_tryon_model; each request
carries the job's fields and its person / garment / mask PNG files inlined as base64 (the server
reads no shared disk) and gets the result PNG back, whose sha256 TEST01 compares with
tryon.paths.records/<model>.jsonl. The inlined bytes are opened by the generate stage's own
function, so the model sees the same pixels. Latency is per try-on: submission to the result's
last byte; requests.jsonl splits it into queue_s, compute_s, generation_s and encoding_s. Config:
the top-level `latency` section with `tryon.latency` over it (sentinel.latency.media); try-on jobs
carry no arrival times, so `tryon.latency.arrival` must be poisson or gamma. Writes nothing when it fails.
"""
from __future__ import annotations

from pathlib import Path

from sentinel.latency import media


def _section(params_path):
    from sentinel.tryon.config import load_tryon_section

    return load_tryon_section(params_path)


def _jobs(section):
    from sentinel.tryon.generate_stage import load_jobs  # the jobs (and pair checks) the generate stage ran

    return load_jobs(section)


def _payload(section):
    from sentinel.latency.kinds import inline_images

    return inline_images(section.workload.root)


def _sizes(section, jobs) -> dict[str, tuple[int, int]]:
    """Job id -> the person image's (width, height): the result's size, for by_resolution."""
    from PIL import Image

    root, out = Path(section.workload.root), {}
    for job in jobs:
        with Image.open(root / job.person) as img:  # reads the header only
            out[job.id] = img.size
    return out


TRYON = media.Family(name="tryon", kind="tryon", model_group="tryon_model", unit="try-on result PNG",
                     load_section=_section, load_jobs=_jobs, payload=_payload, sizes=_sizes)


def _refuse_api_models(params_path, model: str | None) -> None:
    """Serving a vendor model needs its fake vendor started per block (sentinel.latency.media.vendor_for),
    which today starts only the video one: an API try-on model is refused here, before Ray starts,
    rather than timed against the wrong routes. Its generate, score and cost stages work."""
    from sentinel.errors import ConfigError

    models = _section(params_path).models
    api = [n for n, cfg in models.items() if (model is None or n == model) and cfg.source == "api"]
    if api:
        raise ConfigError(f"tryon.models.{api[0]}: latency of API try-on models is not wired yet "
                          "(sentinel.latency.media.vendor_for serves only the fake video vendor); drop it from "
                          "tryon_model for the latency stage, or time it with the vendor's own numbers")


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict[str, dict]:
    """One model (DVC's `tryon_latency@<model>`) or every composed try-on model; {model: latency.json}."""
    _refuse_api_models(params_path, model)
    return media.run(TRYON, params_path, model)
