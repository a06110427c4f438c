"""Video generation (issue 18): models, workload, metrics, cost, latency and report of the video family.

Wired as the `video` params section (sentinel.video.config; conf/video/, conf/video_model/) and the
stages `video_reference`, `video_generate|score|latency@<model>` and `video_report` in dvc.yaml. They
exist only when a suite names video models: `dvc exp run -S suite=smoke-media` (the default suite is
images only). Clips are uint8 arrays (T, H, W, 3), RGB, stored as lossless PNG film strips.

Stages:     reference_stage, generate_stage, score_stage, latency_stage, report_stage, stage_params
Models:     config, models, tiny_wan (a tiny seeded-random WanPipeline), api/ (submit-and-poll vendor
            adapter, MP4 decoding, a loopback fake vendor), jobs, workload_gen, reference, clipfile
Metrics:    rubrics/video-metrics.md defines each one
  clips        validate a clip array, luma, area-downsampled thumbnails
  fvd          Fréchet distance on video features, cd-fvd's convention, with a half-sample CI
  encoders     video feature extractors: the interface, cd-fvd's I3D / VideoMAE-v2 from a
               sha256-pinned file; tiny_encoder: a seeded-random 3D conv net (plumbing only)
  text_alignment  CLIP score averaged over frames (sentinel.metrics.clip_score's scorer)
  consistency  subject consistency (VBench)
  flicker      temporal flickering (VBench)
  smoothness   motion smoothness (VBench, linear interpolation instead of AMT)
  motion       dynamic degree (VBench's rule on OpenCV Farneback flow instead of RAFT)
  frozen       frozen-or-looping detector
  per_clip, summary  every dimension of one clip; per-model intervals over clips
Report:     composite (rubrics/video-composite.md), cost (per video and per video-second), leaderboard,
            report_markdown, report_html, previews

This __init__ imports nothing heavy: torch is imported only by the modules that need it.
"""
