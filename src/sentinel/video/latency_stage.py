"""Stage `video_latency@<model>`: each video job end to end through Ray Serve (issue 18).

    run("params.yaml", "tiny-wan")   # -> video.paths.latency/tiny-wan/{requests.jsonl, latency.json}

The image latency stage's machinery (sentinel.latency: Serve on loopback, calibration, every job
open loop on its arrival trace, TEST01 / TEST04, the capacity bracket, p95 with order-statistic
CIs), serving the video kind (sentinel.latency.kinds: the replica builds the model with
load_video_model, the payload is VideoJob.to_dict(), the response the clip's film strip PNG, whose
sha256 TEST01 compares with video.paths.records/<model>.jsonl). Latency is per video: submission
to the strip's last byte; requests.jsonl splits it into queue_s, compute_s, generation_s and
encoding_s (and a vendor's own vendor_queue_s / generation_s / encoding_s where its adapter says).
Config: the top-level `latency` section with `video.latency` over it (sentinel.latency.media). A
`base_url: fake://loopback` model gets the loopback fake vendor for the run. Reads params.yaml, the
jobs CSV and the model's generate records; writes nothing when it fails.
"""
from __future__ import annotations

from pathlib import Path

from sentinel.latency import media


def _section(params_path):
    from sentinel.video.config import load_video_section

    return load_video_section(params_path)


def _jobs(section):
    from sentinel.video.jobs import load_video_jobs

    return load_video_jobs(section.workload.jobs, section.workload.categories)


VIDEO = media.Family(name="video", kind="video", model_group="video_model", unit="clip's film strip PNG",
                     load_section=_section, load_jobs=_jobs)


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict[str, dict]:
    """One model (DVC's `video_latency@<model>`) or every composed video model; {model: latency.json}."""
    return media.run(VIDEO, params_path, model)
