"""Virtual try-on (issue 19): job type, model, both evaluation protocols, cost, latency and report.

Wired as the `tryon` params section (sentinel.tryon.config; conf/tryon/, conf/tryon_model/) and the
stages `tryon_generate|score|latency@<model>` and `tryon_report` in dvc.yaml. They exist only when a
suite names try-on models: `dvc exp run -S suite=smoke-media` (the default suite is images only).

Stages:     generate_stage, score_stage, latency_stage, report_stage, score_config
Model:      config, models, tiny_pipeline (diffusers' StableDiffusionInpaintPipeline, seeded random)
Data:       jobs.py (a validated CSV: person, garment, mask, category, seed, protocol), pairs.py
            (published pair lists pinned by sha256), smoke_set.py (the smoke set from the pinned photos)
Metrics:    rubrics/tryon-metrics.md defines each one
    regions.py      masks: the garment region, the region to preserve, window-safe erosion, bounding box
    ssim.py         SSIM through torchmetrics with its convention pinned (gaussian 11, sigma 1.5, range 1)
    lpips.py        LPIPS (AlexNet) from local weight files only; seeded-random smoke files
    garment.py      garment fidelity: CIEDE2000 of mean colours, texture/print similarity (Gram statistic)
    preservation.py everything outside the mask: masked SSIM and masked mean absolute error
    protocols.py    per-job metric rows, per-model means with CIs over jobs, FID/KID of the two protocols
Report:     cost, leaderboard, report_md, report_html, triptych (person | garment | result)

API:        api/ (the `tryon-submit-poll` vendor adapter for `source: api` models, and a loopback fake
            vendor, conf/tryon_model/fake-tryon-api.yaml); generate, score and cost work for them, the
            latency stage refuses them (the Serve vendor hook starts only the fake video vendor)

Nothing here imports torch at import time (the heavy modules import it inside the functions that
need it).
"""
