"""`sentinel weights --out weights/`: every seeded-random weights file the smoke suites score with.

The image suite's files (InceptionV3, CLIP, DINOv2 tiny14: sentinel.metrics.weights) and the media
families' (the tiny 3D-conv video encoder for FVD: sentinel.video.tiny_encoder; LPIPS's AlexNet
backbone and linear layers: sentinel.tryon.lpips). Each file is a deterministic function of the seed,
written atomically and only when its bytes change, so `make weights` on any machine gives the same
sha256s (printed, one line per file). Numbers from these files exercise the code and say nothing
about quality. This lives outside sentinel.metrics so the image stages' code (whose deps are their
import closures) does not depend on the media families' weight builders.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def write_all(out: str | Path, seed: int = 0, clip_arch: str | None = None) -> list[tuple[Path, str, str]]:
    """[(path, sha256, action)] for every smoke file; action: written / unchanged / replaced / checked."""
    from sentinel.metrics import weights
    from sentinel.provenance import sha256_file
    from sentinel.tryon import lpips
    from sentinel.video import tiny_encoder

    out = Path(out)
    rows = weights.write_smoke_weights(out, seed, clip_arch or weights.SMOKE_CLIP_ARCH)
    video = out / tiny_encoder.TINY_FILE
    before = sha256_file(video) if video.is_file() else None
    digest = tiny_encoder.make_tiny_weights(video, seed)
    rows.append((video, digest, "unchanged" if before == digest else ("written" if before is None else "replaced")))
    for path, digest in lpips.write_smoke_weights(out, seed).values():
        rows.append((path, digest, "written"))
    return rows


def main(argv: list[str] | None = None, prog: str = "sentinel weights") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=(
        "Write the seeded random weight files of the smoke suites: InceptionV3, CLIP and DINOv2 (tiny14) for "
        "images, the tiny video encoder for FVD, and LPIPS (AlexNet) for try-on."))
    parser.add_argument("--out", required=True, help="folder for the weight files, e.g. weights/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clip-arch", default=None, help="CLIP architecture of the smoke CLIP file (default ViT-B-32)")
    args = parser.parse_args(argv)
    for path, digest, action in write_all(args.out, args.seed, args.clip_arch):
        print(f"{path}  sha256={digest}  ({action})")  # the hashes to pin are this command's output
    return 0


if __name__ == "__main__":
    from sentinel.console import run_main

    raise SystemExit(run_main("weights", main))
