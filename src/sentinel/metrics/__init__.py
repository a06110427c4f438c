"""Quality metrics with pinned conventions: FID and KID (InceptionV3) and CLIP score (open_clip).

Modules, one cause of irreproducibility each:
  images      PNG decoding and quantisation (no resizing by us)
  weights     weight files: seeded smoke weights, sha256, the missing-file error (and a CLI)
  fid         InceptionV3 features once per set -> FID (float64) and KID
  clip_score  per-pair max(100 cos, 0) with end-of-text-preserving truncation
  compute     score_set() and FeatureCache: what the score stage calls

Nothing is imported here, so `python -m sentinel.metrics.weights` runs without loading the rest.
"""
