"""Virtual try-on: the job type and the metrics of both evaluation protocols (issue 19, first slice).

NOT YET WIRED INTO THE DEFAULT SUITE: no stage, `dvc.yaml` entry, config key or report section uses
this package yet. It is the library the try-on stages will call:

    jobs.py         TryOnJob and load_tryon_jobs (a validated CSV: person, garment, mask, category, seed)
    pairs.py        published pair lists (CSV person,garment) pinned by sha256 in a JSON manifest
    regions.py      masks: the garment region, the region to preserve, window-safe erosion, bounding box
    ssim.py         SSIM through torchmetrics with its convention pinned (gaussian 11, sigma 1.5, range 1)
    lpips.py        LPIPS (AlexNet) from local weight files only; seeded-random smoke files
    garment.py      garment fidelity: CIEDE2000 of mean colours, texture/print similarity (Gram statistic)
    preservation.py everything outside the mask: masked SSIM and masked mean absolute error
    protocols.py    per-job metric rows, per-model means with CIs over jobs, FID/KID of the two protocols

Definitions, regions and intervals: rubrics/tryon-metrics.md. Nothing here imports torch at import
time (the heavy modules import it inside the functions that need it).
"""
