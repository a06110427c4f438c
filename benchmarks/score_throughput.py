"""Scoring throughput: harness overhead, ratio vs torch-fidelity, peak memory at N and 10 N.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/score_throughput.py --n 32 --out benchmarks/results/score.json

Extractors at real architecture size with the smoke suite's seeded random weights (InceptionV3 2048-d
pool, open_clip ViT-B-32); images are seeded 256 x 256 PNGs. Everything runs in this process on the
same machine, same threads, one after the other (peak memory runs in fresh subprocesses):

1. bare forward passes: pre-decoded inputs straight through InceptionV3 and the CLIP image tower;
   harness: `score_set` on N generated vs N reference images from PNG files, cold in-memory cache
   (sha256, decode, both extractors, prompts, FID, KID, CMMD, CLIP score, 200-sample bootstrap);
   overhead = harness / bare - 1.
2. torch-fidelity `calculate_metrics(fid=True, kid=True)` on the same two folders with the same
   weights file, vs our FID+KID path (Inception features of both folders, FID, KID) on a cold cache.
3. peak growth of current RSS (sampled every 5 ms) while `score_set` scores N and 10 N generated
   images against N references, fresh process each, networks loaded first; against the bytes of the
   float32 features it stores.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sentinel.metrics import fid, weights
from sentinel.metrics.cache import FeatureCache
from sentinel.metrics.compute import inception_features_cached, score_set
from sentinel.metrics.extract import clip_image_extractor, inception_extractor
from sentinel.images import load_rgb

CLIP_ARCH = "ViT-B-32"
SIZE_PX = 256
KID = dict(kid_subset_size=16, kid_subsets=100)


def make_images(folder: Path, n: int, seed: int) -> list[Path]:
    """Smooth seeded colour fields (low-frequency noise upsampled) so features are not degenerate."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        small = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((SIZE_PX, SIZE_PX), Image.BICUBIC)
        paths.append(folder / f"{i:05d}.png")
        img.save(paths[-1])
    return paths


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bare_forward_s(paths: list[Path], w: dict, batch_size: int) -> float:
    inc = inception_extractor(w["inception"], batch_size)
    clip = clip_image_extractor(CLIP_ARCH, w["clip"], batch_size)
    imgs = [load_rgb(p) for p in paths]
    inc_in = [inc.prepare(i) for i in imgs]
    clip_in = [clip.prepare(i) for i in imgs]

    def run():
        for s in range(0, len(imgs), batch_size):
            inc.forward(inc_in[s:s + batch_size])
            clip.forward(clip_in[s:s + batch_size])
    return _timed(run)[0]


def harness_s(gen: list[Path], ref: list[Path], w: dict, batch_size: int) -> float:
    return _timed(lambda: score_set(gen, [f"prompt {i}" for i in range(len(gen))], ref, cache=FeatureCache(),
                                    inception_weights=w["inception"], clip_arch=CLIP_ARCH, clip_weights=w["clip"],
                                    batch_size=batch_size, seed=0, **KID))[0]


def ours_fid_kid_s(gen: list[Path], ref: list[Path], w: dict, batch_size: int) -> tuple[float, float]:
    def run():
        cache = FeatureCache()
        f1, f2 = (inception_features_cached(p, weights_path=w["inception"], batch_size=batch_size, cache=cache)
                  for p in (gen, ref))
        fid.kid_from_features(f1, f2, subset_size=KID["kid_subset_size"], subsets=KID["kid_subsets"], seed=0)
        return fid.fid_from_features(f1, f2)
    return _timed(run)


def torch_fidelity_s(gen: list[Path], ref: list[Path], w: dict, batch_size: int) -> tuple[float, float]:
    import torch_fidelity

    def run():
        return torch_fidelity.calculate_metrics(
            input1=str(gen[0].parent), input2=str(ref[0].parent), fid=True, kid=True, cuda=False, verbose=False,
            cache=False, batch_size=batch_size, feature_extractor_weights_path=w["inception"],
            kid_subset_size=KID["kid_subset_size"], kid_subsets=KID["kid_subsets"])["frechet_inception_distance"]
    return _timed(run)


