"""Video metrics: content-debiased FVD, per-frame CLIP score, VBench-style dimensions, frozen/loop flags.

NOT YET WIRED INTO THE DEFAULT SUITE. No stage, config key or report section calls this package
yet; it is the metric layer that the video generate/score stages will call (issue 18). Clips are
uint8 arrays (T, H, W, 3), RGB, one per generated video.

Modules (each small, each with its definition in rubrics/video-metrics.md):
  clips        validate a clip array, luma, area-downsampled thumbnails
  fvd          Fréchet distance on video features, cd-fvd's convention, with a half-sample CI
  encoders     video feature extractors: the interface, cd-fvd's I3D / VideoMAE-v2 from a
               sha256-pinned file, and a tiny seeded-random 3D conv net (plumbing only)
  text_alignment  CLIP score averaged over frames (sentinel.metrics.clip_score's scorer)
  consistency  subject consistency (VBench)
  flicker      temporal flickering (VBench)
  smoothness   motion smoothness (VBench, linear interpolation instead of AMT)
  motion       dynamic degree (VBench's rule on OpenCV Farneback flow instead of RAFT)
  frozen       frozen-or-looping detector
  summary      per-model intervals over clips

This __init__ imports nothing heavy: torch is imported only by the modules that need it.
"""
