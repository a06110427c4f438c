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
4. torchmetrics `FrechetInceptionDistance(feature=2048, antialias=False)` on the same images and
   weights file (its own forward passes, batched like ours), and the one fixed cost that separates
   torch-fidelity 0.4.0 from us: its `np.linalg.eigvals(sigma1 @ sigma2)` on 2048 x 2048 (metric_fid.py
   line 39), timed alone on the covariances of these features (`--eigvals`).
5. `--interval-n N`: every built-in metric's point estimate and interval (FID, KID, CMMD: 100
   replicates, metrics/halfsample.py) on synthetic float32 features (2048-d and 512-d) of N generated
   vs N reference images: the score stage's cost beyond the forward passes at production n.

Figures 1-4 at several N: `--n 16,500` (one run per N, the N = 16 row also carries figure 3).
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


def _cpu_s() -> float:
    """CPU seconds of this process, all threads (user + system): what a run costs on a shared machine."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _timed_cpu(fn):
    start, cpu = time.perf_counter(), _cpu_s()
    out = fn()
    return time.perf_counter() - start, _cpu_s() - cpu, out


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


def torchmetrics_fid_s(gen: list[Path], ref: list[Path], w: dict, batch_size: int) -> tuple[float, float]:
    from torchmetrics.image.fid import FrechetInceptionDistance

    from sentinel.images import load_uint8_chw

    def run():
        tm = FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=w["inception"], antialias=False)
        for paths, real in ((ref, True), (gen, False)):
            for s in range(0, len(paths), batch_size):
                tm.update(torch.from_numpy(np.stack([load_uint8_chw(p) for p in paths[s:s + batch_size]])), real=real)
        return float(tm.compute())
    return _timed(run)


def eigvals_s(features: np.ndarray, repeats: int = 3) -> float:
    """Median time of torch-fidelity 0.4.0's tr((S1 S2)^½) step: eigvals of a 2048 x 2048 product."""
    s1 = np.cov(features[: len(features) // 2], rowvar=False)
    s2 = np.cov(features[len(features) // 2:], rowvar=False)
    return float(np.median([_timed(lambda: np.linalg.eigvals(s1.dot(s2)))[0] for _ in range(repeats)]))


def interval_times(n: int, reps: int = 100) -> dict:
    """Seconds for each built-in metric's point and interval on synthetic features, n vs n images."""
    from sentinel.metrics import registry

    rng = np.random.default_rng(n)

    def feats(k: int, d: int, shift: float) -> np.ndarray:
        return (rng.standard_normal((k, d), dtype=np.float32) * 0.5 + shift).astype(np.float32)
    x = registry.Inputs(gen={"inception": feats(n, 2048, 0.3), "clip": feats(n, 512, 0.1)},
                        ref={"inception": feats(n, 2048, 0.2), "clip": feats(n, 512, 0.0)},
                        prompts=[f"p{i}" for i in range(n)], text=feats(n, 512, 0.1),
                        settings={"kid_subset_size": min(1000, n), "kid_subsets": 100, "seed": 0,
                                  "clip_arch": CLIP_ARCH, "interval_reps": reps,
                                  "keys": [f"g/{i:05d}" for i in range(n)] + [f"ref:r/{i:05d}" for i in range(n)]})
    out: dict = {"n_generated": n, "n_reference": n, "interval_reps": reps}
    for name in ("fid", "kid_full", "kid", "cmmd"):
        metric = registry.REGISTRY.get(name)
        if metric is None:
            continue
        out[f"{name}_point_s"], out[f"{name}_point_cpu_s"], _ = _timed_cpu(lambda: metric.call("point", x))
        t, cpu, ci = _timed_cpu(lambda: metric.call("interval", x, 0.95))
        out[f"{name}_interval_s"], out[f"{name}_interval_cpu_s"], out[f"{name}_ci_method"] = t, cpu, ci.get("ci_method")
        print(name, t, cpu, Path("/proc/loadavg").read_text().split()[:3], flush=True)
    out["intervals_total_s"] = sum(v for k, v in out.items() if k.endswith("_interval_s"))
    out["intervals_total_cpu_s"] = sum(v for k, v in out.items() if k.endswith("_interval_cpu_s"))
    return out


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
    ap.add_argument("--n", default="32", help="comma-separated N (images per set), e.g. 16,500")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", default="benchmarks/results/score_throughput.json")
    ap.add_argument("--root", default=None)
    ap.add_argument("--child", type=int, default=None)
    ap.add_argument("--memory-only", action="store_true", help="only figure 3 (peak memory at N and 10 N)")
    ap.add_argument("--interval-n", type=int, default=0, help="figure 5 at this N (synthetic features)")
    ap.add_argument("--interval-only", action="store_true", help="only figure 5")
    ap.add_argument("--no-memory", action="store_true", help="skip figure 3")
    args = ap.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    if args.child is not None:
        peak_rss_child(args.child, int(args.n), args.root, args.batch_size)
        return 0
    load = {"loadavg_start": Path("/proc/loadavg").read_text().split()[:3]}
    result: dict = {"device": "cpu", "threads": torch.get_num_threads(), "batch_size": args.batch_size, "runs": []}
    if args.interval_n:
        result["intervals"] = interval_times(args.interval_n)
        print(json.dumps(result["intervals"], indent=2), flush=True)
    for n in ([] if args.interval_only else [int(v) for v in args.n.split(",")]):
        result["runs"].append(one_n(n, args))
        print(json.dumps(result["runs"][-1], indent=2), flush=True)
    result.update(load, loadavg_end=Path("/proc/loadavg").read_text().split()[:3])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def one_n(n: int, args) -> dict:
    """Figures 1-4 (and 3 unless --no-memory) at N images per set, on fresh seeded images."""
    root = Path(args.root or tempfile.mkdtemp(prefix="score-bench-")) / f"n{n}"
    w = _weights(root)
    gen, ref = make_images(root / "gen", n, 1), make_images(root / "ref", n, 2)
    if args.memory_only:
        return {"n_per_set": n, "peak_memory": peak_memory(root, n, args.batch_size)}
    bare_forward_s(gen[:4], w, args.batch_size)  # warm-up: load both networks, first-call allocations
    bare = bare_forward_s(gen + ref, w, args.batch_size)
    harness = harness_s(gen, ref, w, args.batch_size)
    ours_t, ours_fid = ours_fid_kid_s(gen, ref, w, args.batch_size)
    tf_t, tf_fid = torch_fidelity_s(gen, ref, w, args.batch_size)
    tm_t, tm_fid = torchmetrics_fid_s(gen, ref, w, args.batch_size)
    inception_bare = _timed(lambda: inception_features_cached(gen + ref, weights_path=w["inception"],
                                                              batch_size=args.batch_size, cache=FeatureCache()))
    row = {
        "n_per_set": n, "images": 2 * n, "bare_forward_s": bare, "harness_s": harness,
        "harness_overhead": harness / bare - 1, "harness_images_per_s": 2 * n / harness,
        "ours_fid_kid_s": ours_t, "torch_fidelity_fid_kid_s": tf_t, "speed_ratio_vs_torch_fidelity": tf_t / ours_t,
        "torchmetrics_fid_s": tm_t, "speed_ratio_vs_torchmetrics": tm_t / ours_t,
        "ours_inception_features_s": inception_bare[0],
        "torch_fidelity_eigvals_2048_s": eigvals_s(inception_bare[1]) if 2 * n > 4 else None,
        "fid_ours": ours_fid, "fid_torch_fidelity": tf_fid, "fid_torchmetrics": tm_fid,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    if not args.no_memory:
        row["peak_memory"] = peak_memory(root, n, args.batch_size)
    return row


if __name__ == "__main__":
    raise SystemExit(main())
