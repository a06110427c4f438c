"""Quality metrics with pinned conventions (rubrics/metrics-convention.md): FID and KID (InceptionV3),
CLIP score (open_clip), CMMD, seeded bootstrap CIs, and a slot for human-preference models.

Modules, one cause of irreproducibility each:
  images      PNG decoding and quantisation (no resizing by us)
  weights     weight files: seeded smoke weights, sha256, the missing-file error (and a CLI)
  fetch       fetch/verify weights files from a manifest, pinned by sha256 (and a CLI)
  fid         InceptionV3 features -> FID (float64) and KID
  clip_score  per-pair max(100 cos, 0) with end-of-text-preserving truncation
  cmmd        CMMD (CLIP embeddings, RBF sigma 10, x1000)
  bootstrap   seeded percentile bootstrap over generated images, exact per resample
  cache       FeatureCache: per image sha256 + extractor, in memory and on disk
  extract     one decode per image per pass, shared by every extractor
  preference  ImageReward / HPSv2 / PickScore slot, off by default
  compute     score_set(): what the score stage calls

Nothing is imported here, so `python -m sentinel.metrics.weights` runs without loading the rest.
"""