def peak_rss_child(n_gen: int, n_ref: int, root: str, batch_size: int) -> None:
    """In a fresh process: load the networks, note peak RSS, score, note peak RSS again (KiB -> MiB)."""
    root_path = Path(root)  # weights already written by the parent: building them here would set the peak
    w = {"inception": str(root_path / "weights" / weights.INCEPTION_SMOKE_FILE),
         "clip": str(root_path / "weights" / weights.clip_smoke_file(CLIP_ARCH))}
    gen, ref = sorted((root_path / f"gen{n_gen}").glob("*.png")), sorted((root_path / "ref").glob("*.png"))[:n_ref]
    inception_extractor(w["inception"], batch_size), clip_image_extractor(CLIP_ARCH, w["clip"], batch_size)
    gc.collect()
    base = _rss_mib()
    peak, stop = [base], threading.Event()

    def sample():  # current RSS every 5 ms: ru_maxrss alone is dominated by the network load's peak
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.005)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    harness_s(gen, ref, w, batch_size)
    stop.set()
    thread.join()
    print(json.dumps({"n_generated": n_gen, "rss_after_load_mib": base, "peak_rss_while_scoring_mib": peak[0],
                      "growth_mib": peak[0] - base,
                      "process_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _weights(root: Path) -> dict:
    out = {}
    for (path, _, _), key in zip(weights.write_smoke_weights(root / "weights"), ("inception", "clip")):
        out[key] = str(path)
    return out


def peak_memory(root: Path, n: int, batch_size: int) -> list[dict]:
    rows = []
    for n_gen in (n, 10 * n):
        make_images(root / f"gen{n_gen}", n_gen, seed=n_gen)
        cmd = [sys.executable, __file__, "--child", str(n_gen), "--n", str(n), "--root", str(root),
               "--batch-size", str(batch_size)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ}).stdout
        row = json.loads(out.strip().splitlines()[-1])
        row["stored_features_mib"] = (n_gen + n) * (2048 + 512) * 4 / 2 ** 20
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", default="benchmarks/results/score_throughput.json")
    ap.add_argument("--root", default=None)
    ap.add_argument("--child", type=int, default=None)
    ap.add_argument("--memory-only", action="store_true", help="only figure 3 (peak memory at N and 10 N)")
    args = ap.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    if args.child is not None:
        peak_rss_child(args.child, args.n, args.root, args.batch_size)
        return 0
    root = Path(args.root or tempfile.mkdtemp(prefix="score-bench-"))
    w = _weights(root)
    gen, ref = make_images(root / "gen", args.n, 1), make_images(root / "ref", args.n, 2)
    if args.memory_only:
        print(json.dumps({"peak_memory": peak_memory(root, args.n, args.batch_size)}, indent=2))
        return 0
    bare_forward_s(gen[:4], w, args.batch_size)  # warm-up: load both networks, first-call allocations
    bare = bare_forward_s(gen + ref, w, args.batch_size)
    harness = harness_s(gen, ref, w, args.batch_size)
    ours_t, ours_fid = ours_fid_kid_s(gen, ref, w, args.batch_size)
    tf_t, tf_fid = torch_fidelity_s(gen, ref, w, args.batch_size)
    result = {
        "device": "cpu", "threads": torch.get_num_threads(), "n_per_set": args.n, "batch_size": args.batch_size,
        "images": 2 * args.n, "bare_forward_s": bare, "harness_s": harness,
        "harness_overhead": harness / bare - 1, "harness_images_per_s": 2 * args.n / harness,
        "ours_fid_kid_s": ours_t, "torch_fidelity_fid_kid_s": tf_t, "speed_ratio_vs_torch_fidelity": tf_t / ours_t,
        "fid_ours": ours_fid, "fid_torch_fidelity": tf_fid,
        "peak_memory": peak_memory(root, args.n, args.batch_size),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
